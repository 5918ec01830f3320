"""Maps of a library: the 2-d UMAP coordinates of its items, computed once per version of its
vectors (``Library.vectors_version``: a change of titles or metadata only, a named set tagged, keeps
the map) and centring, cached as ``map-<fingerprint>-v<version>-<modality>-<c|n>.npz``, and for the app
computed in the background while the last ready map is served.

Where the cache lives: beside the library, unless the library is open read-only or is the demo
library that ships in ``assets/`` (never written); then under ``cache_home()/maps/<hash of its
folder>``. Writing a map removes the older ones of the same modality and centring (other versions,
another model's, the ``.npy`` of earlier releases): one file each, not one per change.

How a map is computed (:func:`umap_coordinates`), measured on the demo library (12,814 items,
384-d, 2 busy cores): UMAP's own neighbour search (pynndescent) and its numba compilation took
35-42 s of a fresh process before the layout's 6-7 s. The 15 nearest neighbours are found here
instead: candidates by dot products in a projection on the 50 leading eigenvectors of ``XᵀX``
(which keeps dot products best in least squares), then the 30 best re-ranked by exact cosine:
99.97 % of the exact neighbours in 1-2 s (exact: 2.5-4.5 s), deterministic. UMAP is given them (``precomputed_knn``)
and compiles only its layout: 6.5 s. Settings left as they were: random init (PCA init 1.5 s
slower, spectral 5 s, neither better at keeping neighbours), UMAP's epochs (100 instead of 200
saved 3.5 s but kept 0.438 of each item's 10 nearest neighbours instead of 0.463; the shipped
map keeps 0.474), 15 neighbours. ``benchmarks/map.py --settings`` measures these again.

:class:`BackgroundMaps` is the app's: one thread computes the maps one at a time, each in a
child process at niceness 10 (no GIL shared with the requests, memory returned when it ends), and
never two for the same library version and centring; meanwhile a draw gets the last ready map,
the items added since placed by their nearest neighbours (:func:`place_on_map`).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clamp3.assets import is_demo_library
from clamp3.errors import Clamp3Error
from clamp3.io import atomic_write, cache_home
from clamp3.library.milvus import is_milvus_target, open_library
from clamp3.library.rows import LibraryItem
from clamp3.library.shipped_map import read_shipped_map
from clamp3.library.store import Library
from clamp3.retrieval import exact_top_k, normalize

logger = logging.getLogger(__name__)

NEIGHBOURS = 15  # UMAP's n_neighbors (its default)
PROJECTED_DIMS = 50  # neighbour candidates are found in this many dimensions...
CANDIDATES = 30  # ...this many per item, then re-ranked by exact cosine
EXACT_NEIGHBOURS_UP_TO = 50_000  # above, UMAP's approximate search (the exact one grows as N²)
RERANK_ROWS = 1024  # items re-ranked at a time: (1024, 30, D) candidate vectors
SEED = 42
NICENESS = 10  # the map's child process: the requests' work first (the readers run at 10 too)
POLL_SECONDS = 30.0  # how often the app looks for a library changed elsewhere (clamp3 index add)
FIRST_MAP_WAIT_SECONDS = 25.0  # a draw with no map ready at all waits this long for the first one
# What a map costs before one was computed here (then the last one's rate is used): the demo
# library's 12,814 items took 28-35 s on 2 loaded cores, centred or not (benchmarks/map.py).
MAP_SECONDS_FIXED, MAP_SECONDS_PER_ITEM = 4.0, 0.0025
SHIPPED = -1  # the version of a shipped map.csv: it has none, and holds while the library holds its items
CACHE_NAME = re.compile(r"map-(?P<fingerprint>\w+)-v(?P<version>\d+)-(?P<modality>\w+)-(?P<center>[cn])\.(?P<kind>npz|npy)")


@dataclass(frozen=True)
class MapPoints:
    """The 2-d points (N, 2) of a library's items ``ids`` (N,) of the vectors of ``version`` (``Library.vectors_version``)."""

    version: int
    ids: np.ndarray
    points: np.ndarray

    def __post_init__(self):
        if self.ids.ndim != 1 or self.points.shape != (len(self.ids), 2):
            raise ValueError(f"a map's ids {self.ids.shape} and points {self.points.shape} do not match")


