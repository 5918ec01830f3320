"""Pieces the tabs share: errors shown in the page, previews, escaped tables."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from clamp3.errors import Clamp3Error
from clamp3.memory import release_memory
from clamp3.preview import SCORE_EXTENSIONS, preview_source
from explorers.context import upload_message

logger = logging.getLogger(__name__)

# Gradio recognises a progress tracker by a parameter default of this type; tqdm bars inside a
# handler (library.add, training) then show in the page.
TRACK_TQDM = gr.Progress(track_tqdm=True)
# After a request, what it freed goes back to the system, at most this often: a trim takes up to some
# 200 ms after a heavy request and about 15 ms after others, in the thread of the request that ends.
RELEASE_MEMORY_SECONDS = 5.0


def session_of(request: gr.Request | None) -> str:
    """The visitor's session: gradio's hash of the page (one per open tab), else ``anonymous``."""
    return getattr(request, "session_hash", None) or "anonymous"


def file_input(**kwargs) -> gr.File:
    """``gr.File(type="filepath")`` that leaves nothing behind per request: gradio 6's own makes an
    empty temporary file in its cache for every file it hands over and never removes it (found by
    the soak run: one per upload, for as long as the app runs). The fix is on the instance: a
    subclass would make gradio write a ``.pyi`` beside this module at import."""
    component = gr.File(type="filepath", **kwargs)
    own = component._process_single_file

    def hand_over(f):
        if component.file_types:  # gradio's own checks the type first
            return own(f)
        from gradio.utils import NamedString

        return NamedString(f.path)

    component._process_single_file = hand_over
    return component


def shown_errors(handler: Callable) -> Callable:
    """Project errors become a message in the page (gr.Error), never a traceback; others are logged.
    Whatever the end, the memory the request freed is handed back (see RELEASE_MEMORY_SECONDS)."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except Clamp3Error as exc:
            raise gr.Error(upload_message(exc), print_exception=False) from exc
        except (ValueError, OSError) as exc:
            logger.exception("handler %s failed", handler.__name__)
            raise gr.Error(f"{type(exc).__name__}: {exc}", print_exception=False) from exc
        finally:
            release_memory(at_most_every=RELEASE_MEMORY_SECONDS)

    return wrapper


def preview(path: str | Path, name: str = "", bars: tuple[int, int] | None = None,
            unit: str = "bars") -> tuple[tuple[int, object] | None, str]:
    """(sample rate, waveform) for gr.Audio and the engraved first page as HTML; a score that
    cannot be engraved or played gets a one-line note instead, naming the file, not its server
    folder. ``name`` is the item's name: for ``book#X``, tune X of an ABC book; ``bars``: only those
    bars (first, last; a passage search's window), engraved and played from its start; with
    ``unit`` "seconds", a window of MIDI or audio (start, end in seconds), played from its start."""
    if bars is not None and unit == "seconds":
        return _time_preview(Path(path), bars)
    if bars is not None:
        return _passage_preview(Path(path), name, bars)
    from clamp3.assets import is_demo_library, library_dir
    from clamp3.formats.abc import tune_of
    from clamp3.preview import audio_preview, score_preview

    path = Path(path)
    if not path.exists() and any(is_demo_library(folder) for folder in path.parents):
        library_dir(unpack=True)  # the demo music is still being unpacked (at the app's start): wait for it
    source = preview_source(path)
    audio, svg, note = None, "", ""
    try:
        if source.suffix.lower() in SCORE_EXTENSIONS:
            svg, audio = score_preview(source, tune=tune_of(source, name))
        else:
            audio = audio_preview(source)
    except Clamp3Error as exc:
        note = f"<p class='clamp3-note'>{html.escape(upload_message(exc))}</p>"
    return audio, f"<div class='clamp3-score'>{svg}</div>{note}"


def table_html(headers: list[str], rows: list[list[object]], css: str = "clamp3-table") -> str:
    """An HTML table, in a box that scrolls sideways on a narrow screen; every cell escaped. Headers
    that are all empty make no header row."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    head_row = f"<tr>{head}</tr>" if any(str(h) for h in headers) else ""
    return f"<div class='clamp3-scroll'><table class='{css}'>{head_row}{body}</table></div>"


def _time_preview(path: Path, seconds: tuple[int, int]) -> tuple[tuple[int, object] | None, str]:
    """:func:`preview` of seconds ``start``-``end`` of MIDI or audio (of audio features: the work's
    score or MIDI beside them, whose rendering their rows follow), played from ``start``."""
    from clamp3.library.rows import passage_label
    from clamp3.preview import audio_preview

    start, end = seconds
    label = f"<p class='clamp3-note'>{html.escape(passage_label(seconds, 'seconds'))}</p>"
    try:
        rate, wave = audio_preview(preview_source(path), max_seconds=max(1, end))
    except Clamp3Error as exc:
        return None, label + f"<p class='clamp3-note'>{html.escape(upload_message(exc))}</p>"
    if start * rate >= len(wave):
        return None, label + f"<p class='clamp3-note'>{html.escape(path.name)}: plays for less than {start} s</p>"
    return (rate, wave[start * rate : end * rate]), label


def _passage_preview(path: Path, name: str, bars: tuple[int, int]) -> tuple[tuple[int, object] | None, str]:
    """:func:`preview` of bars ``first``-``last`` of a score item: the window written as an ABC file
    of its own in a temporary folder, engraved and played."""
    import tempfile

    from clamp3.formats import read_items
    from clamp3.passages import passage

    try:
        items = {item.name: item for item in read_items(preview_source(path))}
        if name not in items:
            raise Clamp3Error(f"{path.name}: no item '{name}' to show bars of")
        window = passage(items[name], *bars)
    except (Clamp3Error, ValueError) as exc:
        return None, f"<p class='clamp3-note'>{html.escape(upload_message(exc) if isinstance(exc, Clamp3Error) else str(exc))}</p>"
    with tempfile.TemporaryDirectory(prefix="clamp3-passage-") as folder:
        written = Path(folder) / f"{path.stem}.abc"
        written.write_text(window.item.data, encoding="utf-8")
        sound, shown = preview(written)
    return sound, f"<p class='clamp3-note'>{html.escape(window.label)}</p>" + shown
