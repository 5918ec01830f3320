"""The library's store: items, metadata and vectors in SQLite, searched exactly or
through a FAISS index.

SQLite (WAL mode) is the single source of truth. Files are embedded in chunks, and each chunk
is one transaction: a crash in the middle of ``add`` leaves every earlier chunk committed and
the library readable, and the next ``add`` carries on where it stopped (unchanged files, known
by content hash, cost nothing). The FAISS index is derived data, written atomically with the
library version it was built from, and rebuilt whenever the versions differ.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clamp3.batch import BatchJob, BatchReport, Outcome, run_batch
from clamp3.errors import Clamp3Error, Hint, InputError
from clamp3.formats import SUPPORTED_EXTENSIONS
from clamp3.io import Shard, file_digest
from clamp3.library.rows import Hit, LibraryItem
from clamp3.retrieval import build_hnsw, exact_top_k, normalize

logger = logging.getLogger(__name__)

DB_NAME = "library.sqlite3"
ANN_NAME = "ann.faiss"
DEFAULT_ANN_THRESHOLD = 100_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    modality TEXT NOT NULL,
    title TEXT NOT NULL,
    metadata TEXT NOT NULL,
    vector BLOB NOT NULL,
    added REAL NOT NULL,
    UNIQUE (path, name)
);
CREATE INDEX IF NOT EXISTS items_path ON items (path);
CREATE INDEX IF NOT EXISTS items_modality ON items (modality);
"""
ITEM_COLUMNS = "id, path, name, modality, title, metadata"  # what a LibraryItem is made of


class LibraryError(Clamp3Error):
    """A library that cannot be opened or used as asked (wrong model, empty, busy)."""


def model_identity(model) -> dict[str, str]:
    """Name, fingerprint and dimension of a model; vectors of different models never mix."""
    digest = hashlib.sha256()
    for name in ("text_proj", "symbolic_proj", "audio_proj"):
        digest.update(getattr(model, name).weight.detach().float().cpu().numpy().tobytes()[:1 << 20])
    return {
        "model": str(getattr(model, "name_or_path", "") or "unnamed"),
        "fingerprint": digest.hexdigest()[:16],
        "dim": str(model.config.projection_size),
    }


@dataclass
class AddReport(BatchReport):
    """A batch report whose outputs are library items (their keys); unchanged files are its skipped ones."""

    replaced: int = 0  # changed files whose old items were replaced
    unknown_sidecar_paths: list[str] = field(default_factory=list)

    @property
    def added(self) -> int:
        return len(self.written)

    @property
    def unchanged(self) -> int:
        return self.skipped

    def summary(self) -> str:
        return (
            f"added {self.added} items, re-embedded {self.replaced} changed files, {self.unchanged} files unchanged, "
            f"failed {len(self.failures)}"
        )