# --- computing ----------------------------------------------------------------------------------
def unit_rows(vectors: np.ndarray, modalities: Sequence[str] | None = None, center: bool = False) -> np.ndarray:
    """(N, D) -> unit rows (N, D); with ``center``, each modality's mean subtracted first."""
    x = normalize(vectors).copy()
    if center and modalities is not None:
        modalities = np.asarray(modalities)
        for modality in set(modalities.tolist()):
            x[modalities == modality] -= x[modalities == modality].mean(axis=0)
    return normalize(x)


def nearest_neighbours(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows (N, D) -> indices and cosine distances (N, k) of each row's ``k`` nearest rows
    (itself among them), nearest first: candidates from a projection on the leading eigenvectors of
    ``XᵀX``, re-ranked by exact cosine (see the module's docstring)."""
    if x.shape[1] <= PROJECTED_DIMS or len(x) <= CANDIDATES:
        scores, indices = exact_top_k(x, x, k)
        return indices, np.maximum(0.0, 1.0 - scores).astype(np.float32)
    _, eigenvectors = np.linalg.eigh(x.T.astype(np.float64) @ x)  # ascending eigenvalues
    projected = np.ascontiguousarray(x @ eigenvectors[:, -PROJECTED_DIMS:].astype(np.float32))  # (N, 50)
    _, candidates = exact_top_k(projected, projected, CANDIDATES)  # (N, 30)
    indices, scores = np.empty((len(x), k), np.int64), np.empty((len(x), k), np.float32)
    for start in range(0, len(x), RERANK_ROWS):
        rows = slice(start, start + RERANK_ROWS)
        exact = np.einsum("nd,nkd->nk", x[rows], x[candidates[rows]])  # (rows, 30)
        order = np.argsort(-exact, axis=1, kind="stable")[:, :k]
        indices[rows] = np.take_along_axis(candidates[rows], order, axis=1)
        scores[rows] = np.take_along_axis(exact, order, axis=1)
    return indices, np.maximum(0.0, 1.0 - scores).astype(np.float32)


_compilation_cached = False


def cache_umap_compilation() -> None:
    """Keep the machine code numba compiles for UMAP in ``cache_home()/numba``, for the next process.

    UMAP compiles its graph and layout functions (two of them numba-parallel) in every process that
    uses them: 6.5-10 s of each map's process, 0.8 s once cached. UMAP asks numba to cache only a
    few small ones; the others are set to cache here, into a folder of ours (numba checks each
    entry against the source file and the CPU it was compiled for). What numba cached already keeps
    its place: pynndescent compiles much at import, and a new folder for that would cost 30 s once.
    Where numba's interface for it is missing, nothing is cached.
    """
    global _compilation_cached
    if _compilation_cached:
        return
    _compilation_cached = True
    try:
        import numba
        import umap.layouts
        import umap.umap_
        import umap.utils
        from numba.core.caching import NullCache
        from numba.core.dispatcher import Dispatcher
    except ImportError:
        return
    folder, numba.config.CACHE_DIR = numba.config.CACHE_DIR, str(cache_home() / "numba")
    try:  # the folder is read when caching is enabled: it holds for these functions only
        for module in (umap.umap_, umap.layouts, umap.utils):
            for function in list(vars(module).values()):
                if isinstance(function, Dispatcher) and isinstance(getattr(function, "_cache", None), NullCache):
                    function.enable_caching()
    except (AttributeError, OSError, RuntimeError) as exc:
        logger.info("numba's compilation of UMAP is not cached (%s)", exc)
    finally:
        numba.config.CACHE_DIR = folder


def umap_coordinates(vectors: np.ndarray, modalities: Sequence[str] | None = None, center: bool = False, seed: int = SEED) -> np.ndarray:
    """(N, D) -> (N, 2) UMAP with the cosine metric, the same for the same input and seed.

    With ``center``, each modality's mean is subtracted first, so that scores, MIDI and audio of
    the same styles overlay instead of forming one cluster per modality.
    """
    import umap

    cache_umap_compilation()
    x = unit_rows(vectors, modalities, center)
    neighbours = max(2, min(NEIGHBOURS, len(x) - 1))
    knn = nearest_neighbours(x, neighbours) if len(x) <= EXACT_NEIGHBOURS_UP_TO else None
    reducer = umap.UMAP(
        n_components=2, metric="cosine", n_neighbors=neighbours, random_state=seed, init="random", n_jobs=1,
        precomputed_knn=(*knn, None) if knn is not None else (None, None, None),
    )
    with warnings.catch_warnings():  # "no NNDescent object: transform unavailable" (a map needs no transform)
        warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
        return reducer.fit_transform(x).astype(np.float32)


def compute_map(library: Library, modality: str | None = None, center: bool = False) -> MapPoints:
    """The map of ``library``'s items (of ``modality``) as it is now: ids, vectors and modalities
    read at one version (read again if a writer changed it meanwhile), the map of its vectors' version."""
    for _ in range(3):
        version, vectors = library.version, library.vectors_version
        ids, matrix = library.matrix()
        rows = library.items(modality)
        if library.version == version:
            break
    kinds = {r.id: r.modality for r in rows}
    keep = np.isin(ids, np.fromiter(kinds, np.int64, len(kinds)))
    if keep.sum() < 3:
        raise Clamp3Error(f"{library.directory}: a map needs at least 3 items, the library has {int(keep.sum())}")
    ids = ids[keep]
    points = umap_coordinates(matrix[keep], [kinds[i] for i in ids.tolist()], center=center)
    return MapPoints(vectors, ids.astype(np.int64), points)


def place_on_map(vectors: np.ndarray, library_vectors: np.ndarray, points: np.ndarray, k: int = 10) -> np.ndarray:
    """(Q, D) new vectors -> (Q, 2) positions on an existing map: the weighted medoid of their ``k``
    nearest items' points, the one of those points whose distance to the others, weighted by
    similarity (exp((cos - 1) / 0.05)), is least. ``library_vectors`` are unit rows (N, D) with
    their ``points`` (N, 2).

    Chosen by benchmarks/pin.py on the demo library (one UMAP map, 300 held-out items, 211 text
    queries): the placement keeps 0.50 of a held-out item's 10 nearest among its 10 nearest on the
    map (0.45 for the weighted mean used before, 0.43 for UMAP's own ``transform``) and 0.28 of a
    text query's (0.07 before, 0.16 for ``transform``): a text query's neighbours often lie in two
    regions of the map, and their mean fell between them, where none of them is."""
    if not len(vectors):
        return np.zeros((0, 2), np.float32)
    cosines, nearest = exact_top_k(library_vectors, normalize(vectors), k)  # (Q, k), scored in blocks
    weights = np.exp((cosines - 1.0) / 0.05)
    weights /= weights.sum(axis=1, keepdims=True)
    candidates = points[nearest]  # (Q, k, 2)
    spread = np.linalg.norm(candidates[:, :, None] - candidates[:, None], axis=-1)  # (Q, k, k)
    best = np.argmin(np.einsum("qkj,qj->qk", spread, weights), axis=1)
    return candidates[np.arange(len(vectors)), best].astype(np.float32)


# --- the cache ----------------------------------------------------------------------------------
def cache_folder(library: Library) -> Path:
    """Where ``library``'s maps are kept: beside it, or (read-only, or the shipped demo library,
    which is never written) under ``cache_home()/maps``."""
    if library.read_only or is_demo_library(library.directory):
        digest = hashlib.sha256(str(library.directory.resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return cache_home() / "maps" / digest
    return library.directory


def cache_name(fingerprint: str, version: int, modality: str | None, center: bool) -> str:
    return f"map-{fingerprint}-v{version}-{modality or 'all'}-{'c' if center else 'n'}.npz"


def write_points(path: Path, points: MapPoints) -> None:
    """``path`` (.npz: version, ids, points), written atomically."""
    atomic_write(path, lambda handle: np.savez(handle, version=np.int64(points.version), ids=points.ids, points=points.points))


def read_points(path: Path) -> MapPoints | None:
    """A map written by :func:`write_points`, or None for a file that is not one (nothing pickled is read)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return MapPoints(int(data["version"]), data["ids"].astype(np.int64), data["points"].astype(np.float32))
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None


def _caches(folder: Path, modality: str | None, center: bool) -> list[tuple[Path, re.Match]]:
    wanted = (modality or "all", "c" if center else "n")
    found = []
    for path in folder.glob("map-*.np[yz]") if folder.is_dir() else []:
        match = CACHE_NAME.fullmatch(path.name)
        if match and (match["modality"], match["center"]) == wanted:
            found.append((path, match))
    return found


def read_cached(folder: Path, fingerprint: str, modality: str | None, center: bool) -> MapPoints | None:
    """The newest map of this model's vectors (of ``modality``, centred or not) cached in ``folder``."""
    ours = [(int(m["version"]), p) for p, m in _caches(folder, modality, center) if m["kind"] == "npz" and m["fingerprint"] == fingerprint]
    for version, path in sorted(ours, reverse=True):
        points = read_points(path)
        if points is not None and points.version == version:
            return points
    return None


def save_map(folder: Path, fingerprint: str, points: MapPoints, modality: str | None, center: bool) -> Path:
    """Write ``points`` into the cache, then remove the older maps of this modality and centring
    (other versions, other models', the ``.npy`` files of earlier releases). Raises OSError where
    ``folder`` cannot be written."""
    path = folder / cache_name(fingerprint, points.version, modality, center)
    write_points(path, points)
    for old, match in _caches(folder, modality, center):
        if old != path and (match["kind"] == "npy" or match["fingerprint"] != fingerprint or int(match["version"]) < points.version):
            old.unlink(missing_ok=True)
    return path


def shipped_points(library: Library) -> MapPoints | None:
    """The ``map.csv`` the library ships with (per-modality centred, all items), if any."""
    table = read_shipped_map(library.directory)
    if not table:
        return None
    ids = np.fromiter(table, np.int64, len(table))
    order = np.argsort(ids)
    return MapPoints(SHIPPED, ids[order], np.asarray(list(table.values()), np.float32)[order])


def library_map(library: Library, modality: str | None = None, center: bool = False, save: bool = True) -> tuple[list[LibraryItem], np.ndarray]:
    """The library's items and their (N, 2) coordinates, computed here unless cached for this version.

    A shipped ``map.csv`` is used as it is while the library holds exactly its items. With
    ``save``, a computed map is cached (see :func:`cache_folder`). For one caller at a time (the
    CLI): the app's visitors share :class:`BackgroundMaps`.
    """
    rows = library.items(modality)
    if len(rows) < 3:
        raise Clamp3Error(f"{library.directory}: a map needs at least 3 items, the library has {len(rows)}")
    ids = np.asarray([r.id for r in rows], np.int64)
    folder, fingerprint = cache_folder(library), library.meta().get("fingerprint", "x")
    candidates = [shipped_points(library) if center and modality is None else None, read_cached(folder, fingerprint, modality, center)]
    version = library.vectors_version
    ready = next((c for c in candidates if c is not None and c.version in (version, SHIPPED) and np.array_equal(c.ids, ids)), None)
    if ready is None:
        ready = compute_map(library, modality, center)
        if save:
            try:
                save_map(folder, fingerprint, ready, modality, center)
            except OSError as exc:  # the map is still returned; the next call computes it again
                logger.info("%s: the map is not cached (%s)", folder, exc)
        rows = [r for r, mapped in zip(rows, np.isin(ids, ready.ids)) if mapped]  # items added meanwhile wait for the next map
        ids = np.asarray([r.id for r in rows], np.int64)
    return rows, ready.points[np.searchsorted(ready.ids, ids)]


# --- in the background, for the app -------------------------------------------------------------
@dataclass(frozen=True)
class MapView:
    """What a draw shows: ``rows`` and their ``points`` (N, 2), and a line saying what the map is
    when it is not the map of the library as it is now (empty when it is)."""

    rows: list[LibraryItem]
    points: np.ndarray
    status: str = ""


@dataclass
class _Shown:
    """A map as drawn for one library version: its rows and points, and how it was made up."""

    version: int
    ready_version: int
    rows: list[LibraryItem]
    points: np.ndarray
    placed: int  # items the ready map lacks, placed by their nearest neighbours
    removed: int  # items of the ready map no longer in the library


@dataclass
class _Flag:
    """The state of one map (centred or not) of the library."""

    ready: MapPoints | None = None
    loaded: bool = False  # the cache on disk and the shipped map were looked at
    current_at: int | None = None  # the library version ``ready`` was found to be up to date at
    failed_at: int | None = None  # a version whose computation failed (not tried again)
    shown: _Shown | None = None


class BackgroundMaps:
    """The maps of one library (all its items; centred and not, ``flags``) for every visitor of the app.

    Each is computed once per library version, by one thread, one at a time, in a child process
    at niceness 10 (``python -m clamp3.library.maps``). A computation starts at :meth:`refresh`
    (the app's start: the maps not in the cache), at :meth:`changed` (the app changed the library),
    when a draw finds its map out of date, and when the thread, looking every ``poll`` seconds,
    finds the library changed by another process (``clamp3 index add``). A draw meanwhile gets the
    last ready map (:meth:`view`). Maps are cached in :func:`cache_folder`, or kept in memory where
    that cannot be written.
    """

    def __init__(self, library: Library, flags: Sequence[bool] = (True, False), poll: float = POLL_SECONDS):
        self.library, self.flags, self.poll = library, tuple(flags), poll  # flags: centred (the app's default) first
        self.folder = cache_folder(library)
        self._flags = {center: _Flag() for center in (True, False)}
        self._wanted: list[bool] = []
        self._running: tuple[bool, float] | None = None  # (centred, time.monotonic() it started)
        self._process: subprocess.Popen | None = None
        self._changed = threading.Condition()  # guards all of the above
        self._thread: threading.Thread | None = None
        self._closed = False
        self.computed = 0  # maps computed by this object
        self._per_item = MAP_SECONDS_PER_ITEM  # seconds an item took in the last map computed

    # --- what a draw gets ---
    def view(self, center: bool, wait: float = FIRST_MAP_WAIT_SECONDS, waiting: Callable[[str], None] | None = None) -> MapView:
        """The map of the library as it is now; while that is being computed, the last ready one
        (its removed items left out, the items added since placed by their nearest neighbours) with
        a status line; with none ready at all, waits up to ``wait`` seconds for the first, telling
        ``waiting`` what is being done about once a second."""
        center = bool(center)
        deadline = time.monotonic() + wait
        rows, read_at = [], None
        while True:
            version, vectors = self.library.version, self.library.vectors_version  # (the rows', the points')
            with self._changed:
                flag = self._flags[center]
                shown = flag.shown
                fresh = shown is not None and flag.ready is not None and (shown.version, shown.ready_version) == (version, flag.ready.version)
            if not fresh:
                if read_at != version:  # read once per version, not on each round of waiting
                    rows, read_at = self.library.items(), version
                    if len(rows) < 3:
                        raise Clamp3Error(f"a map needs at least 3 items, the library has {len(rows)}")
                    ids = np.asarray([r.id for r in rows], np.int64)
                self._settle(center, vectors, ids)
                shown = self._assemble(center, version, rows, ids)
            if shown is not None:
                with self._changed:
                    current = flag.current_at == vectors
                return MapView(shown.rows, shown.points, "" if current else self._status(center, vectors, shown))
            with self._changed:
                if flag.failed_at == vectors:
                    raise Clamp3Error("the map could not be computed (the server's log says why)")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Clamp3Error(f"the map of {len(rows):,} items is being computed{self._since(center, len(rows))}; "
                                      "draw again in a moment")
                line = f"building the map: UMAP on {len(rows):,} items{self._since(center, len(rows))}"
            if waiting is not None:
                waiting(line)
            with self._changed:
                self._changed.wait(min(left, 1.0))

    def refresh(self) -> None:
        """Bring the maps of ``flags`` up to date with the library: each one that is not is computed, in turn."""
        version, ids = self.library.vectors_version, None
        for center in self.flags:
            with self._changed:
                self._start()
                flag = self._flags[center]
                if version in (flag.current_at, flag.failed_at):
                    continue
            if ids is None:
                ids = np.asarray([r.id for r in self.library.items()], np.int64)
            if len(ids) >= 3:
                self._settle(center, version, ids)

    def changed(self) -> None:
        """The library was changed: its maps are brought up to date, once they are in use (after
        :meth:`refresh` or a draw: the thread has started)."""
        if self._thread is not None:
            self.refresh()

    def close(self) -> None:
        """Stop: the thread ends, a computation going on is killed."""
        with self._changed:
            self._closed = True
            process = self._process
            self._changed.notify_all()
        if process is not None and process.poll() is None:
            process.kill()

    # --- inside ---
    def _settle(self, center: bool, version: int, ids: np.ndarray) -> None:
        """Find whether the ready map is of ``version`` (holding the items ``ids``); if not, ask for
        its computation. The cache and the shipped map are read the first time."""
        with self._changed:
            self._start()  # in use from now on: the thread looks for changes made elsewhere
            flag = self._flags[center]
            if not flag.loaded:
                flag.loaded = True
                flag.ready = read_cached(self.folder, self._fingerprint(), None, center)
                shipped = shipped_points(self.library) if center else None
                if shipped is not None and (flag.ready is None or np.array_equal(shipped.ids, ids)):
                    flag.ready = shipped
            ready = flag.ready
            if ready is not None and ready.version in (version, SHIPPED) and np.array_equal(ready.ids, ids):
                flag.current_at = version
            if flag.current_at == version or flag.failed_at == version:
                return
            running = self._running is not None and self._running[0] == center
            if center not in self._wanted and not running:
                self._wanted.append(center)
                self._changed.notify_all()

    def _assemble(self, center: bool, version: int, rows: list[LibraryItem], ids: np.ndarray) -> _Shown | None:
        """The library's items now on the ready map: those it lacks placed by their nearest
        neighbours among those it holds; None when it holds too few of them."""
        with self._changed:
            flag = self._flags[center]
            ready = flag.ready
        if ready is None:
            return None
        position = np.minimum(np.searchsorted(ready.ids, ids), len(ready.ids) - 1)
        mapped = ready.ids[position] == ids  # (N,) the items the ready map holds
        if mapped.sum() < 3:
            return None
        points = np.empty((len(ids), 2), np.float32)
        points[mapped] = ready.points[position[mapped]]
        if not mapped.all():
            vectors = self.library.vectors_of(ids.tolist())
            points[~mapped] = place_on_map(vectors[~mapped], vectors[mapped], points[mapped])
        shown = _Shown(version, ready.version, rows, points, int((~mapped).sum()), len(ready.ids) - int(mapped.sum()))
        with self._changed:
            if flag.ready is ready:
                flag.shown = shown
        return shown

    def _status(self, center: bool, version: int, shown: _Shown) -> str:
        what = "the shipped map" if shown.ready_version == SHIPPED else f"the map of library version {shown.ready_version}"
        changes = []
        if shown.placed:
            changes.append(f"{shown.placed:,} item{'s' if shown.placed != 1 else ''} added since, placed by nearest neighbours")
        if shown.removed:
            changes.append(f"{shown.removed:,} removed since, left out")
        line = f"Showing {what}" + (f" ({'; '.join(changes)})" if changes else "") + f"; the library is at version {version}. "
        with self._changed:
            running = self._running is not None and self._running[0] == center
            failed = self._flags[center].failed_at == version
        if running:
            return line + f"The up-to-date map is being computed{self._since(center, len(shown.rows))}: draw again in a moment to see it."
        if failed:
            return line + "The up-to-date map could not be computed (the server's log says why)."
        return line + "The up-to-date map is computed next."

    def _since(self, center: bool, items: int) -> str:
        """How far the computation of the map (centred or not) of ``items`` items is, as " (started
        12 s ago, about 40 s in all)"; empty when it has not started."""
        running = self._running
        if running is None or running[0] != center:
            return ""
        expected = MAP_SECONDS_FIXED + self._per_item * items
        return f" (started {time.monotonic() - running[1]:.0f} s ago, about {expected:.0f} s in all)"

    def _fingerprint(self) -> str:
        return self.library.meta().get("fingerprint", "x")

    def _start(self) -> None:
        """The thread, once the maps are first asked for (called holding ``_changed``)."""
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._work, name="library-maps", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._changed:
                if not self._wanted and not self._closed:
                    self._changed.wait(self.poll)
                if self._closed:
                    return
                center = self._wanted.pop(0) if self._wanted else None
                if center is not None:
                    self._running = (center, time.monotonic())
            try:
                if center is None:
                    self.refresh()  # the library may have been changed by another process
                else:
                    self._compute(center)
            except Exception:  # the thread must live on: the next change or draw tries again
                logger.exception("the map's background thread")
            finally:
                with self._changed:
                    self._running = None
                    self._changed.notify_all()

    def _compute(self, center: bool) -> None:
        version = self.library.vectors_version
        with self._changed:
            flag = self._flags[center]
            if version in (flag.current_at, flag.failed_at):
                return
        started = time.perf_counter()
        try:
            points = self._run_child(center)
        except Clamp3Error as exc:
            if self._closed:  # killed by close()
                return
            logger.warning("the map (%s) of %s at version %d could not be computed: %s",
                           "centred" if center else "not centred", self.library.directory, version, exc)
            with self._changed:
                flag.failed_at = version
            return
        try:
            save_map(self.folder, self._fingerprint(), points, None, center)
        except OSError as exc:
            logger.info("%s: the map is kept in memory only (%s)", self.folder, exc)
        took = time.perf_counter() - started
        with self._changed:
            flag.ready, flag.shown, flag.current_at = points, None, points.version
            self.computed += 1
            self._per_item = max(0.0, took - MAP_SECONDS_FIXED) / max(1, len(points.ids))
        logger.info("map (%s) of %d items, library version %d, computed in %.1f s", "centred" if center else "not centred",
                    len(points.ids), points.version, took)
        if self.library.vectors_version != points.version:  # changed meanwhile: once more, for the newest version
            with self._changed:
                if center not in self._wanted:
                    self._wanted.append(center)

    def _run_child(self, center: bool) -> MapPoints:
        """The map computed by ``python -m clamp3.library.maps`` at niceness 10."""
        import clamp3

        with tempfile.TemporaryDirectory(prefix="clamp3-map-") as scratch:
            out = Path(scratch) / "map.npz"
            target = self.library.location if is_milvus_target(self.library.location) else str(self.library.directory.resolve())
            command = [sys.executable, "-m", "clamp3.library.maps", target, str(out)]
            command += ["--center"] if center else []
            with self._changed:
                if self._closed:
                    raise Clamp3Error("closed")
                # from the folder above the package, so the child imports this very package
                self._process = process = subprocess.Popen(
                    command, cwd=Path(clamp3.__file__).resolve().parents[1], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )
            try:
                os.setpriority(os.PRIO_PROCESS, process.pid, NICENESS)
            except (AttributeError, OSError):  # not a POSIX system, or it has ended already
                pass
            _, errors = process.communicate()
            with self._changed:
                self._process = None
            if process.returncode != 0:
                last = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
                raise Clamp3Error(last[0])
            points = read_points(out)
        if points is None:
            raise Clamp3Error("the map's process wrote no map")
        return points


def main(argv: list[str] | None = None) -> int:
    """``python -m clamp3.library.maps LIBRARY OUT.npz [--center] [--modality M]``: the map of a
    library as it is now, written to ``OUT`` (:class:`BackgroundMaps` runs this); the library is
    opened read-only."""
    parser = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    parser.add_argument("library")
    parser.add_argument("out")
    parser.add_argument("--center", action="store_true")
    parser.add_argument("--modality", default=None)
    args = parser.parse_args(argv)
    library = open_library(args.library, read_only=True)
    try:
        write_points(Path(args.out), compute_map(library, args.modality, args.center))
    except Clamp3Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
