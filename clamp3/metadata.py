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

# ABC header fields kept as metadata, by their letter, under the names the demo library uses.
ABC_FIELDS = {"T": "title", "C": "composer", "O": "origin", "R": "tune_type", "M": "metre", "K": "key", "N": "notes"}
# One vocabulary of field names: other spellings (a sidecar's, an older library's) -> the library's.
FIELD_ALIASES = {"meter": "metre", "rhythm": "tune_type"}
# Fields kept in a library for the pipeline (the held-out split, the work that joins a score to
# its audio) and never shown: not in listings, search results, filters or map colours.
HIDDEN_FIELDS = frozenset({"split", "work"})
# Tune types an ABC title may end with (``T: THE DUBLIN BOY'S -- JIG``).
TUNE_TYPES = frozenset({"reel", "jig", "double jig", "single jig", "slip jig", "hornpipe", "strathspey", "air",
                        "polka", "slide", "march", "waltz", "mazurka", "barndance", "set dance", "fling", "highland"})

# Mojibake: UTF-8 read as Latin-1/cp1252 (``DÃ¡``, ``â€™``) and C1 control characters, which no
# text holds on purpose (a byte of an 8-bit code page carried over as Latin-1: ``MÂ\x94rder``).
_MOJIBAKE = re.compile("[ÂÃ][\x80-\xbf]|â€")
_C1 = re.compile("[\x80-\x9f]")
# The DOS code page (cp437) as the Essen collection was typed (on an Atari ST, which has ß at 0x9e,
# where cp437 has the peseta sign): its umlauts are the C1 characters left in those files.
_DOS = {i: bytes([i]).decode("cp437") for i in range(0x80, 0xA0)} | {0x9E: "ß"}
# Values that stand for nothing: missing-value markers and placeholders of dots or dashes.
_JUNK = re.compile(r"(?i)(nan|none|null|n/a|\?+|[\s.\-_*]*)")
# Titles that name only a part or a voice of a work, not the work (``First Section``, ``coda``,
# ``movement3``, ``CANTO``): replaced by the file's tidied name.
_MEANINGLESS = re.compile(
    r"(?i)((first|second|third|fourth|fifth|last)\s+section|section\s*\w?|coda|movement\s*\d*|mvt\.?\s*\d*|"
    r"part\s*\d*|canto|cantus|alto|altus|tenor|tenore|bass|basso|bassus|soprano|quinto|sesto|untitled|title|"
    r"track\s*\d*|sequence\s*\d*|[\d\s.]*)"
)


