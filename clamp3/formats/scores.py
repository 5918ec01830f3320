"""Score formats music21 reads (Humdrum, MEI, Capella, NoteWorthy) -> MusicXML -> standard ABC."""

from __future__ import annotations

from pathlib import Path

from clamp3.errors import InputError
from clamp3.formats.base import read_bytes
from clamp3.formats.musicxml import musicxml_to_abc

MUSIC21_EXTENSIONS = (".krn", ".mei", ".capx", ".nwctxt")


def music21_to_musicxml(path: Path) -> bytes:
    import music21

    read_bytes(path)  # empty and unreadable files get the common message
    try:
        return _export(music21.converter.parse(str(path), forceSource=True))
    except Exception as exc:  # music21 raises many unrelated types on bad input
        raise InputError(path, f"music21 cannot read it ({type(exc).__name__}: {exc})") from exc


def _export(obj) -> bytes:
    """MusicXML of a parsed file, as music21's ``GeneralObjectExporter`` writes it. A score (what
    the readers give) gets the exporter's own steps (rests filling its gaps, then ``makeNotation``)
    done in place: the exporter makes them on a deep copy, a fifth of the export's time, and the
    score is not used again. The bytes are the same (25 Humdrum files of music21's corpus)."""
    from music21 import stream
    from music21.musicxml.m21ToXml import GeneralObjectExporter, ScoreExporter

    if not isinstance(obj, stream.Score):
        return GeneralObjectExporter(obj).parse()
    obj.makeRests(refStreamOrTimeRange=[0.0, obj.highestTime], fillGaps=True, inPlace=True, hideRests=True,
                  timeRangeFromBarDuration=True)
    obj.makeNotation(inPlace=True)
    exporter = ScoreExporter(obj, makeNotation=True)
    exporter.parse()
    return exporter.asBytes()


def music21_to_abc(path: Path) -> str:
    return musicxml_to_abc(music21_to_musicxml(path), path.with_suffix(".musicxml"))
