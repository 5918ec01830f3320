"""A library item -> what the web app shows and plays: an engraved score and a short waveform.

Every score format becomes MusicXML first and verovio engraves that: ABC through abc2xml
(verovio's own ABC importer kills the process with a segmentation fault on interleaved ABC),
MIDI and the formats music21 reads through music21. The audio of a score is verovio's MIDI
export rendered with the General MIDI SoundFont; audio files are decoded and cut.

Both functions refuse files over :data:`MAX_BYTES` and raise :class:`InputError` for anything
they cannot read, so the app can turn every failure into one message.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from clamp3.errors import Clamp3Error, InputError, UnsupportedFormatError
from clamp3.features.render import render_midi
from clamp3.formats.abc import abc_to_musicxml, book_tune
from clamp3.formats.audio import AUDIO_EXTENSIONS, SAMPLE_RATE, load_audio
from clamp3.formats.base import decode_utf8, read_bytes
from clamp3.formats.midi import MIDI_EXTENSIONS, max_midi_bytes, parse_midi
from clamp3.formats.musicxml import MUSICXML_EXTENSIONS, unpacked_musicxml
from clamp3.formats.scores import MUSIC21_EXTENSIONS, music21_to_musicxml

MAX_BYTES = 20 * 1024 * 1024
# music21's quantisation is the slow step for MIDI; a page holds far fewer than 256 quarters.
MIDI_ENGRAVED_QUARTERS = 256
# The same bound for ABC: lines of music converted (one bar of every voice per interleaved line).
PREVIEW_ABC_LINES = 32
# pageWidth x scale / 100 = 900 px; the viewBox lets the page shrink to a narrower column.
VEROVIO_OPTIONS = {
    "pageWidth": 2250,
    "scale": 40,
    "adjustPageHeight": True,
    "footer": "none",
    "svgViewBox": True,
    "svgRemoveXlink": True,
}


def _check_size(path: Path) -> None:
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if size > MAX_BYTES:
        raise InputError(path, f"file is {size / 2**20:.1f} MB; previews are made for files up to {MAX_BYTES // 2**20} MB")


def _abc_head(tune: str, lines: int = PREVIEW_ABC_LINES) -> str:
    """The header and the first ``lines`` lines of music of an ABC tune (an interleaved line is
    one bar of every voice): abc2xml's time grows with the whole tune, a preview needs its start."""
    kept, music = [], 0
    for line in tune.splitlines():
        field = len(line) > 1 and line[1] == ":" and line[0].isalpha()
        is_music = bool(line.strip()) and not field and not line.startswith("%")
        if is_music:
            music += 1
            if music > lines:
                break
        kept.append(line)
    return "\n".join(kept) + "\n"


def _abc_musicxml(path: Path, tune: str | None = None) -> bytes:
    """The start of tune ``tune`` of an ABC file (the first for None) as MusicXML."""
    try:
        text = book_tune(decode_utf8(path, read_bytes(path)), tune)
    except KeyError:
        raise InputError(path, f"the book has no tune X:{tune}") from None
    return abc_to_musicxml(_abc_head(text), path)


def _file_musicxml(path: Path) -> bytes:
    return unpacked_musicxml(read_bytes(path), path)


def _read_midi(path: Path):
    """(the file's bytes, the file as mido reads it), refused as the reader refuses a MIDI file
    (unreadable, or no channel messages); a score without notes is refused when engraved."""
    raw = read_bytes(path, max_midi_bytes())
    return raw, parse_midi(raw, path)


def _midi_musicxml(path: Path) -> bytes:
    """The first :data:`MIDI_ENGRAVED_QUARTERS` quarter notes of every track, through music21."""
    import mido
    from music21 import converter
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    _, midi = _read_midi(path)
    limit = MIDI_ENGRAVED_QUARTERS * midi.ticks_per_beat
    head = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    for track in midi.tracks:
        kept, tick = mido.MidiTrack(), 0
        for message in track:
            tick += message.time
            if tick > limit:
                break
            kept.append(message)
        head.tracks.append(kept)  # mido ends each track when saving
    buffer = io.BytesIO()
    head.save(file=buffer)
    try:
        score = converter.parseData(buffer.getvalue(), format="midi")
        return GeneralObjectExporter(score).parse()
    except Exception as exc:  # music21 raises many unrelated types on odd MIDI
        raise InputError(path, f"music21 cannot make a score of it ({type(exc).__name__}: {exc})") from exc


MUSICXML_SOURCES: dict[str, Callable[[Path], bytes]] = {
    ".abc": _abc_musicxml,
    **{ext: _file_musicxml for ext in MUSICXML_EXTENSIONS},
    **{ext: _midi_musicxml for ext in MIDI_EXTENSIONS},
    **{ext: music21_to_musicxml for ext in MUSIC21_EXTENSIONS},
}
SCORE_EXTENSIONS = tuple(MUSICXML_SOURCES)
AUDIO_PREVIEW_EXTENSIONS = SCORE_EXTENSIONS + AUDIO_EXTENSIONS
# The file of a work to show for its audio features, in order of preference: MIDI plays best, then
# the scores. Only what can be engraved: MTF (model input beside every MIDI or score of the demo
# library) cannot, and took the place of the work's ABC.
SOURCE_ORDER = (*MIDI_EXTENSIONS, ".abc", *MUSICXML_EXTENSIONS, *MUSIC21_EXTENSIONS)