class _AddJob(BatchJob):
    """``Library.add`` as a batch job: a file is done when its content hash is in the library; the
    items of a chunk of files are committed in one transaction."""

    extensions = SUPPORTED_EXTENSIONS
    progress_label = "indexing"

    def __init__(self, library: Library, embedder, identity: dict[str, str], sidecar: dict[str, dict[str, str]], workers: int):
        self.library, self.embedder, self.identity, self.sidecar, self.workers = library, embedder, identity, sidecar, workers
        self.known = dict(library.db.execute("SELECT DISTINCT path, content_hash FROM items"))
        self.digests: dict[Path, str] = {}
        self.used_sidecar: set[str] = set()
        self.rows: list[tuple] = []

    def done(self, path: Path, base: Path) -> int:
        try:
            digest = file_digest(path)
        except OSError as exc:
            raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
        if self.known.get(self.library._key(path)) == digest:
            return 1
        self.digests[path] = digest
        return 0

    def run(self, paths: list[Path]) -> Iterator[Outcome]:
        for result in self.embedder.encode_files(paths, workers=self.workers, progress=False):
            yield Outcome(result.source, result.item.name if result.item else "", result, result.error)

    def write(self, source: Path, base: Path, outcomes: list[Outcome], report: BatchReport) -> None:
        from clamp3.metadata import read_metadata

        key = self.library._key(source)
        digest = self.digests.get(source) or file_digest(source)  # done() is skipped when overwriting
        for outcome in outcomes:
            result = outcome.value
            metadata = read_metadata(result.item)
            for candidate in (str(source.relative_to(base)), str(source), key, result.item.name):
                if candidate in self.sidecar:
                    metadata.update(self.sidecar[candidate])
                    self.used_sidecar.add(candidate)
            vector = np.asarray(result.embedding, dtype=np.float32).reshape(-1)
            if not np.isfinite(vector).all():
                report.fail(f"{source}: the model produced a non-finite vector")
                continue
            self.rows.append((key, result.item.name, digest, result.item.modality, metadata.pop("title"),
                              json.dumps(metadata, ensure_ascii=False), vector.tobytes(), time.time()))

    def commit(self, report: AddReport) -> None:
        """One transaction: the chunk's new rows, replacing the old rows of its changed files."""
        replaced = sorted({row[0] for row in self.rows if row[0] in self.known})
        self.library._commit_chunk(self.rows, replaced, self.identity)
        report.written.extend((row[0], row[1]) for row in self.rows)
        report.replaced += len(replaced)
        self.rows = []


