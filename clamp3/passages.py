"""Passages: windows of an item embedded on their own, so that a search finds *where* in a piece a
query matches ("bars 17-24"), not only which piece.

A score (interleaved ABC: a header, then one line per bar with every voice) is cut into windows of
``bars`` bars every ``hop`` bars (the last window ends with the piece; a piece no longer than a
window is one window). Each window is a score of its own: the header, with the key, metre and unit
length that inline fields changed before the window written into it, and its bars. Bars are
numbered from 1 as the lines of the score (a pickup bar counts as bar 1).

Defaults (8 bars, every 4): a window a phrase or two of most tunes and chorales (the demo's
interleaved scores have 16-40 bars), so a passage of 4-16 bars planted anywhere lies wholly in some
window; half-overlapping windows cost two vectors per 8 bars. With them the demo's 11,141 scores
have 41,260 windows: 3.7 an item on average, 3 at the median, 22 at the 99th percentile.

MIDI (MTF) and audio items are cut by time: windows of ``seconds`` every ``every`` seconds, from 0
(the last window ends with the piece; a piece no longer than a window is one window). Audio is cut
into its feature rows, one a 5-second window of the recording (``clamp3.features``): a window is
``seconds / 5`` rows. MIDI is cut into its messages by their time in seconds (its tempo changes
followed); a window is the ``ticks_per_beat`` line, the tempo, metre, key and each channel's program
in force at its start (at time 0), and the messages within it, the first at time 0, but the ends of
notes that began before it (notes sounding across its end are cut off there). A window without a
note is left out. Defaults (20 s, every 5), measured on a planted test (``benchmarks/passages.py``:
a whole demo recording of 10-20 s planted in 1.6 minutes of others, found by a query for it): of
windows of 5, 10, 15, 20 and 30 s, 20 s put the planted recording's best window on the plant best,
for a query by the recording itself (intersection over union 0.81, against 0.57 at 15 s and 0.48 at
30 s) and by the score of its work (0.52, against 0.43 and 0.39), at 10.2 windows a minute of audio.
MIDI has the same default (no MIDI in the demo to measure): 20 s is 10 bars of 4/4 at 120 beats a
minute, MIDI's default tempo.

An item of one window is searched by its own vector: its row holds where the window lies and no
vector (a quarter of the demo's items: its recordings, all of 10-20 s, and its scores of 8 bars or
fewer). Other windows' vectors are stored as 8-bit codes with a scale (``D + 4`` bytes a window
instead of ``4 D``; the cosines they give differ from float32's by about 0.001); windows stored as
float32 by an earlier release are read as they are. More windows than the library's ANN threshold are searched through an
inverted file (``retrieval.build_ivf``) kept beside the library in ``passages.faiss``, whose
candidates are re-ranked by the vectors its codes give back (so that a search reads only where the
windows lie from SQLite, not their vectors).
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import logging
import math
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clamp3.errors import INPUT_ERRORS, Hint, InputError
from clamp3.formats.base import Item
from clamp3.library.rows import Hit, passage_label
from clamp3.library.store import ANN_KIND, LibraryError
from clamp3.retrieval import build_ivf, exact_top_k, ivf_search, normalize

logger = logging.getLogger(__name__)

DEFAULT_BARS, DEFAULT_HOP = 8, 4
DEFAULT_SECONDS, DEFAULT_EVERY = 20, 5
DEFAULT_SETTINGS = {"bars": DEFAULT_BARS, "hop": DEFAULT_HOP, "seconds": DEFAULT_SECONDS, "every": DEFAULT_EVERY}
FEATURE_SECONDS = 5  # one audio feature row: clamp3.features.extractors.WINDOW_SECONDS
TIME_SUFFIXES = (".mid", ".midi", ".mtf")  # symbolic items whose passages are times, not bars
# Inline fields whose value holds from where they stand on: carried into a window's header.
_INLINE = re.compile(r"\[([KML]):([^\]]*)\]")


@dataclass(frozen=True)
class Window:
    """One passage of an item: its first and last bar (from 1) and the score of those bars, or
    (``unit`` "seconds") its start and end second and the MIDI or audio features of that time."""

    first: int
    last: int
    item: Item
    unit: str = "bars"

    @property
    def label(self) -> str:
        return passage_label((self.first, self.last), self.unit)


def split_score(text: str) -> tuple[list[str], list[str]]:
    """Interleaved ABC -> (header lines, bar lines): the bars are the lines that start with a voice
    (``[V:``), the header everything before the first of them (comments and blank lines dropped)."""
    header: list[str] = []
    bars: list[str] = []
    for line in text.splitlines():
        if line.startswith("[V:"):
            bars.append(line)
        elif not bars and line.strip() and not line.startswith("%%%"):
            header.append(line)
    return header, bars


def _header_with(header: list[str], changed: dict[str, str]) -> list[str]:
    """``header`` with the K:, M: and L: values that inline fields changed before a window."""
    out = []
    for line in header:
        if len(line) > 1 and line[1] == ":" and line[0] in changed:
            out.append(f"{line[0]}:{changed[line[0]]}")
            continue
        out.append(line)
    # K: must stay the last field of an ABC header; a field the header lacked goes before it
    missing = [f"{key}:{value}" for key, value in changed.items() if not any(line.startswith(f"{key}:") for line in header)]
    keys = [i for i, line in enumerate(out) if line.startswith("K:")]
    at = keys[-1] if keys else len(out)
    return out[:at] + [m for m in missing if not m.startswith("K:")] + out[at:] + [m for m in missing if m.startswith("K:")]


def passage(item: Item, first: int, last: int) -> Window:
    """Bars ``first`` to ``last`` (from 1) of an interleaved ABC item as a score of their own."""
    if item.kind != "abc" or not isinstance(item.data, str):
        raise ValueError(f"{item.name}: only scores have passages")
    header, lines = split_score(item.data)
    first, last = max(1, int(first)), min(len(lines), int(last))
    if first > last:
        raise ValueError(f"{item.name}: no bars {first}-{last} (it has {len(lines)})")
    changed: dict[str, str] = {}
    for line in lines[: first - 1]:
        for key, value in _INLINE.findall(line):
            changed[key] = value.strip()
    text = "\n".join(_header_with(header, changed) + lines[first - 1 : last]) + "\n"
    return Window(first, last, Item(item.source, f"{item.name}@{first}-{last}", "abc", text))


def _starts(length: float, size: int, step: int) -> list[int]:
    """Window starts over ``length`` units: every ``step`` from 0, the last window ending with it."""
    starts = list(range(0, max(0, math.ceil(length) - size) + 1, step))
    if starts[-1] + size < length:
        starts.append(math.ceil(length) - size)
    return starts


def score_windows(item: Item, bars: int = DEFAULT_BARS, hop: int = DEFAULT_HOP) -> list[Window]:
    """The windows of an interleaved ABC item (see the module's docstring); [] for other kinds."""
    if item.kind != "abc" or not isinstance(item.data, str):
        return []
    if bars < 1 or hop < 1:
        raise ValueError(f"a window has at least 1 bar and moves at least 1 bar, got bars={bars} hop={hop}")
    header, lines = split_score(item.data)
    if not lines:
        return []
    return [passage(item, start + 1, min(len(lines), start + bars)) for start in _starts(len(lines), bars, hop)]




def feature_windows(item: Item, seconds: int = DEFAULT_SECONDS, every: int = DEFAULT_EVERY) -> list[Window]:
    """Windows of an audio item's feature rows (frames, dim), one row per FEATURE_SECONDS."""
    rows = len(item.data)
    size, step = max(1, round(seconds / FEATURE_SECONDS)), max(1, round(every / FEATURE_SECONDS))
    return [Window(start * FEATURE_SECONDS, min(rows, start + size) * FEATURE_SECONDS,
                   Item(item.source, f"{item.name}@{start * FEATURE_SECONDS}s", "features", item.data[start : start + size]),
                   "seconds") for start in _starts(rows, size, step)]


# MTF lines whose latest value holds from where they stand on, keyed by their type (and channel): carried into a window
_STATE = ("set_tempo", "time_signature", "key_signature", "program_change")
_DEFAULT_TEMPO = 500_000  # microseconds a beat (120 a minute), until a set_tempo says otherwise


def mtf_line(line: str, channel_types) -> tuple[list[str], int]:
    """An MTF line -> (its values, where its delta time stands): mido writes a channel message's
    time second (``note_on 0 0 60 80``: type, time, channel, note, velocity), a meta message's last."""
    values = line.split(" ")
    return values, (1 if values[0] in channel_types else len(values) - 1)


def midi_windows(item: Item, seconds: int = DEFAULT_SECONDS, every: int = DEFAULT_EVERY) -> list[Window]:
    """Windows of an MTF item by time (see the module's docstring)."""
    from mido.messages.specs import SPEC_BY_TYPE  # the channel and system messages; the rest are meta

    lines = item.data.splitlines()
    times, ticks, parsed, now, tick, tempo = [], [], [], 0.0, 0, _DEFAULT_TEMPO
    try:
        ticks_per_beat = int(lines[0].split()[1])
        for line in lines[1:]:
            values, at = mtf_line(line, SPEC_BY_TYPE)
            now, tick = now + int(values[at]) * tempo / (1e6 * ticks_per_beat), tick + int(values[at])
            if values[0] == "set_tempo":
                tempo = int(values[1])
            times.append(now)
            ticks.append(tick)
            parsed.append((values, at))
    except (ValueError, IndexError, ZeroDivisionError) as exc:
        raise InputError(item.source or item.name, f"not MTF at line {len(parsed) + 2}: {type(exc).__name__}: {exc}") from exc
    if not times:
        return []

    def written(i: int, delta: int) -> str:
        values, at = parsed[i]
        return " ".join(values[:at] + [str(delta)] + values[at + 1 :])

    windows, state, carried = [], {}, 0
    for start in _starts(times[-1], seconds, every):
        low, high = bisect.bisect_left(times, start), bisect.bisect_left(times, start + seconds)
        for i in range(carried, low):  # (starts only grow: the state moves on from the last window's)
            values, at = parsed[i]
            if values[0] in _STATE:
                state[(values[0], values[2] if values[0] == "program_change" else "")] = i
        carried = max(carried, low)
        kept, sounding = [], set()
        for i in range(low, high):  # without the ends of notes that began before the window
            values = parsed[i][0]
            if values[0] in ("note_on", "note_off"):
                note, on = (values[2], values[3]), values[0] == "note_on" and values[-1] != "0"
                if on:
                    sounding.add(note)
                elif note not in sounding:
                    continue
            kept.append(i)
        if not sounding:
            continue
        out = [lines[0], *(written(i, 0) for i in state.values())]
        out += [written(i, ticks[i] - ticks[kept[n - 1]] if n else 0) for n, i in enumerate(kept)]
        end = min(start + seconds, math.ceil(times[-1]))
        windows.append(Window(start, end, Item(item.source, f"{item.name}@{start}s", "mtf", "\n".join(out)), "seconds"))
    return windows


def item_windows(item: Item, settings: dict[str, int]) -> list[Window]:
    """The windows of any item with the library's ``settings`` (bars, hop, seconds, every); [] for
    text, a score without bars, MIDI without notes."""
    if item.kind == "abc":
        return score_windows(item, settings["bars"], settings["hop"])
    if item.kind == "mtf":
        return midi_windows(item, settings["seconds"], settings["every"])
    if item.kind == "features":
        return feature_windows(item, settings["seconds"], settings["every"])
    return []


# --- in a library ----------------------------------------------------------------------------------
PASSAGES_TABLE = """
CREATE TABLE IF NOT EXISTS passages (
    item_id INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (item_id, first)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS items_passages_gone AFTER DELETE ON items BEGIN
    DELETE FROM passages WHERE item_id = old.id;
END;
"""
SETTINGS_KEY = "passages"  # meta: the window settings of the library's passages, as JSON
GENERATION_KEY = "passages generation"  # meta: new with every write of passages
# An item with no window (text, a score without bars, MIDI without notes) gets this row, so a build
# does not try it again. Real windows have last > 0 (a time window may start at 0 s).
NONE_ROW = (0, 0)
WHOLE = b""  # the vector of the one window of an item no longer than a window: the item's own
INDEX_NAME = "passages.faiss"  # the inverted file of the windows, where more than the ANN threshold
BATCH = 4096  # rows read from SQLite at a time


def has_passages(library) -> bool:
    """Whether ``library`` holds windows; a library of another store (Milvus) keeps none: refused in a line."""
    if not hasattr(library, "db"):
        raise LibraryError(f"{library.location}: passages are kept by the SQLite store only (a library folder)")
    return library.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'passages'").fetchone() is not None


def passage_settings(library) -> dict | None:
    value = library.meta().get(SETTINGS_KEY)
    return json.loads(value) if value else None


def unit_of(path: str, modality: str) -> str:
    """How an item's passages are counted: "seconds" for MIDI and audio, "bars" for scores."""
    return "seconds" if modality == "audio" or Path(path).suffix.lower() in TIME_SUFFIXES else "bars"


def encode_vector(vector: np.ndarray) -> bytes:
    """A window's vector (D,) as stored: its unit vector's scale (float32), then 8-bit codes (D,)."""
    unit = normalize(np.asarray(vector, np.float32).reshape(1, -1))[0]
    scale = np.float32(max(float(np.abs(unit).max()), 1e-12) / 127)
    return scale.tobytes() + np.round(unit / scale).astype(np.int8).tobytes()


def decode_vectors(blobs: list[bytes], dim: int) -> np.ndarray:
    """Stored vectors -> unit rows (B, D) float32: 8-bit codes, or float32 as an earlier release wrote them."""
    out = np.empty((len(blobs), dim), np.float32)
    lengths = np.fromiter((len(b) for b in blobs), np.int64, len(blobs))
    for length, decode in ((dim + 4, _decode_codes), (4 * dim, lambda raw: raw.view(np.float32))):
        rows = np.flatnonzero(lengths == length)
        if len(rows):
            raw = np.frombuffer(b"".join(blobs[i] for i in rows), np.uint8).reshape(len(rows), length)
            out[rows] = decode(raw)
    if (bad := np.flatnonzero((lengths != dim + 4) & (lengths != 4 * dim))).size:
        raise LibraryError(f"a stored window has {lengths[bad[0]]} bytes; {dim}-d windows have {dim + 4} or {4 * dim}")
    return normalize(out)


def _decode_codes(raw: np.ndarray) -> np.ndarray:
    """(B, 4 + D) bytes -> (B, D): the codes times their row's scale."""
    scales = np.ascontiguousarray(raw[:, :4]).view(np.float32)  # (B, 1)
    return raw[:, 4:].view(np.int8).astype(np.float32) * scales


def build_passages(library, embedder, bars: int = DEFAULT_BARS, hop: int = DEFAULT_HOP, progress: bool = True,
                   chunk_items: int = 32, seconds: int = DEFAULT_SECONDS, every: int = DEFAULT_EVERY) -> int:
    """Embed the windows of every item of ``library`` that has none yet (resumable: each chunk of
    items is one transaction; items changed since lose theirs with their row), with the model of
    its vectors. Other bar settings than the library's passages were built with rebuild the scores'
    windows, other time settings those of MIDI and audio. Where the library then has more windows
    than its ANN threshold, their inverted file is built too. Returns how many windows were embedded
    (an item of one window is not: its own vector stands for it)."""
    from tqdm.auto import tqdm

    from clamp3.errors import Clamp3Error

    if bars < 1 or hop < 1 or hop > bars:
        raise Clamp3Error(f"passages: 1 <= hop <= bars, got bars={bars} hop={hop}")
    if seconds < FEATURE_SECONDS or every < FEATURE_SECONDS or every > seconds:
        raise Clamp3Error(f"passages: {FEATURE_SECONDS} <= every <= seconds (audio has a feature row every {FEATURE_SECONDS} s), "
                          f"got seconds={seconds} every={every}")
    library.use_model(embedder.model)
    library._check_writable()
    settings = {"bars": int(bars), "hop": int(hop), "seconds": int(seconds), "every": int(every)}
    library.db.executescript(PASSAGES_TABLE)
    before = passage_settings(library) or {}
    stale = {unit for unit, keys in (("bars", ("bars", "hop")), ("seconds", ("seconds", "every")))
             if any(before.get(key) != settings[key] for key in keys)}
    items = library.db.execute("SELECT id, path, name, modality FROM items ORDER BY path, id").fetchall()
    if stale:
        gone = [item_id for item_id, path, _, modality in items if unit_of(path, modality) in stale]
        with library._transaction() as cursor:
            for start in range(0, len(gone), 900):
                part = gone[start : start + 900]
                cursor.execute(f"DELETE FROM passages WHERE item_id IN ({','.join('?' * len(part))})", part)
            cursor.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (SETTINGS_KEY, json.dumps(settings)))
            cursor.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (GENERATION_KEY, uuid.uuid4().hex))
    done = {i for (i,) in library.db.execute("SELECT DISTINCT item_id FROM passages")}
    todo = [(item_id, path, name) for item_id, path, name, _ in items if item_id not in done]
    written = 0
    bar = tqdm(total=len(todo), desc="passages", unit="item", disable=not progress)
    for start in range(0, len(todo), chunk_items):
        chunk = todo[start : start + chunk_items]
        rows: list[tuple] = []
        by_path: dict[str, list[tuple[int, str]]] = {}
        for item_id, path, name in chunk:
            by_path.setdefault(library.absolute(path), []).append((item_id, name))
        windows: list[tuple[int, Window]] = []
        for path, read, errors in embedder.preprocess.read([Path(p) for p in by_path]):
            for error in errors:  # (a file changed or gone since it was added: its items get no windows)
                logger.warning("passages: %s", error)
            named = {item.name: item for item in read}
            for item_id, name in by_path.pop(str(path), []):
                try:
                    cut = item_windows(named[name], settings) if name in named else []
                except INPUT_ERRORS as exc:
                    logger.warning("passages: %s", exc)
                    cut = []
                if len(cut) < 2:
                    rows.append((item_id, cut[0].first, cut[0].last, WHOLE) if cut else (item_id, *NONE_ROW, b""))
                else:
                    windows += [(item_id, window) for window in cut]
        rows += [(item_id, *NONE_ROW, b"") for wanted in by_path.values() for item_id, _ in wanted]  # unreadable now
        if windows:
            vectors = embedder.encode_items([w.item for _, w in windows])
            rows += [(item_id, window.first, window.last, encode_vector(vector)) for (item_id, window), vector in zip(windows, vectors)]
        with library._transaction() as cursor:
            present = {i for (i,) in cursor.execute(f"SELECT id FROM items WHERE id IN ({','.join('?' * len(chunk))})",
                                                     [c[0] for c in chunk])}
            cursor.executemany("INSERT OR REPLACE INTO passages VALUES (?, ?, ?, ?)", [r for r in rows if r[0] in present])
            cursor.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (GENERATION_KEY, uuid.uuid4().hex))
        written += sum(1 for r in rows if r[3] and r[0] in present)
        bar.update(len(chunk))
    bar.close()
    # (a library without windows, of texts only say, has nothing to index)
    if library.db.execute("SELECT COUNT(*) FROM passages WHERE last > 0").fetchone()[0] > library.ann_threshold:
        _index(library, _loaded(library))
    return written