def preview_source(path: str | Path) -> Path:
    """The file to play and engrave for a library item: itself, or for audio features (``.npy``)
    the score or MIDI of the same work beside them (first in :data:`SOURCE_ORDER`): of the same
    name, else of the name less its last dotted part (a rendering's features are named
    ``<work>.<how it was rendered>.npy``, as the demo library's ``x.flute-96-soft.npy`` of ``x.abc``;
    only that one part, so that ``Op. 27 No. 2.npy`` never plays an ``Op. 27 No.abc`` of another work)."""
    path = Path(path)
    if path.suffix.lower() != ".npy":
        return path
    for stem in dict.fromkeys([path.stem, path.stem.rpartition(".")[0]]):
        for suffix in SOURCE_ORDER:
            candidate = path.with_name(stem + suffix)
            if stem and candidate.is_file():
                return candidate
    raise Clamp3Error(f"{path.name}: audio features only; no score or MIDI of this work to play")


def _unsupported(path: Path, supported: tuple[str, ...]) -> UnsupportedFormatError:
    return UnsupportedFormatError(path, f"no preview for '{path.suffix}' files; expected one of {' '.join(supported)}")


def _toolkit(path: Path, tune: str | None = None):
    """``path`` (tune ``tune`` of an ABC book) converted to MusicXML and loaded into a fresh
    verovio toolkit (about 3 ms to make)."""
    import verovio

    suffix = path.suffix.lower()
    xml = _abc_musicxml(path, tune) if suffix == ".abc" else MUSICXML_SOURCES[suffix](path)
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise InputError(path, f"not well-formed XML ({exc})") from exc
    if root.tag not in ("score-partwise", "score-timewise"):
        raise InputError(path, f"not MusicXML: the root element is <{root.tag}>, expected <score-partwise>")
    if not any(element.tag in ("pitch", "unpitched") for element in root.iter()):
        raise InputError(path, "the score has no notes")
    verovio.enableLog(verovio.LOG_OFF)  # it writes every importer warning to stderr
    toolkit = verovio.toolkit()
    toolkit.setOptions(VEROVIO_OPTIONS)
    if not toolkit.loadData(ElementTree.tostring(root, encoding="unicode")):
        raise InputError(path, "verovio cannot read the MusicXML made from it")
    return toolkit


def score_svg(path: str | Path, max_pages: int = 1, tune: str | None = None) -> str:
    """The first ``max_pages`` pages of the file's score engraved as SVG, one ``<svg>`` per page.

    ABC tune books show tune X:``tune`` (default: their first); MIDI files their first 256 quarter notes.
    """
    if max_pages < 1:
        raise ValueError(f"max_pages must be at least 1, got {max_pages}")
    path = Path(path)
    if path.suffix.lower() not in MUSICXML_SOURCES:
        raise _unsupported(path, SCORE_EXTENSIONS)
    _check_size(path)
    toolkit = _toolkit(path, tune)
    pages = min(max_pages, toolkit.getPageCount())
    return "\n".join(toolkit.renderToSVG(page) for page in range(1, pages + 1))


def audio_preview(path: str | Path, max_seconds: float = 30.0, tune: str | None = None) -> tuple[int, np.ndarray]:
    """(sample rate, mono float32 waveform (samples,)) of the file's first ``max_seconds``.

    Audio files are decoded; MIDI is rendered with the General MIDI SoundFont; scores are
    rendered from verovio's MIDI export of their MusicXML (tune X:``tune`` of an ABC book,
    default the first).
    """
    if max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in AUDIO_PREVIEW_EXTENSIONS:
        raise _unsupported(path, AUDIO_PREVIEW_EXTENSIONS)
    _check_size(path)
    if suffix in AUDIO_EXTENSIONS:
        return SAMPLE_RATE, load_audio(path, SAMPLE_RATE, max_seconds=max_seconds)
    if suffix in MIDI_EXTENSIONS:
        midi, _ = _read_midi(path)
    else:
        midi = base64.b64decode(_toolkit(path, tune).renderToMIDI())
    return SAMPLE_RATE, render_midi(midi, path, SAMPLE_RATE, max_seconds=max_seconds)


def score_preview(
    path: str | Path, max_pages: int = 1, max_seconds: float = 30.0, tune: str | None = None
) -> tuple[str, tuple[int, np.ndarray]]:
    """:func:`score_svg` and :func:`audio_preview` of a score from one conversion (the slow step)."""
    path = Path(path)
    if path.suffix.lower() not in MUSICXML_SOURCES or path.suffix.lower() in MIDI_EXTENSIONS:
        return score_svg(path, max_pages, tune), audio_preview(path, max_seconds, tune)
    _check_size(path)
    toolkit = _toolkit(path, tune)
    svg = "\n".join(toolkit.renderToSVG(page) for page in range(1, min(max_pages, toolkit.getPageCount()) + 1))
    midi = base64.b64decode(toolkit.renderToMIDI())
    return svg, (SAMPLE_RATE, render_midi(midi, path, SAMPLE_RATE, max_seconds=max_seconds))
