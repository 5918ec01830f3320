"""The approximate index of a large library, kept on disk: an inverted file of product-quantised
codes (FAISS ``IndexIVFPQFastScan``: 4-bit codes scanned with SIMD; or, in the layout before it,
``IndexIVFPQ`` with memory-mapped lists: :class:`Layout`), its candidates re-ranked exactly from a
float16 copy of the vectors on disk (:class:`RowFile`), grown by appending rather than rebuilt.

Files, in the folder ``ann-disk`` beside the database (derived data, like the vector file):

- ``trained-<generation>.faiss``: the trained, empty index (coarse centroids and PQ codebooks);
- ``main-<name>.faiss``: the codes of rows [0, main), read with ``faiss.IO_FLAG_MMAP``: FAISS maps
  plain lists (the ``PQ8`` layout), and reads fast-scan lists, laid out in blocks, into memory;
- ``delta-<name>.faiss``: the codes of rows [main, rows), read into memory (at most 1/DELTA_SHARE of
  the rows);
- ``rows-<generation>.f16`` / ``.ids``: each row's unit vector (float16) and item id (int64);
- ``stamp.json``: what they hold and in which :class:`Layout`, written last and atomically.

A row's label in the index is its position in the row files, so the re-rank reads its vector by
position. Items added to the library are appended: their codes are computed with the trained
codebooks (nothing is retrained) into the delta file, written anew under a new name, their rows
after the stamp's last; when the delta outgrows 1/DELTA_SHARE of the rows it is merged into a new
main file (``merge_from``: the codes are copied, not recomputed). Rows below the stamp's count are
never written again, so a crash in the middle of an append leaves the old stamp true, and the
next sync appends again. Removed items stay in the files and are masked out of every search (an
``IDSelectorBitmap`` of the live rows); items the index does not hold yet (added since it was
synced) are searched exactly and merged, so a search is never wrong while a sync runs.

The index is built anew (trained on a sample) only when the library grew GROWTH_TO_RETRAIN times
past the rows it was trained on (its lists, about sqrt(N), are then too few: each holds 4x the rows
it was sized for), when more than DEAD_TO_REBUILD of its rows were removed, or when SQLite gave a
removed item's id to a new one (the index holds the old vector under that id).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from clamp3.io import atomic_write
from clamp3.retrieval import (
    RowsCache,
    exact_top_k,
    filtered_scan,
    ivf_candidates,
    ivf_lists,
    rerank,
    row_bitmap,
    rows_of,
    scaled_probes,
)

logger = logging.getLogger(__name__)

FOLDER = "ann-disk"
KIND = "ivf-pq-disk-2"
BLOCK = 65_536  # rows encoded and written at a time
DELTA_SHARE = 16  # the delta is merged into the main file once it holds more than 1/16 of the rows
GROWTH_TO_RETRAIN = 4
DEAD_TO_REBUILD = 0.25
TRAIN_PER_LIST = 40  # k-means samples per list, as for the in-memory index


@dataclass(frozen=True)
class Layout:
    """How the index codes its rows and how a query searches them; kept in the stamp, so an index is
    searched as it was built.

    ``codes``: ``"pq8"``, FAISS ``IndexIVFPQ`` (one byte a code, its lists memory-mapped from the main
    file), or ``"pq4-fastscan"``, ``IndexIVFPQFastScan`` (4-bit codes scanned 32 at a time with SIMD;
    FAISS reads its block-laid lists into memory, it cannot map them). ``dims_per_code``: dimensions a
    PQ code stands for. A query scans ``probe_fraction`` of the lists (at least ``min_probes``) and
    re-ranks its best ``candidates`` exactly from the float16 rows."""

    codes: str = "pq4-fastscan"
    dims_per_code: int = 2
    probe_fraction: float = 1 / 20
    min_probes: int = 32
    candidates: int = 1000

    def __post_init__(self):
        if self.codes not in CODES:
            raise ValueError(f"Unknown codes {self.codes!r}; expected one of {', '.join(CODES)}")
        if self.dims_per_code < 1 or not 0 < self.probe_fraction <= 1 or self.min_probes < 1 or self.candidates < 1:
            raise ValueError(f"Invalid layout {self}: dims_per_code, min_probes and candidates must be >= 1, "
                             "probe_fraction in (0, 1]")

    def probes(self, lists: int) -> int:
        return int(min(lists, max(self.min_probes, round(lists * self.probe_fraction))))

    def candidates_for(self, rows: int) -> int:
        """Candidates re-ranked in an index of ``rows``: ``candidates`` up to 10^6 rows, then growing
        with sqrt(rows), as near-ties multiply (music queries' recall@10 at 10^7 grown demo vectors:
        0.908 with 1,000 candidates, 0.954 with 2,000, 0.964 with 4,000; docs/scaling.md, section 4)."""
        return int(round(self.candidates * max(1.0, np.sqrt(rows / 1e6))))

    def subquantizers(self, dim: int) -> int:
        """PQ sub-vectors of a ``dim``-d vector: a divisor of ``dim`` (even for 4-bit codes, two to a byte)."""
        m = max(1, dim // self.dims_per_code)
        while m and (dim % m or (self.codes == "pq4-fastscan" and m % 2)):
            m -= 1
        if not m:
            raise ValueError(f"{dim}-d vectors cannot be cut into an even number of sub-vectors for 4-bit fast-scan codes")
        return m

    def for_dimension(self, dim: int) -> Layout:
        """This layout, or the 8-bit one (``PQ8``) where ``dim`` has no even divisor for fast-scan codes (an odd ``dim``)."""
        return self if self.codes != "pq4-fastscan" or dim % 2 == 0 else PQ8

    def factory(self, dim: int, lists: int, sample: int) -> str:
        """FAISS's index_factory string for ``lists`` lists trained on ``sample`` vectors."""
        if self.codes == "pq4-fastscan":
            return f"IVF{lists},PQ{self.subquantizers(dim)}x4fs"
        # one byte a code; fewer bits where the sample is too small to train 256 centroids (FAISS asks for 39 a centroid)
        bits = int(np.clip(np.floor(np.log2(max(sample, 1) / 39)), 4, 8))
        return f"IVF{lists},PQ{self.subquantizers(dim)}x{bits}"