class _Decoded:
    """The rows of an inverted file of 8-bit codes as unit vectors, for ``ivf_search``'s re-ranking:
    the windows' vectors without reading them from SQLite (seconds at 300,000 windows)."""

    def __init__(self, index):
        self.index = index  # with its direct map (``_index``)

    def __len__(self) -> int:
        return self.index.ntotal

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        return normalize(self.index.reconstruct_batch(np.asarray(rows, np.int64)))


@dataclass
class _Windows:
    """Every window of a library, in (item id, first) order: (W,) item ids, first and last bars or
    seconds; ``digest`` names which windows they are (for the inverted file: where they lie, their
    settings and the passages generation, new with every write of windows, so that an item replaced
    under the same id and layout does not keep the old file). Their unit vectors
    (W, D) are read when an exact search needs them; a search through the inverted file re-ranks
    by the vectors its codes give back (``_Decoded``)."""

    key: tuple
    items: np.ndarray
    firsts: np.ndarray
    lasts: np.ndarray
    digest: str
    matrix: np.ndarray | None = None
    index: object = None
    decoded: _Decoded | None = None


def _key(library) -> tuple:
    """What the windows depend on: the items and their vectors (``Library.vectors_version``: a
    change of titles, metadata or sets keeps it, and the inverted file loaded), the settings and the
    passages generation."""
    meta = library.meta()
    return (library.vectors_version, meta.get(SETTINGS_KEY), meta.get(GENERATION_KEY))


