"""Titles and other metadata read from the files themselves, and sidecar tables joined by path."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from clamp3.errors import InputError
from clamp3.formats import Item
from clamp3.formats.abc import split_tunes

# ABC header fields kept as metadata, by their letter.
ABC_FIELDS = {"T": "title", "C": "composer", "O": "origin", "R": "rhythm", "M": "meter", "K": "key", "N": "notes"}


def _abc_metadata(path: Path, name: str) -> dict[str, str]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    tunes = dict(split_tunes(text))
    tune = tunes.get(name.partition("#")[2], text) if "#" in name else text
    fields: dict[str, str] = {}
    for line in tune.split("\n"):
        match = re.match(r"^([A-Za-z]):\s*(.*)$", line)
        if match and match.group(1) in ABC_FIELDS:
            key = ABC_FIELDS[match.group(1)]
            fields.setdefault(key, match.group(2).strip())  # the first of repeated fields
    return fields


def _musicxml_metadata(path: Path) -> dict[str, str]:
    raw = path.read_bytes()
    if raw[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = [n for n in archive.namelist() if not n.startswith("META") and n.endswith((".xml", ".musicxml"))]
            raw = archive.read(names[0]) if names else b""
    fields = {}
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError:
        return fields
    title = root.findtext("work/work-title") or root.findtext("movement-title")
    composer = root.find("identification/creator[@type='composer']")
    if title:
        fields["title"] = title.strip()
    if composer is not None and composer.text:
        fields["composer"] = composer.text.strip()
    return fields


def _midi_metadata(path: Path) -> dict[str, str]:
    import mido

    try:
        tracks = mido.MidiFile(str(path)).tracks
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
        elif suffix in (".xml", ".musicxml", ".mxl"):
            fields = _musicxml_metadata(item.source)
        elif suffix in (".mid", ".midi"):
            fields = _midi_metadata(item.source)
        elif item.kind == "text":
            fields = {"title": item.data.strip().split("\n")[0][:120]}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        fields = {}
    fields.setdefault("title", item.name)
    return fields


def read_sidecar(path: str | Path) -> dict[str, dict[str, str]]:
    """A CSV or JSONL table with a ``path`` column -> {path: {column: value}}."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the metadata table ({exc})") from exc
    if path.suffix.lower() == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(path, f"line {number} is not JSON ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise InputError(path, f"line {number} is not a JSON object")
                rows.append(row)
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    if rows and "path" not in rows[0]:
        raise InputError(path, f"the metadata table needs a 'path' column; it has {sorted(rows[0])}")
    return {str(row["path"]): {k: str(v) for k, v in row.items() if k != "path" and v not in (None, "")} for row in rows}
