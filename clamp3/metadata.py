"""Titles and other metadata read from the files themselves, and sidecar tables joined by path."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from pathlib import Path
from xml.etree import ElementTree

from clamp3.errors import InputError
from clamp3.formats import Item
from clamp3.formats.abc import split_tunes, tune_of
from clamp3.formats.base import decode_utf8, read_bytes
from clamp3.formats.midi import MIDI_EXTENSIONS, max_midi_bytes, parse_midi
from clamp3.formats.musicxml import MUSICXML_EXTENSIONS, unpacked_musicxml

# A table of a million files' metadata is some hundred MB; past this it is surely not one.
MAX_SIDECAR_BYTES = 512 * 2**20

# ABC header fields kept as metadata, by their letter.
ABC_FIELDS = {"T": "title", "C": "composer", "O": "origin", "R": "rhythm", "M": "meter", "K": "key", "N": "notes"}


@functools.lru_cache(maxsize=4)
def _abc_tunes(path: str, mtime_ns: int, size: int) -> tuple[str, dict[str, str]]:
    """A book's text and its tunes by X: number, split once for all its items (the file's
    modification time and size are in the key, so a changed book is read again)."""
    text = Path(path).read_bytes().decode("utf-8", errors="replace")
    return text, dict(split_tunes(text))


def _abc_metadata(path: Path, name: str) -> dict[str, str]:
    stat = path.stat()
    text, tunes = _abc_tunes(str(path), stat.st_mtime_ns, stat.st_size)
    number = tune_of(path, name)
    tune = tunes.get(number, text) if number is not None else text
    fields: dict[str, str] = {}
    for line in tune.split("\n"):
        match = re.match(r"^([A-Za-z]):\s*(.*)$", line)
        if match and match.group(1) in ABC_FIELDS:
            key = ABC_FIELDS[match.group(1)]
            fields.setdefault(key, match.group(2).strip())  # the first of repeated fields
    return fields


def _musicxml_metadata(path: Path) -> dict[str, str]:
    raw = unpacked_musicxml(read_bytes(path), path)
    fields = {}
    try:
        root = ElementTree.fromstring(raw)
    except (ElementTree.ParseError, LookupError, ValueError):  # LookupError, ValueError: the declared encoding
        return fields
    title = root.findtext("work/work-title") or root.findtext("movement-title")
    composer = root.find("identification/creator[@type='composer']")
    if title:
        fields["title"] = title.strip()
    if composer is not None and composer.text:
        fields["composer"] = composer.text.strip()
    return fields


def _midi_metadata(path: Path) -> dict[str, str]:
    try:
        tracks = parse_midi(read_bytes(path, max_midi_bytes()), path).tracks
        # the first track's name is the song's title; later tracks name their instruments
        for message in tracks[0] if tracks else []:
            if message.type == "track_name" and message.name.strip():
                return {"title": message.name.strip()}
    except Exception:  # metadata is best effort; the reader reports unreadable files
        pass
    return {}


def read_metadata(item: Item) -> dict[str, str]:
    """Metadata of one item, ``title`` always set (the item's name when the file has none)."""
    suffix = item.source.suffix.lower()
    fields: dict[str, str] = {}
    try:
        if suffix == ".abc":
            fields = _abc_metadata(item.source, item.name)
        elif suffix in MUSICXML_EXTENSIONS:
            fields = _musicxml_metadata(item.source)
        elif suffix in MIDI_EXTENSIONS:
            fields = _midi_metadata(item.source)
        elif item.kind == "text":
            fields = {"title": item.data.strip().split("\n")[0][:120]}
    except (OSError, ValueError, KeyError, InputError):
        fields = {}
    fields.setdefault("title", item.name)
    return fields


def read_sidecar(path: str | Path) -> dict[str, dict[str, str]]:
    """A CSV or JSONL table with a ``path`` column -> {path: {column: value}}."""
    path = Path(path)
    text = decode_utf8(path, read_bytes(path, MAX_SIDECAR_BYTES))
    if path.suffix.lower() == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                # ValueError also for an integer of over 4,300 digits, RecursionError for deep nesting
                except (ValueError, RecursionError) as exc:
                    raise InputError(path, f"line {number} is not JSON ({getattr(exc, 'msg', exc)})") from exc
                if not isinstance(row, dict):
                    raise InputError(path, f"line {number} is not a JSON object")
                rows.append(row)
    else:
        rows = _csv_rows(path, text)
    if rows and "path" not in rows[0]:
        raise InputError(path, f"the metadata table needs a 'path' column; it has {sorted(rows[0])}")
    table = {}
    for number, row in enumerate(rows, 1):
        if row.get("path") in (None, ""):
            raise InputError(path, f"row {number} has no path")
        table[str(row["path"])] = {k: str(v) for k, v in row.items() if k != "path" and v not in (None, "")}
    return table


def _csv_rows(path: Path, text: str) -> list[dict[str, str]]:
    """Rows of a CSV table as dicts by the header's names, blank lines skipped.

    Not ``csv.DictReader``: it gives a short row every column of the header, so that a header
    of 100,000 columns over 20,000 one-field rows (240 kB) took minutes.
    """
    try:
        header, *records = list(csv.reader(io.StringIO(text))) or [[]]
    except csv.Error as exc:
        raise InputError(path, f"not a readable CSV table ({exc})") from exc
    rows = []
    for number, record in enumerate(records, 1):
        if len(record) > len(header):
            raise InputError(path, f"row {number} has more fields than the header")
        if record:
            rows.append(dict(zip(header, record)))
    return rows