def _loaded(library) -> _Windows:
    """Where the library's windows lie, read in one pass (without their vectors) and cached on it per
    ``_key``."""
    if not has_passages(library):
        raise LibraryError(f"{library.directory} has no passages",
                           hint=Hint("build them with 'clamp3 index passages' (once; new items need it again)", "index"))
    key = _key(library)
    cached = getattr(library, "_passages", None)
    if cached is not None and cached.key == key:
        return cached
    cursor = library.db.execute("SELECT item_id, first, last FROM passages WHERE last > 0 ORDER BY item_id, first")
    parts = []
    while rows := cursor.fetchmany(BATCH):
        parts.append(np.array(rows, np.int64))  # (B, 3)
    if not parts:
        raise LibraryError(f"{library.directory} has no passages yet", hint=Hint("build them with 'clamp3 index passages'", "index"))
    layout = np.concatenate(parts)
    digest = hashlib.sha1(layout.tobytes() + json.dumps(key[1:]).encode()).hexdigest()  # (settings, generation)
    loaded = _Windows(key, layout[:, 0].copy(), layout[:, 1].astype(np.int32), layout[:, 2].astype(np.int32), digest)
    library._passages = loaded
    return loaded


def _matrix(library, loaded: _Windows) -> np.ndarray:
    """The windows' unit vectors (W, D), read once into an array allocated once."""
    if loaded.matrix is None:
        found = library.db.execute("SELECT length(vector) FROM items LIMIT 1").fetchone()
        matrix = np.empty((len(loaded.items), found[0] // 4), np.float32)
        cursor = library.db.execute("SELECT vector FROM passages WHERE last > 0 ORDER BY item_id, first")
        filled = 0
        while rows := cursor.fetchmany(BATCH):
            if filled + len(rows) > len(matrix):
                break
            part = matrix[filled : filled + len(rows)]  # (B, D), a view
            whole = np.array([not r[0] for r in rows])
            if (~whole).any():
                part[~whole] = decode_vectors([r[0] for r in rows if r[0]], matrix.shape[1])
            if whole.any():
                part[whole] = library.vectors_of(loaded.items[filled : filled + len(rows)][whole])
            filled += len(rows)
        if filled != len(matrix) or _key(library) != loaded.key:
            library._passages = None  # written meanwhile: the next search reads both again
            raise LibraryError(f"{library.directory}: its passages changed while they were read; search again")
        loaded.matrix = matrix
    return loaded.matrix


def _index(library, loaded: _Windows):
    """The inverted file of the windows: read from INDEX_NAME where its stamp names these windows,
    else built (and written, where the library is writable)."""
    import faiss

    from clamp3.io import atomic_write

    if loaded.index is not None:
        return loaded.index
    path, stamp = library.directory / INDEX_NAME, library.directory / (INDEX_NAME + ".json")
    wanted = {"kind": ANN_KIND, "windows": loaded.digest}
    try:
        if json.loads(stamp.read_text()) == wanted:
            index = faiss.read_index(str(path))
            if index.ntotal == len(loaded.items):
                return _use(loaded, index)
    except (OSError, ValueError, RuntimeError):
        pass
    logger.info("building the inverted file of %d windows", len(loaded.items))
    index = build_ivf(_matrix(library, loaded))
    if not library.read_only:
        atomic_write(path, lambda handle: handle.write(faiss.serialize_index(index).tobytes()))
        atomic_write(stamp, lambda handle: handle.write(json.dumps(wanted).encode()))
    return _use(loaded, index)


def _use(loaded: _Windows, index):
    index.make_direct_map()  # row -> where its code lies (8 bytes a row), for _Decoded
    loaded.index, loaded.decoded = index, _Decoded(index)
    return index


def search_passages(
    library, queries: np.ndarray, k: int = 10, modality: str | None = None, where: dict[str, str] | None = None,
    keyword: str | None = None, exact: bool | None = None,
) -> list[list[Hit]]:
    """Top-``k`` items for each query vector by their best window: each hit's ``score`` is that
    window's cosine and its ``passage`` where the window lies (bars, or seconds for MIDI and audio).
    Filters as :meth:`Library.search`; more windows than the library's ANN threshold are searched
    through their inverted file unless ``exact``."""
    loaded = _loaded(library)
    items = loaded.items
    queries = normalize(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
    rows = None
    if modality or where or keyword:
        allowed = library._allowed_ids(library.version, modality, tuple(sorted((where or {}).items())), keyword or "")
        rows = np.flatnonzero(np.isin(items, allowed))
        if not len(rows):
            return [[] for _ in queries]
    searched = len(items) if rows is None else len(rows)
    index = _index(library, loaded) if (searched > library.ann_threshold if exact is None else not exact) else None
    matrix = loaded.decoded if index is not None else _matrix(library, loaded)
    answers = []
    for query in queries:
        depth = min(searched, max(4 * k, 64))
        while True:  # the best windows, as many as it takes to hold k items (or every window)
            if index is not None:
                found = ivf_search(index, matrix, query[None], depth, rows)[0]
            else:
                scores, best = exact_top_k(matrix, query[None], depth, rows)
                found = list(zip(scores[0].tolist(), best[0].tolist()))
            chosen: dict[int, tuple[float, int]] = {}
            for score, row in found:
                chosen.setdefault(int(items[row]), (float(score), int(row)))
                if len(chosen) == k:
                    break
            if len(chosen) == k or depth >= searched or (index is not None and len(found) < depth):
                break
            depth = min(depth * 4, searched)
        hits = library._hits([(score, item) for item, (score, _) in chosen.items()])
        answers.append([dataclasses.replace(hit, passage=(int(loaded.firsts[row]), int(loaded.lasts[row])),
                                            passage_unit=unit_of(hit.path, hit.modality))
                        for hit, (_, row) in zip(hits, chosen.values())])
    return answers
