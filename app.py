"""The clamp3 app: ``python app.py`` serves the embedded default model and demo library.

    python app.py [--weights default|saas|c2|DIR|FILE.pth] [--index DIR] [--roots DIR ...] [--home DIR]
                  [--max-upload-mb 50] [--read-only] [--shared-library-writable] [--allow-model-swap]
                  [--text-model DIR] [--mert DIR] [--host 127.0.0.1] [--port 7860]

``CLAMP3_WEIGHTS``, ``CLAMP3_INDEX``, ``CLAMP3_ROOTS``, ``CLAMP3_HOME``, ``CLAMP3_MAX_UPLOAD_MB``,
``CLAMP3_READ_ONLY``, ``CLAMP3_SHARED_WRITABLE``, ``CLAMP3_ALLOW_MODEL_SWAP``, ``CLAMP3_TEXT_MODEL`` and
``CLAMP3_MERT`` do the same as the options (for a Hugging Face Space). Weights whose vectors the library
does not hold (the demo library under ``--weights saas``) are served from their space in it, filled in the
background while the items embedded so far answer. A visitor's additions go into a library of the visitor's own session; the
shared library changes only with ``--shared-library-writable`` (and never the demo library in ``assets/``).
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import signal
import sys
import threading

import gradio as gr

from clamp3.errors import Clamp3Error, describe
from clamp3.formats import isolated
from clamp3.formats.audio import AUDIO_SECONDS_VARIABLE
from clamp3.formats.base import SCORE_BARS_VARIABLE
from clamp3.formats.midi import MIDI_BYTES_VARIABLE, MIDI_MESSAGES_VARIABLE
from explorers import classify, compare, library, maps, search, train
from explorers.common import file_input, session_of, shown_errors
from explorers.context import WORDS, Context, model_name

# A public app's budgets, stricter than the CLI's; each an environment variable that wins when set.
APP_BUDGETS = {
    SCORE_BARS_VARIABLE: 20_000,  # bars over all voices of a score: about 22 MB to patch
    MIDI_BYTES_VARIABLE: 512 * 2**10,  # mido reads some 45 KB a second
    MIDI_MESSAGES_VARIABLE: 20_000,  # each a patch, as a bar of a score
    AUDIO_SECONDS_VARIABLE: 600,  # 10 minutes: 58 MB of waveform at 24 kHz
    isolated.SECONDS_VARIABLE: 30,  # reading one file, in a child process of its own
    isolated.MEMORY_VARIABLE: 1024,  # MB that child may take; the children run one per core at most
}

# The settings a hint may name, as the options of this program (the page's words for the others).
OPTIONS = {**WORDS, "index": "--index DIR (or CLAMP3_INDEX)", "weights": "--weights (or CLAMP3_WEIGHTS)"}

CSS = """
.clamp3-results, .clamp3-table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
.clamp3-results td, .clamp3-results th, .clamp3-table td, .clamp3-table th { border-bottom: 1px solid #ddd; padding: 4px 6px; text-align: left; }
.clamp3-score svg { max-width: 100%; height: auto; background: white; }
.clamp3-note { color: #a33; }
.clamp3-scroll { max-width: 100%; overflow-x: auto; }
.clamp3-results td { overflow-wrap: anywhere; }
.clamp3-play { cursor: pointer; border: 1px solid #bbb; border-radius: 4px; padding: 0 6px; }
"""


def embed(context: Context, text: str, file: str | None) -> dict:
    """The ``/embed`` endpoint: the unit vector of a text or a file."""
    vector = context.encode_file(file) if file else context.encode_text(text.strip()) if text and text.strip() else None
    if vector is None:
        raise Clamp3Error("give a text or a file to embed")
    return {"model": context.weights, "dim": int(vector.shape[1]), "vector": [round(float(v), 7) for v in vector[0]]}


def build_app(context: Context) -> gr.Blocks:
    # Files gradio received or served (uploads, played audio) are removed an hour after, every ten
    # minutes: what a stream of uploads can pile up is an hour's worth, not a day's.
    with gr.Blocks(title="CLaMP 3 explorer", delete_cache=(600, 3600)) as app:
        header = gr.Markdown()
        with gr.Tab("Search"):
            search.build(context, app)
        with gr.Tab("Classify"):
            classify.build(context)
        with gr.Tab("Map"):
            maps.build(context)
        with gr.Tab("Library"):
            stats = library.build(context, app)
        with gr.Tab("Train"):
            train.build(context, app)
        with gr.Tab("Compare"):
            compare.build(context)
        with gr.Row(visible=False):
            text, file, vector = gr.Textbox(), file_input(), gr.JSON()
        gr.Button(visible=False).click(shown_errors(lambda t, f: embed(context, t, f)), [text, file], vector, api_name="embed")

        def describe(request: gr.Request):
            with context.lock:  # the visitor's own items count too, and change with the Library tab
                own = context.session_library(session_of(request))
                yours = f" and {len(own)} of yours" if own is not None and len(own) else ""
            held = context.coverage()
            count = f"{len(context.library):,}" if held is None or held.items == held.total else f"{held.items:,} of {held.total:,}"
            filling = " (the rest are being embedded by this model)" if held is not None and not held.complete else ""
            return (f"# CLaMP 3 explorer\n{count} items in `{html.escape(context.index.name)}`{yours}, "
                    f"model `{html.escape(model_name(context.weights))}`{filling}")

        def statistics(request: gr.Request):
            return library.statistics(context, session_of(request))

        app.load(describe, None, header, api_name=False)
        app.load(statistics, None, stats, api_name=False)
        stats.change(describe, None, header, api_name=False)  # after an add or a removal, the header's count too
    return app


def limit_malloc_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas (as ``MALLOC_ARENA_MAX`` would) before the server's threads start.

    glibc gives threads that allocate at once arenas of their own, up to 8 per core, and each
    keeps the memory its thread freed: the soak run's server grew from 1,466 to about 2,000 MiB
    in its first 1,000 requests and stayed there; with 2 arenas it stayed near 1,730 MiB, no
    slower. A ``MALLOC_ARENA_MAX`` in the environment wins; elsewhere than glibc nothing is done.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").mallopt(-8, count) == 1  # -8: M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc (musl has no mallopt arenas)
        return False


def interrupted(signum, frame) -> None:
    """A SIGTERM (how a Space, docker or systemd stops the app) taken as a Ctrl-C: gradio closes its
    server and the exit hooks run (the Train tab's runs stop, with a checkpoint); Python's default
    SIGTERM ends the process with no hook run."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=None, help="default: $CLAMP3_WEIGHTS or the embedded model")
    parser.add_argument("--index", default=None, help="library: a folder, milvus://HOST:PORT/COLLECTION or a milvus-lite FILE.db "
                        "(default: $CLAMP3_INDEX or the demo library)")
    parser.add_argument("--roots", nargs="*", default=None, help="server folders the app may read (default: $CLAMP3_ROOTS, none)")
    parser.add_argument("--home", default=None, help="uploads, runs, exports (default: $CLAMP3_HOME or ~/.cache/clamp3/app)")
    parser.add_argument("--max-upload-mb", type=float, default=None, help="default: $CLAMP3_MAX_UPLOAD_MB or 50")
    parser.add_argument("--read-only", action="store_true", default=None,
                        help="the Library and Train tabs change nothing, not even a visitor's own library")
    parser.add_argument("--shared-library-writable", action="store_true", default=None,
                        help="the Library tab adds to and removes from the shared library, not only each visitor's own "
                             "(one user on a library of their own; never the demo library) (default: $CLAMP3_SHARED_WRITABLE, off)")
    parser.add_argument("--allow-model-swap", action="store_true", default=None,
                        help="the Train tab may serve a finished run's model to every visitor (default: $CLAMP3_ALLOW_MODEL_SWAP, off)")
    parser.add_argument("--text-model", default=None,
                        help="the tokenizer and text config of an official .pth (default: $CLAMP3_TEXT_MODEL or the hub's XLM-R)")
    parser.add_argument("--mert", default=None, help="a local copy of the MERT model the weights name (default: $CLAMP3_MERT)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args(argv)
    limit_malloc_arenas()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.max_upload_mb is not None:
        os.environ["CLAMP3_MAX_UPLOAD_MB"] = str(args.max_upload_mb)
    try:
        context = Context.load(args.weights, args.index, args.roots, args.home, args.read_only, args.allow_model_swap,
                               args.shared_library_writable, args.text_model, args.mert)
    except Clamp3Error as exc:  # a hint about the weights or the library is worded as this program's options
        raise SystemExit(f"error: {describe(exc, OPTIONS)}") from exc
    # Only once the app is about to serve (a main() that fails to start changes nothing in its process).
    for variable, value in APP_BUDGETS.items():
        os.environ.setdefault(variable, str(value))
    isolated.start()  # the readers' process server, started now rather than at the first upload
    # The maps missing from the cache, computed in the background at low priority, once the first visitors have
    # been answered: the demo's uncentred map (13 s of CPU) computed at start took a core from the first search.
    # A draw before then asks for its map itself.
    warm_maps = threading.Timer(float(os.environ.get("CLAMP3_MAP_START_DELAY", "60")), context.refresh_maps)
    warm_maps.daemon = True
    warm_maps.start()
    exports = context.home / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, interrupted)
    app = build_app(context).queue(default_concurrency_limit=4)
    try:
        app.launch(
            server_name=args.host, server_port=args.port, css=CSS, allowed_paths=[str(exports)],
            max_file_size=f"{context.max_upload_mb:g}mb",
        )
    except KeyboardInterrupt:  # a Ctrl-C or SIGTERM while launch() still checks its own server (its wait loop takes later ones)
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
