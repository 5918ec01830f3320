"""Passages: windows of an item embedded on their own, so that a search finds *where* in a piece a
query matches ("bars 17-24"), not only which piece.

A score (interleaved ABC: a header, then one line per bar with every voice) is cut into windows of
``bars`` bars every ``hop`` bars (the last window ends with the piece; a piece no longer than a
window is one window). Each window is a score of its own: the header, with the key, metre and unit
length that inline fields changed before the window written into it, and its bars. Bars are
numbered from 1 as the lines of the score (a pickup bar counts as bar 1).

Defaults (8 bars, every 4): a window a phrase or two of most tunes and chorales (the demo's
interleaved scores have 16-40 bars), so a passage of 4-16 bars planted anywhere lies wholly in some
window; half-overlapping windows cost two vectors per 8 bars. MIDI (MTF) and audio items have no
passages yet: they are searched as wholes.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from clamp3.errors import Hint
from clamp3.formats.base import Item
from clamp3.library.rows import Hit
from clamp3.library.store import LibraryError
from clamp3.retrieval import exact_top_k, normalize

DEFAULT_BARS, DEFAULT_HOP = 8, 4
# Inline fields whose value holds from where they stand on: carried into a window's header.
_INLINE = re.compile(r"\[([KML]):([^\]]*)\]")


@dataclass(frozen=True)
class Window:
    """One passage of an item: its first and last bar (from 1) and the score of those bars."""

    first: int
    last: int
    item: Item

    @property
    def label(self) -> str:
        return f"bars {self.first}-{self.last}" if self.last > self.first else f"bar {self.first}"


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


def score_windows(item: Item, bars: int = DEFAULT_BARS, hop: int = DEFAULT_HOP) -> list[Window]:
    """The windows of an interleaved ABC item (see the module's docstring); [] for other kinds."""
    if item.kind != "abc" or not isinstance(item.data, str):
        return []
    if bars < 1 or hop < 1:
        raise ValueError(f"a window has at least 1 bar and moves at least 1 bar, got bars={bars} hop={hop}")
    header, lines = split_score(item.data)
    if not lines:
        return []
    starts = list(range(0, max(1, len(lines) - bars) + 1, hop))
    if starts[-1] + bars < len(lines):  # the last window ends with the piece
        starts.append(len(lines) - bars)
    return [passage(item, start + 1, min(len(lines), start + bars)) for start in starts]


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
# An item with no window (MIDI, audio, a score without bars) gets this row, so a build does not try it again.
NONE_ROW = (0, 0)


def has_passages(library) -> bool:
    return library.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'passages'").fetchone() is not None


def passage_settings(library) -> dict | None:
    import json

    value = library.meta().get(SETTINGS_KEY)
    return json.loads(value) if value else None


def build_passages(library, embedder, bars: int = DEFAULT_BARS, hop: int = DEFAULT_HOP, progress: bool = True,
                   chunk_items: int = 32) -> int:
    """Embed the windows of every symbolic item of ``library`` that has none yet (resumable: each
    chunk of items is one transaction; items changed since lose theirs with their row), with the
    model of its vectors. Other settings than the library's passages were built with rebuild them
    all. Returns how many windows were written."""
    import json

    from tqdm.auto import tqdm

    from clamp3.errors import Clamp3Error
    from clamp3.formats import try_read_items

    if bars < 1 or hop < 1 or hop > bars:
        raise Clamp3Error(f"passages: 1 <= hop <= bars, got bars={bars} hop={hop}")
    library.use_model(embedder.model)
    library._check_writable()
    settings = {"bars": int(bars), "hop": int(hop)}
    library.db.executescript(PASSAGES_TABLE)
    if passage_settings(library) != settings:
        with library._transaction() as cursor:
            cursor.execute("DELETE FROM passages")
            cursor.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (SETTINGS_KEY, json.dumps(settings)))
    todo = library.db.execute(
        "SELECT id, path, name FROM items WHERE modality = 'symbolic' AND id NOT IN (SELECT DISTINCT item_id FROM passages) "
        "ORDER BY path, id").fetchall()
    written = 0
    bar = tqdm(total=len(todo), desc="passages", unit="item", disable=not progress)
    for start in range(0, len(todo), chunk_items):
        chunk = todo[start : start + chunk_items]
        rows: list[tuple] = []
        by_path: dict[str, list[tuple[int, str]]] = {}
        for item_id, path, name in chunk:
            by_path.setdefault(path, []).append((item_id, name))
        windows: list[tuple[int, Window]] = []
        for path, wanted in by_path.items():
            items, errors = try_read_items(library.absolute(path))
            named = {item.name: item for item in items}
            for item_id, name in wanted:
                cut = score_windows(named[name], bars, hop) if name in named else []
                if not cut:
                    rows.append((item_id, *NONE_ROW, b""))
                windows += [(item_id, window) for window in cut]
        if windows:
            vectors = embedder.encode_items([w.item for _, w in windows])
            for (item_id, window), vector in zip(windows, vectors):
                rows.append((item_id, window.first, window.last, np.asarray(vector, np.float32).reshape(-1).tobytes()))
        with library._transaction() as cursor:
            present = {i for (i,) in cursor.execute(f"SELECT id FROM items WHERE id IN ({','.join('?' * len(chunk))})",
                                                     [c[0] for c in chunk])}
            cursor.executemany("INSERT OR REPLACE INTO passages VALUES (?, ?, ?, ?)", [r for r in rows if r[0] in present])
        written += sum(1 for r in rows if r[1] and r[0] in present)
        bar.update(len(chunk))
    bar.close()
    return written


