"""Score formats music21 reads (Humdrum, MEI, Capella, NoteWorthy) -> MusicXML -> standard ABC."""

from __future__ import annotations

from pathlib import Path

from clamp3.errors import InputError
from clamp3.formats.base import read_bytes
from clamp3.formats.musicxml import musicxml_to_abc

MUSIC21_EXTENSIONS = (".krn", ".mei", ".capx", ".nwctxt")


def music21_to_musicxml(path: Path) -> bytes:
    import music21
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    read_bytes(path)  # empty and unreadable files get the common message
    try:
        score = music21.converter.parse(str(path), forceSource=True)
        return GeneralObjectExporter(score).parse()
    except Exception as exc:  # music21 raises many unrelated types on bad input
        raise InputError(path, f"music21 cannot read it ({type(exc).__name__}: {exc})") from exc


def music21_to_abc(path: Path) -> str:
    return musicxml_to_abc(music21_to_musicxml(path), path.with_suffix(".musicxml"))