class Library:
    """A library folder. :meth:`open` it with the model whose vectors it holds: the model is
    checked once and remembered for :meth:`add`. ``Library(directory)`` opens it without a model
    (to list, prune or search with vectors from elsewhere)."""

    def __init__(self, directory: str | Path, create: bool = False, ann_threshold: int = DEFAULT_ANN_THRESHOLD):
        self.directory = Path(directory)
        self.ann_threshold = ann_threshold
        db = self.directory / DB_NAME
        if not db.exists() and not create:
            raise LibraryError(f"{self.directory}: no library here", hint=Hint("give a library, or add music to create one", "index"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.db = self._open(db)
        self._cache: tuple[int, np.ndarray, np.ndarray] | None = None
        self._ann = None
        self._model = None  # the model last checked by use_model, and its identity
        self._identity: dict[str, str] = {}

    @classmethod
    def open(
        cls, directory: str | Path, model=None, create: bool = False, ann_threshold: int = DEFAULT_ANN_THRESHOLD
    ) -> Library:
        """Open (with ``create``, create) the library at ``directory``; with ``model``, refuse a
        library of another model's vectors, naming both (see :meth:`use_model`)."""
        library = cls(directory, create=create, ann_threshold=ann_threshold)
        if model is not None:
            try:
                library.use_model(model)
            except LibraryError:
                library.close()
                raise
        return library

    @staticmethod
    def _open(db: Path, timeout: float = 60.0) -> sqlite3.Connection:
        """Connect, switch to WAL and create the tables if missing. Processes that open a new
        library at once (``torchrun ... index add --shard auto``) can find it locked while one
        of them switches the journal, which SQLite reports at once rather than waiting: retried
        until ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            connection = None
            try:
                connection = sqlite3.connect(db, timeout=timeout, isolation_level=None, check_same_thread=False)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.executescript(SCHEMA)  # every statement is IF NOT EXISTS: safe to run again
                return connection
            except sqlite3.DatabaseError as exc:
                if connection is not None:
                    connection.close()
                locked = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
                if not locked or time.monotonic() > deadline:
                    raise LibraryError(f"{db}: not a readable library ({exc})") from exc
                time.sleep(0.02 + 0.08 * random.random())

    # --- metadata of the library -------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    @property
    def version(self) -> int:
        return int(self.meta().get("version", 0))

    def check_model(self, identity: dict[str, str]) -> None:
        """Refuse vectors of another model, naming both."""
        meta = self.meta()
        if "fingerprint" not in meta:
            return
        if meta["fingerprint"] != identity["fingerprint"] or meta["dim"] != identity["dim"]:
            raise LibraryError(
                f"{self.directory} holds vectors of model '{meta['model']}' ({meta['dim']}-d, {meta['fingerprint']}); "
                f"the model in use is '{identity['model']}' ({identity['dim']}-d, {identity['fingerprint']}): "
                f"search with the library's model, or build a new library"
            )

    def use_model(self, model) -> dict[str, str]:
        """Check that ``model``'s vectors belong in this library and return its identity. The
        identity (a hash of the projections) is computed once per model object and remembered; the
        check against the library runs every time, since another process may fill an empty library."""
        if self._model is not model:
            self._model, self._identity = model, model_identity(model)
        self.check_model(self._identity)
        return self._identity

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    def info(self) -> dict:
        meta = self.meta()
        by_modality = dict(self.db.execute("SELECT modality, COUNT(*) FROM items GROUP BY modality"))
        files = self.db.execute("SELECT COUNT(DISTINCT path) FROM items").fetchone()[0]
        size = sum(p.stat().st_size for p in self.directory.glob(f"{DB_NAME}*"))
        return {"items": len(self), "files": files, "by_modality": by_modality, "bytes": size, **meta}

    # --- writing ------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction: BEGIN IMMEDIATE (waits up to the busy timeout for another
        writer), COMMIT at the end, ROLLBACK on any exception (an interrupt too), so a change is
        there whole or not at all."""
        cursor = self.db.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException as exc:
            if self.db.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
                cursor.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and "locked" not in str(exc):
                raise LibraryError(f"{self.directory}: cannot write to the library ({exc}); nothing of this change was written") from exc
            raise

    @staticmethod
    def _bump_version(cursor: sqlite3.Cursor) -> None:
        """A new version of the items: the cached matrix and the ANN index of the old one are stale."""
        cursor.execute(
            "INSERT INTO meta VALUES ('version', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def _commit_chunk(self, rows: list[tuple], replaced_paths: Iterable[str], identity: dict[str, str]) -> None:
        """One transaction: drop the old rows of changed files, insert the new rows, bump the version."""
        with self._transaction() as cursor:
            meta = dict(cursor.execute("SELECT key, value FROM meta"))
            if "fingerprint" in meta and meta["fingerprint"] != identity["fingerprint"]:
                raise LibraryError(f"{self.directory}: another model wrote to this library meanwhile")
            for key, value in identity.items():
                cursor.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
            cursor.executemany("DELETE FROM items WHERE path = ?", [(p,) for p in replaced_paths])
            cursor.executemany(
                "INSERT OR REPLACE INTO items (path, name, content_hash, modality, title, metadata, vector, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._bump_version(cursor)

    def add(
        self,
        sources: Sequence[str | Path],
        embedder,
        sidecar: dict[str, dict[str, str]] | None = None,
        workers: int = 0,
        chunk_files: int = 32,
        progress: bool = True,
        shard: Shard | None = None,
        words: dict[str, str] | None = None,
    ) -> AddReport:
        """Embed new and changed files under ``sources``; unchanged files are skipped by hash.
        With ``shard``, only that part of the files (several processes can fill one library).
        ``words``: the caller's names for the settings that hints of bad files name."""
        identity = self.use_model(embedder.model)
        sidecar = dict(sidecar or {})
        job = _AddJob(self, embedder, identity, sidecar, workers)
        report = run_batch(job, sources, AddReport(words=words), shard, progress=progress, chunk_files=chunk_files)
        report.unknown_sidecar_paths = sorted(set(sidecar) - job.used_sidecar)
        return report

    def rebuild(self, embedder, target: str | Path, progress: bool = True) -> Library:
        """A new library at ``target`` with this library's files and metadata (titles included),
        embedded by ``embedder``: the library of another model, e.g. one just trained."""
        rows = self.items()
        sidecar = {r.path: {"title": r.title, **r.metadata} for r in rows}
        files = sorted({r.path for r in rows})
        library = Library.open(target, model=embedder.model, create=True)
        library.add(files, embedder, sidecar=sidecar, progress=progress)
        return library

    def _key(self, path: Path) -> str:
        """The stored path: relative to the library folder for files inside it (a library that
        ships with its music stays valid wherever it is copied), absolute for the others."""
        resolved = path.resolve()
        try:
            return resolved.relative_to(self.directory.resolve()).as_posix()
        except ValueError:
            return str(resolved)

    def absolute(self, stored: str) -> str:
        return stored if Path(stored).is_absolute() else str(self.directory / stored)

    def prune(self) -> list[str]:
        """Drop the items of files that no longer exist (one transaction); returns their paths."""
        gone = [p for (p,) in self.db.execute("SELECT DISTINCT path FROM items") if not Path(self.absolute(p)).exists()]
        if gone:
            with self._transaction() as cursor:
                cursor.executemany("DELETE FROM items WHERE path = ?", [(p,) for p in gone])
                self._bump_version(cursor)
        return gone

    def remove(self, item_ids: Iterable[int]) -> int:
        """Drop the given items (one transaction); returns how many were there."""
        ids = [(int(i),) for i in item_ids]
        with self._transaction() as cursor:
            before = cursor.execute("SELECT COUNT(*) FROM items").fetchone()[0]
            cursor.executemany("DELETE FROM items WHERE id = ?", ids)
            removed = before - cursor.execute("SELECT COUNT(*) FROM items").fetchone()[0]
            if removed:
                self._bump_version(cursor)
        return removed

    # --- reading ------------------------------------------------------------------------------
    def items(
        self, modality: str | None = None, where: dict[str, str] | None = None, limit: int | None = None
    ) -> list[LibraryItem]:
        """The items (of ``modality``, whose fields equal ``where``), in the order they were added."""
        sql, params = self._filter_sql(f"SELECT {ITEM_COLUMNS} FROM items", modality, where)
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [LibraryItem(**self._fields(row)) for row in self.db.execute(sql, params)]

    def _fields(self, row: tuple) -> dict:
        """The fields of a LibraryItem from a row of ITEM_COLUMNS."""
        item_id, path, name, modality, title, metadata = row
        return {"id": item_id, "path": self.absolute(path), "name": name, "modality": modality, "title": title,
                "metadata": json.loads(metadata)}

    def fields(self) -> list[str]:
        """Every metadata key of the library, most common first (ties by name)."""
        counts = Counter(key for (key,) in self.db.execute("SELECT j.key FROM items, json_each(items.metadata) AS j"))
        return sorted(counts, key=lambda k: (-counts[k], k))

    def field_values(self, key: str, limit: int = 500) -> list[str]:
        """The values of the metadata field ``key``, most common first; none for no key."""
        if not key:
            return []
        rows = self.db.execute(
            "SELECT j.value AS v, COUNT(*) AS n FROM items, json_each(items.metadata) AS j "
            "WHERE j.key = ? AND v IS NOT NULL GROUP BY v ORDER BY n DESC, v LIMIT ?",
            (key, limit),
        )
        return [str(v) for v, _ in rows]

    @staticmethod
    def _filter_sql(sql: str, modality: str | None, where: dict[str, str] | None) -> tuple[str, list]:
        clauses, params = [], []
        if modality:
            clauses.append("modality = ?")
            params.append(modality)
        for key, value in (where or {}).items():
            if key == "title":
                clauses.append("title = ?")
            else:
                # the key is bound as a value, never written into a JSON path: any name works, none can break the query
                clauses.append("EXISTS (SELECT 1 FROM json_each(items.metadata) AS j WHERE j.key = ? AND j.value = ?)")
                params.append(key)
            params.append(value)
        return (sql + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY id"), params

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids (N,), unit vectors (N, D)), cached for the current version."""
        version = self.version
        if self._cache is None or self._cache[0] != version:
            ids, vectors = [], []
            for item_id, blob in self.db.execute("SELECT id, vector FROM items ORDER BY id"):
                ids.append(item_id)
                vectors.append(np.frombuffer(blob, dtype=np.float32))
            dim = int(self.meta().get("dim", 0))
            matrix = normalize(np.stack(vectors)) if vectors else np.zeros((0, dim), dtype=np.float32)
            self._cache = (version, np.asarray(ids, dtype=np.int64), matrix)
            self._ann = None
        return self._cache[1], self._cache[2]

    def vectors_of(self, item_ids: list[int]) -> np.ndarray:
        """Unit vectors (len(item_ids), D) of the given items, in that order."""
        ids, matrix = self.matrix()
        return matrix[np.searchsorted(ids, np.asarray(item_ids, dtype=np.int64))]

    def _ann_index(self):
        """The FAISS HNSW index of the current version, loaded, or built and saved atomically."""
        import faiss

        from clamp3.io import atomic_write

        version = self.version
        if self._ann is not None and self._ann[0] == version:
            return self._ann[1]
        ids, matrix = self.matrix()
        path, stamp = self.directory / ANN_NAME, self.directory / (ANN_NAME + ".json")
        index = None
        if path.exists() and stamp.exists():
            try:
                if json.loads(stamp.read_text())["version"] == version:
                    index = faiss.read_index(str(path))
            except (OSError, ValueError, KeyError, RuntimeError):
                index = None
        if index is None or index.ntotal != len(ids):
            logger.info("building the ANN index of %d vectors", len(ids))
            index = build_hnsw(matrix)
            atomic_write(path, lambda handle: handle.write(faiss.serialize_index(index).tobytes()))
            atomic_write(stamp, lambda handle: handle.write(json.dumps({"version": version}).encode()))
        index.hnsw.efSearch = 128
        self._ann = (version, index)
        return index

    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        modality: str | None = None,
        where: dict[str, str] | None = None,
        exact: bool | None = None,
    ) -> list[list[Hit]]:
        """Top-``k`` items for each query vector (Q, D) by cosine similarity."""
        ids, matrix = self.matrix()
        if len(ids) == 0:
            raise LibraryError(f"{self.directory}: the library is empty", hint=Hint("add music to it first", "index"))
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if queries.shape[1] != matrix.shape[1]:
            meta = self.meta()
            raise LibraryError(
                f"query vectors have {queries.shape[1]} dimensions; {self.directory} holds {matrix.shape[1]}-d vectors "
                f"of model '{meta.get('model')}'"
            )
        if not np.isfinite(queries).all():
            raise InputError("<query>", "the query vector contains NaN or infinite values")
        queries = normalize(queries)
        allowed = None
        if modality or where:
            sql, params = self._filter_sql("SELECT id FROM items", modality, where)
            allowed = np.fromiter((i for (i,) in self.db.execute(sql, params)), dtype=np.int64)
        use_ann = (len(ids) > self.ann_threshold) if exact is None else not exact
        if use_ann and (allowed is None or len(allowed) > self.ann_threshold):
            fetch = k if allowed is None else min(len(ids), k * 20)
            scores, rows = self._ann_index().search(queries, fetch)
            allowed_set = None if allowed is None else set(allowed.tolist())
            results = []
            for query_scores, query_rows in zip(scores, rows):
                pairs = [(s, ids[r]) for s, r in zip(query_scores, query_rows) if r >= 0]
                if allowed_set is not None:
                    pairs = [(s, i) for s, i in pairs if i in allowed_set]
                results.append(pairs[:k])
        else:
            rows = np.arange(len(ids)) if allowed is None else np.searchsorted(ids, allowed)
            if len(rows) == 0:
                return [[] for _ in queries]
            scores, best = exact_top_k(matrix[rows], queries, k)
            results = [[(s, ids[rows[b]]) for s, b in zip(qs, qb)] for qs, qb in zip(scores, best)]
        return [self._hits(pairs) for pairs in results]

    def _hits(self, pairs: list[tuple[float, int]]) -> list[Hit]:
        if not pairs:
            return []
        marks = ",".join("?" * len(pairs))
        rows = {
            r[0]: r for r in self.db.execute(
                f"SELECT {ITEM_COLUMNS} FROM items WHERE id IN ({marks})", [int(i) for _, i in pairs]
            )
        }
        return [Hit(rank=rank, score=float(score), **self._fields(rows[i])) for rank, (score, i) in enumerate(pairs, 1)]

    def close(self) -> None:
        self.db.close()