CODES = ("pq8", "pq4-fastscan")
# The layout before fast scan, chosen on the demo library's 384-d vectors grown to 10^6 (1,000 lists; 120
# text and 120 music queries, recall@10 against exact search, at a load of 7 on 2 cores): one byte for 8
# dimensions (PQ48) ranks too coarsely to re-rank from (text 0.83, music 0.92 with 400 candidates of 50
# lists); one byte for 4 (PQ96) gives text 0.959 and music 0.973 with 500 candidates of 50 lists (0.966 /
# 0.975 with 1,000; 100 lists add 0.01 at twice the time); 4-bit scalar codes (SQ4), twice the bytes, did
# no better (0.958 / 0.934 with 200 candidates). It scans N/20 codes a query: 55-70 ms at 3x10^6.
PQ8 = Layout(codes="pq8", dims_per_code=4, probe_fraction=1 / 20, min_probes=32, candidates=500)
# The layout now, chosen on the same grown vectors at 10^6 (100 text and 100 music queries, one FAISS
# thread, load 12): 4-bit codes of the residuals, one for 2 dimensions, 50 of 1,000 lists and 1,000
# candidates gave text 0.974 and music 0.982, the scan 0.7 ms against PQ8's 10-17 ms; 4-bit codes of the
# vectors themselves ranked text at 0.92, one 4-bit code for 4 dimensions at 0.89 (docs/scaling.md, section 4).
DEFAULT_LAYOUT = Layout()