@functools.lru_cache(maxsize=4)
def _abc_tunes(path: str, mtime_ns: int, size: int) -> tuple[str, dict[str, str]]:
    """A book's text and its tunes by X: number, split once for all its items (the file's
    modification time and size are in the key, so a changed book is read again)."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # an older tune book in an 8-bit code page
        text = raw.decode("cp1252", errors="replace")
    return text, dict(split_tunes(text))


def _suspicion(text: str) -> int:
    return len(_MOJIBAKE.findall(text)) + len(_C1.findall(text))


def _misplaced(text: str) -> int:
    """Characters that a wrong code page makes: a symbol inside a word (``M”rder``), or C1 left."""
    inside = re.findall(r"(?<=[^\W\d_])([^\w\s'’])(?=[^\W\d_])", text)
    return len(inside) + len(_C1.findall(text))


def _decode_c1(text: str) -> str:
    """C1 control characters read as the bytes of cp1252 or of the DOS code page, whichever puts
    fewer symbols inside words (``Boy\x92s`` -> ``Boy’s``, ``M\x94rder`` -> ``Mörder``)."""
    if not _C1.search(text):
        return text

    def cp1252(match: re.Match) -> str:
        try:
            return bytes([ord(match.group())]).decode("cp1252")
        except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d: not characters of cp1252
            return match.group()

    windows, dos = _C1.sub(cp1252, text), from_dos(text)
    return windows if _misplaced(windows) <= _misplaced(dos) else dos


def from_dos(text: str) -> str:
    """Text of a file typed in the DOS code page and carried over as Latin-1 (the Essen books):
    its C1 characters read as that code page, whatever :func:`repair_text` would guess for one alone."""
    return _C1.sub(lambda match: _DOS[ord(match.group())], text)


def repair_text(text: str) -> str:
    """Text decoded with the wrong character set, decoded right: a text that reads as UTF-8 once
    encoded back to Latin-1 or cp1252 and then holds fewer mojibake sequences is taken (twice at
    most, for text garbled twice), and C1 control characters left are read as a code page's
    letters. Text without mojibake is returned as it is."""
    for _ in range(2):
        if not _suspicion(text):
            break
        candidates = []
        for codec in ("latin-1", "cp1252"):
            try:
                candidates.append(text.encode(codec).decode("utf-8"))
            except UnicodeError:
                pass
        better = min(candidates, key=_suspicion, default=text)
        if _suspicion(better) >= _suspicion(text):
            break
        text = better
    return _decode_c1(text)


def title_case(text: str) -> str:
    """``THE DUBLIN BOY'S`` -> ``The Dublin Boy's``: each word capitalised, but not after an
    apostrophe that ends a word (``'s``, ``'t``, ``'ll``: ``O'Neill`` keeps its capital); Roman
    numerals stay capitals."""
    def word(match: re.Match) -> str:
        w = match.group()
        return w if re.fullmatch(r"[IVX]+", w) else w[:1].upper() + w[1:].lower()

    text = re.sub(r"[^\W\d_]+", word, text)
    return re.sub(r"(?<=\w)(['’])([^\W\d_]{1,2})\b", lambda m: m.group(1) + m.group(2).lower(), text)


def tidy_name(name: str) -> str:
    """A file or work name as a title: ``haydn_opus1no1_movement3_mxl`` -> ``Haydn Op. 1 No. 1 movement 3``."""
    name = re.sub(r"[._](mxl|xml|musicxml|krn|abc|mid|midi|mtf|wav|mp3|flac|npy)$", "", name, flags=re.I)
    name = re.sub(r"(?i)opus\s*(\d+)\s*no\.?\s*(\d+)", r" Op. \1 No. \2 ", name)
    name = re.sub(r"(?i)movement\s*(\d+)", r" movement \1 ", name)
    name = " ".join(name.replace("_", " ").split())
    return name[:1].upper() + name[1:]


def clean_title(title: str | None, name: str) -> tuple[str, str | None]:
    """(title, tune type) of a raw title: mojibake repaired; an all-capitals title title-cased (a
    word's ``'S`` lowered in any title); a `` -- JIG`` suffix that names a tune type split off as
    the tune type; a title that names only a part or a voice (or none) replaced by ``name`` tidied."""
    title = " ".join(repair_text(title or "").split())
    tune_type = None
    head, sep, tail = title.rpartition(" -- ")
    if sep and tail.strip(" .").lower() in TUNE_TYPES:
        title, tune_type = head.strip(), tail.strip(" .").lower()
    letters = [c for c in title if c.isalpha()]
    if letters and not any(c.islower() for c in letters) and len(re.findall(r"[^\W\d_]{3,}", title)) >= 2:
        title = title_case(title)
    title = re.sub(r"(?<=[^\W\d_])(['’])S\b", r"\1s", title)
    if _MEANINGLESS.fullmatch(title):
        title = tidy_name(name)
    return title, tune_type


def clean_value(key: str, value: object) -> str | None:
    """A metadata value as shown: repaired, whitespace collapsed; None for a value that stands for
    nothing (``nan``, ``None``, ``........``, empty). ``M:none`` of ABC is a free metre."""
    if value is None:
        return None
    text = " ".join(repair_text(str(value)).split())
    if key == "metre" and text.lower() == "none":
        return "free"
    if _JUNK.fullmatch(text):
        return None
    return text.lower() if key == "tune_type" else text


def clean_metadata(fields: dict[str, object], name: str) -> dict[str, str]:
    """Metadata as a library keeps it: field names of one vocabulary (``FIELD_ALIASES``), values
    cleaned (:func:`clean_value`), the title cleaned (:func:`clean_title`, ``name`` is the item's
    name for a title that says nothing). A field under its own name wins over an alias of it;
    the fields keep their order."""
    out: dict[str, str] = {}
    for key, value in fields.items():
        name_of_key = FIELD_ALIASES.get(key, key)
        if key == "title" or (name_of_key != key and name_of_key in fields):
            continue
        value = clean_value(name_of_key, value)
        if value is not None:
            out[name_of_key] = value
    title, tune_type = clean_title(str(fields["title"]) if fields.get("title") is not None else None, name)
    if tune_type and "tune_type" not in out:
        out["tune_type"] = tune_type
    return {"title": title, **out}


def shown_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """The fields of an item that are shown (``HIDDEN_FIELDS`` left out)."""
    return {k: v for k, v in metadata.items() if k not in HIDDEN_FIELDS}


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
    """Metadata of one item, cleaned (:func:`clean_metadata`), ``title`` always set (the item's
    name when the file has none)."""
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
    return clean_metadata(fields, item.name)


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