def _passage_rows(library) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(item ids, first bars, last bars, unit vectors) of every window, cached on the library per
    version and count of windows."""
    if not has_passages(library):
        raise LibraryError(f"{library.directory} has no passages",
                           hint=Hint("build them with 'clamp3 index passages' (once; new items need it again)", "index"))
    count = library.db.execute("SELECT COUNT(*) FROM passages WHERE first > 0").fetchone()[0]
    key = (library.version, count)
    cached = getattr(library, "_passages", None)
    if cached is None or cached[0] != key:
        rows = library.db.execute("SELECT item_id, first, last, vector FROM passages WHERE first > 0 ORDER BY item_id, first").fetchall()
        if not rows:
            raise LibraryError(f"{library.directory} has no passages yet",
                               hint=Hint("build them with 'clamp3 index passages'", "index"))
        items = np.array([r[0] for r in rows], np.int64)
        firsts = np.array([r[1] for r in rows], np.int32)
        lasts = np.array([r[2] for r in rows], np.int32)
        matrix = normalize(np.stack([np.frombuffer(r[3], np.float32) for r in rows]))
        cached = library._passages = (key, (items, firsts, lasts, matrix))
    return cached[1]


def search_passages(
    library, queries: np.ndarray, k: int = 10, modality: str | None = None, where: dict[str, str] | None = None,
    keyword: str | None = None,
) -> list[list[Hit]]:
    """Top-``k`` items for each query vector by their best window: each hit's ``score`` is that
    window's cosine and its ``passage`` the window's bars. Filters as :meth:`Library.search`."""
    items, firsts, lasts, matrix = _passage_rows(library)
    queries = normalize(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
    rows = None
    if modality or where or keyword:
        allowed = library._allowed_ids(library.version, modality, tuple(sorted((where or {}).items())), keyword or "")
        rows = np.flatnonzero(np.isin(items, allowed))
        if not len(rows):
            return [[] for _ in queries]
    answers = []
    depth = min(len(matrix) if rows is None else len(rows), max(4 * k, 64))
    for query in queries:
        while True:  # the best windows, as many as it takes to hold k items (or every window)
            scores, best = exact_top_k(matrix, query[None], depth, rows)
            chosen: dict[int, tuple[float, int]] = {}
            for score, row in zip(scores[0], best[0]):
                chosen.setdefault(int(items[row]), (float(score), int(row)))
                if len(chosen) == k:
                    break
            if len(chosen) == k or depth >= (len(matrix) if rows is None else len(rows)):
                break
            depth = min(depth * 4, len(matrix) if rows is None else len(rows))
        hits = library._hits([(score, item) for item, (score, _) in chosen.items()])
        answers.append([dataclasses.replace(hit, passage=(int(firsts[row]), int(lasts[row])))
                        for hit, (_, row) in zip(hits, chosen.values())])
    return answers