@dataclass(frozen=True)
class Stamp:
    """What the index files hold."""

    kind: str
    library: str
    generation: str
    dim: int
    lists: int
    trained_on: int
    rows: int
    main: int
    main_file: str
    delta_file: str  # "" when every row is in the main file
    last_id: int
    edits: int  # the library's count of removed or changed items when the rows were last synced
    layout: dict  # the Layout's fields


@dataclass(frozen=True)
class View:
    """The index against one version of the library (``ids``, ascending): which of its rows are still
    items (``live``: None when all are), and the rows of ``ids`` it does not hold (``tail``)."""

    live: np.ndarray | None  # (rows,) bool
    live_bitmap: np.ndarray | None  # the same, packed for FAISS
    tail: np.ndarray  # ascending rows of ``ids``
    reused: int  # ids given to new items after their first item was removed

    @property
    def dead(self) -> int:
        return 0 if self.live is None else int(len(self.live) - self.live.sum())


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One writer at a time across processes (the app and ``clamp3 index add``)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_stamp(folder: Path) -> Stamp | None:
    try:
        stamp = Stamp(**json.loads((folder / "stamp.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return stamp if stamp.kind == KIND else None


def _write_index(index, path: Path) -> None:
    """A FAISS index to ``path`` atomically (a temporary name, synced, renamed)."""
    import faiss

    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        faiss.write_index(index, str(temporary))
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_rows(folder: Path, stamp: Stamp, at: int, vectors: np.ndarray, ids: np.ndarray) -> None:
    """Rows from row ``at`` on (float16 unit vectors (n, D), their ids (n,)), synced; whatever a killed
    append left after row ``at`` is overwritten."""
    for suffix, data, width in ((".f16", vectors.astype(np.float16), 2 * stamp.dim), (".ids", ids.astype(np.int64), 8)):
        path = folder / f"rows-{stamp.generation}{suffix}"
        with open(path, "r+b" if path.exists() else "w+b") as handle:
            handle.seek(at * width)
            handle.write(np.ascontiguousarray(data).tobytes())
            handle.flush()
            os.fsync(handle.fileno())


def _remove_others(folder: Path, stamp: Stamp) -> None:
    """The files of other generations and replaced segments (the lock is held: no writer is making them)."""
    kept = {"stamp.json", "lock", stamp.main_file, stamp.delta_file, f"trained-{stamp.generation}.faiss",
            f"rows-{stamp.generation}.f16", f"rows-{stamp.generation}.ids"}
    for path in folder.iterdir():
        if path.name not in kept:
            path.unlink(missing_ok=True)


class RowFile:
    """The float16 rows (rows, D) as float32 arrays by row: a few rows read with ``pread``, many through
    a memory map. A memory map would serve every read, but the kernel maps 64 KB around each page it
    faults in: 400 queries' 500 candidates each counted the whole float16 file of a million rows (751
    MiB) in the process's resident memory, where reads leave them in the page cache (shared, dropped
    under pressure); 500 reads took 7 ms against 4 ms through the map at a load of 6 on 2 cores.

    Before the reads every row is announced to the kernel (``POSIX_FADV_WILLNEED``), so rows not in the
    page cache are fetched from the disk together rather than one read after another: 500 rows of a
    million (384-d) read cold took 95-125 ms one by one and 32-46 ms announced first, warm 1.1 against
    1.7 ms (load 11 on 2 cores)."""

    READ_AT_MOST = 4096  # rows read one by one; more through the map

    def __init__(self, path: Path, rows: int, dim: int):
        self.path, self.width, self.shape = path, 2 * dim, (rows, dim)
        self.mapped = np.memmap(path, np.float16, "r", shape=self.shape)  # (checks the file's length)
        self.fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) > self.READ_AT_MOST:
            return np.asarray(self.mapped[rows], dtype=np.float32)
        offsets = (rows * self.width).tolist()
        if hasattr(os, "posix_fadvise"):
            for offset in offsets:
                os.posix_fadvise(self.fd, offset, self.width, os.POSIX_FADV_WILLNEED)
        data = b"".join([os.pread(self.fd, self.width, offset) for offset in offsets])
        return np.frombuffer(data, np.float16).reshape(len(rows), self.shape[1]).astype(np.float32)  # (rows, D)

    def __del__(self):
        if getattr(self, "fd", None) is not None:  # (not when the map refused the file)
            os.close(self.fd)


class DiskIndex:
    """One state of the on-disk index (its files never change under it: an append makes a new
    state). :meth:`open` it, :meth:`build` it, :meth:`view` it against a library version, and
    :meth:`search` or :meth:`append` by that view."""

    def __init__(self, folder: Path, stamp: Stamp, main, delta, vectors: RowFile, ids: np.ndarray):
        self.folder, self.stamp, self.main, self.delta = folder, stamp, main, delta
        self.layout = Layout(**stamp.layout)
        self.vectors = vectors  # (rows, D) float16 on disk, read as float32
        self.ids = ids  # (rows,) int64, ascending
        self._view: tuple[int, View] | None = None
        self._positions = RowsCache()  # the live rows of the allowed ids of the current view

    @property
    def rows(self) -> int:
        return self.stamp.rows

    @classmethod
    def open(cls, directory: Path, library: str, dim: int) -> DiskIndex | None:
        """The index of the library whose random id is ``library`` in ``directory``; None when there
        is none, or it is of another library, dimension or kind, or its files are not what the stamp
        says."""
        import faiss

        folder = directory / FOLDER
        stamp = _read_stamp(folder)
        if stamp is None or stamp.library != library or stamp.dim != dim:
            return None
        try:
            Layout(**stamp.layout)
            # mapped where FAISS can (the lists of "pq8"); fast-scan lists, laid out in blocks, are read into memory
            main = faiss.read_index(str(folder / stamp.main_file), faiss.IO_FLAG_MMAP)
            delta = faiss.read_index(str(folder / stamp.delta_file)) if stamp.delta_file else None
            vectors = RowFile(folder / f"rows-{stamp.generation}.f16", stamp.rows, dim)
            ids = np.fromfile(folder / f"rows-{stamp.generation}.ids", np.int64, count=stamp.rows)
        except (OSError, RuntimeError, ValueError, TypeError):
            return None
        if main.ntotal != stamp.main or (delta.ntotal if delta is not None else 0) != stamp.rows - stamp.main or len(ids) != stamp.rows:
            return None
        return cls(folder, stamp, main, delta, vectors, ids)

    @classmethod
    def build(cls, directory: Path, library: str, ids: np.ndarray, matrix: np.ndarray, edits: int, seed: int = 0,
              layout: Layout = DEFAULT_LAYOUT) -> DiskIndex:
        """Train an index of ``layout`` on a seeded sample of ``matrix`` (unit rows (N, D) of ``ids``, which
        may be memory-mapped: it is read block by block), add every row, and write it; returns it opened."""
        import faiss

        folder = directory / FOLDER
        n, dim = matrix.shape
        layout = layout.for_dimension(dim)
        lists = ivf_lists(n)
        sample = np.sort(np.random.default_rng(seed).choice(n, min(n, TRAIN_PER_LIST * lists), replace=False))
        factory = layout.factory(dim, lists, len(sample))
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        # codes of the residual to the list's centroid: without, 4-bit codes of the unit vectors ranked too coarsely
        # (recall@10 of text queries 0.92 against 0.97 with, at 10^6 with 1,000 candidates)
        index.by_residual = True
        logger.info("training the on-disk index (%s) on %d of %d vectors", factory, len(sample), n)
        index.train(np.ascontiguousarray(matrix[sample], dtype=np.float32))
        generation = uuid.uuid4().hex
        stamp = Stamp(KIND, library, generation, dim, lists, n, n, n, f"main-{uuid.uuid4().hex}.faiss", "",
                      int(ids[-1]) if n else 0, edits, asdict(layout))
        with _locked(folder):
            _write_index(index, folder / f"trained-{generation}.faiss")
            for start in range(0, n, BLOCK):
                block = np.ascontiguousarray(matrix[start : start + BLOCK], dtype=np.float32)  # (block, D)
                index.add_with_ids(block, np.arange(start, start + len(block), dtype=np.int64))
                _write_rows(folder, stamp, start, block, ids[start : start + BLOCK])
            _write_index(index, folder / stamp.main_file)
            atomic_write(folder / "stamp.json", lambda handle: handle.write(json.dumps(asdict(stamp)).encode()))
            _remove_others(folder, stamp)
        built = cls.open(directory, library, dim)
        if built is None:
            raise RuntimeError(f"{folder}: the index just written cannot be read back")
        return built

    def view(self, version: int, ids: np.ndarray, matrix: np.ndarray, edits: int) -> View:
        """This index against the library at ``version`` (ascending ``ids``, their unit rows ``matrix``,
        its ``edits`` count); kept for the version last asked."""
        cached = self._view
        if cached is not None and cached[0] == version:
            return cached[1]
        known = int(np.searchsorted(ids, self.stamp.last_id, side="right"))  # ids up to the index's last
        tail = np.arange(known, len(ids), dtype=np.int64)
        live, reused = None, 0
        if edits != self.stamp.edits or known != self.rows:  # something was removed (or changed) since the sync
            live = np.zeros(self.rows, dtype=bool)
            live[rows_of(self.ids, ids[:known])] = True
            # SQLite gives a new item the largest id + 1, so after the newest items were removed their ids
            # come back with other vectors: from the top, rows whose vector is not the index's are new
            present = np.flatnonzero(live)[::-1]
            for start in range(0, len(present), 1024):
                block = present[start : start + 1024]  # descending rows of the index
                rows = rows_of(ids, self.ids[block])
                same = np.abs(np.asarray(matrix[rows], np.float32) - self.vectors[block]).max(axis=1) < 2e-3
                changed = np.argmax(same) if same.any() else len(block)
                live[block[:changed]] = False
                tail = np.union1d(tail, rows[:changed])
                reused += int(changed)
                if changed < len(block):
                    break
            if live.all():
                live = None
        view = View(live, None if live is None else np.packbits(live, bitorder="little"), tail, reused)
        self._view, self._positions = (version, view), RowsCache()
        return view

    def needs(self, view: View) -> str | None:
        """"build" (anew), "append" or None (up to date), by the rules in the module's docstring."""
        live = self.rows - view.dead + len(view.tail)
        if view.reused or view.dead > DEAD_TO_REBUILD * self.rows or live > GROWTH_TO_RETRAIN * self.stamp.trained_on:
            return "build"
        return "append" if len(view.tail) else None

    def append(self, view: View, ids: np.ndarray, matrix: np.ndarray, edits: int) -> DiskIndex | None:
        """A new state holding the rows ``view.tail`` of ``matrix`` too (encoded with the trained
        codebooks); None when another process changed the index meanwhile (open it again)."""
        import faiss

        directory = self.folder.parent
        with _locked(self.folder):
            if _read_stamp(self.folder) != self.stamp:
                return None
            tail_ids = ids[view.tail]
            if len(tail_ids) and tail_ids[0] <= self.stamp.last_id:
                return None  # (an id below the last: the view asks for a build)
            rows = self.rows + len(view.tail)
            main_file, delta_file, main = self.stamp.main_file, self.stamp.delta_file, self.stamp.main
            merge = rows - main > rows // DELTA_SHARE
            if merge:  # the main file's codes read into memory, the delta's copied after them
                index = faiss.read_index(str(self.folder / main_file))
                if self.delta is not None:
                    index.merge_from(faiss.clone_index(self.delta), 0)
                main_file, delta_file = f"main-{uuid.uuid4().hex}.faiss", ""
            else:
                index = faiss.clone_index(self.delta) if self.delta is not None else \
                    faiss.read_index(str(self.folder / f"trained-{self.stamp.generation}.faiss"))
                delta_file = f"delta-{uuid.uuid4().hex}.faiss"
            for start in range(0, len(view.tail), BLOCK):
                part = view.tail[start : start + BLOCK]
                block = np.ascontiguousarray(matrix[part], dtype=np.float32)  # (block, D)
                index.add_with_ids(block, np.arange(self.rows + start, self.rows + start + len(part), dtype=np.int64))
                _write_rows(self.folder, self.stamp, self.rows + start, block, ids[part])
            if merge:
                main = rows
            _write_index(index, self.folder / (main_file if merge else delta_file))
            stamp = replace(self.stamp, rows=rows, main=main, main_file=main_file, delta_file=delta_file,
                            last_id=int(tail_ids[-1]) if len(tail_ids) else self.stamp.last_id, edits=edits)
            atomic_write(self.folder / "stamp.json", lambda handle: handle.write(json.dumps(asdict(stamp)).encode()))
            _remove_others(self.folder, stamp)
        logger.info("appended %d rows to the on-disk index (%d rows%s)", len(view.tail), rows, ", delta merged" if merge else "")
        return DiskIndex.open(directory, self.stamp.library, self.stamp.dim)

    def search(
        self, view: View, ids: np.ndarray, matrix: np.ndarray, queries: np.ndarray, k: int,
        allowed: np.ndarray | None = None, exact_below: int = 0,
    ) -> list[list[tuple[float, int]]]:
        """Per unit query (Q, D), up to ``k`` (exact cosine, item id) best first (equal scores in id
        order), among the ascending item ids ``allowed`` when given: the index's live rows through
        the inverted file (or exactly from the float16 rows when at most ``exact_below`` are
        allowed), and the rows of ``matrix`` the index does not hold yet (``view.tail``) exactly."""
        tail = view.tail
        if allowed is None:
            bitmap, count = view.live_bitmap, self.rows - view.dead
        else:
            mine, tail = self._allowed_rows(view, allowed), tail[np.isin(ids[tail], allowed, assume_unique=True)]  # (the tail is short)
            bitmap, count = None, len(mine)
        found: list[list[tuple[float, int]]]
        if count == 0:
            found = [[] for _ in queries]
        elif allowed is not None and count <= exact_below:
            scores, best = exact_top_k(self.vectors[mine], queries, k)
            found = [[(float(s), int(self.ids[mine[b]])) for s, b in zip(qs, qb)] for qs, qb in zip(scores, best)]
        else:
            if allowed is not None:
                bitmap = row_bitmap(mine, self.rows)
            lists, probes = self.stamp.lists, self.layout.probes(self.stamp.lists)
            candidates = ivf_candidates([self.main, self.delta] if self.delta is not None else [self.main], queries,
                                        max(self.layout.candidates_for(self.rows), 8 * k), scaled_probes(probes, lists, self.rows, count),
                                        bitmap, None if allowed is None else mine,
                                        None if allowed is None else filtered_scan(probes, lists, self.rows))
            found = [[(score, int(self.ids[row])) for score, row in hits] for hits in rerank(self.vectors, queries, candidates, k)]
        if len(tail):
            scores, best = exact_top_k(matrix, queries, k, tail)
            found = [sorted(hits + [(float(s), int(ids[b])) for s, b in zip(qs, qb)], key=lambda hit: (-hit[0], hit[1]))[:k]
                     for hits, qs, qb in zip(found, scores, best)]
        return found

    def _allowed_rows(self, view: View, allowed: np.ndarray) -> np.ndarray:
        """The live rows of the index that hold the ascending ids ``allowed`` (kept: ``RowsCache``)."""
        return self._positions.get(self.ids, allowed, None if view.live is None else lambda rows: rows[view.live[rows]])
