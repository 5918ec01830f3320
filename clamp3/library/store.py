"""The library's store: items, metadata and vectors in SQLite, searched exactly or
through a FAISS index.

SQLite (WAL mode) is the single source of truth. Files are embedded in chunks, and each chunk
is one transaction: a crash in the middle of ``add`` leaves every earlier chunk committed and
the library readable, and the next ``add`` carries on where it stopped (unchanged files, known
by content hash, cost nothing). Adds that run at once on the same files share them out: an add
claims a chunk's files before embedding them, and the others leave those files to it (see
:meth:`Library._claim`). The vectors are also kept in a float32 file beside the database, loaded
by one memory map (see :mod:`clamp3.library.vectors`), and metadata fields in a side table
``item_fields`` indexed by (key, value), which triggers fill and empty with the items, in the same
transaction. The FAISS index is derived data, written atomically with the library version it was
built from, and rebuilt whenever the versions differ.

A library on read-only storage (or opened with ``read_only``) is read as it is: no journal
switch, no schema, no vector or ANN file; changing it is refused in one line.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import random
import re
import sqlite3
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clamp3.assets import is_demo_library
from clamp3.batch import BatchJob, BatchReport, Outcome, run_batch
from clamp3.errors import Clamp3Error, Hint, InputError
from clamp3.formats import SUPPORTED_EXTENSIONS
from clamp3.io import Shard, cache_home, file_digest
from clamp3.library.ondisk import DiskIndex
from clamp3.library.rows import Hit, LibraryItem
from clamp3.library.vectors import load_vectors
from clamp3.retrieval import (
    CALIBRATION_SAMPLE,
    RowsCache,
    build_ivf,
    exact_top_k,
    ivf_search,
    merge_calibrated,
    normalize,
    rows_of,
    score_means,
)

logger = logging.getLogger(__name__)

DB_NAME = "library.sqlite3"
ANN_NAME = "ann.faiss"
ANN_KIND = "ivf-sq8"  # the index ANN_NAME holds (retrieval.build_ivf); a file of another kind is rebuilt
DEFAULT_ANN_THRESHOLD = 100_000  # exact search up to here; the in-memory inverted file (ANN_NAME) above
DEFAULT_DISK_THRESHOLD = 1_000_000  # the on-disk IVF-PQ index (clamp3.library.ondisk) above

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
CREATE TABLE IF NOT EXISTS claims (path TEXT PRIMARY KEY, owner TEXT NOT NULL, pid INTEGER NOT NULL, claimed REAL NOT NULL);
"""
# Metadata fields in a table of their own, indexed by (key, value): a filter read json_each over
# the rows that carry the vectors (2.2 s at 100,000 items). Triggers keep it with the items in the
# same transaction, whoever writes, and count in meta ``edits`` the items deleted or whose id or vector
# changed in place (the vector file may be extended only while that count stays; a change of metadata
# leaves it). One transaction adds all of it to a library made before, filling the table from the
# items' metadata.
ITEMS_CHANGED = """CREATE TRIGGER IF NOT EXISTS items_changed AFTER UPDATE OF id, metadata, vector ON items BEGIN
    DELETE FROM item_fields WHERE item_id = old.id;
    INSERT OR IGNORE INTO item_fields SELECT new.id, j.key, j.value FROM json_each(new.metadata) AS j;
    INSERT INTO meta SELECT 'edits', '1' WHERE old.id IS NOT new.id OR old.vector IS NOT new.vector
        ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1;
END;"""
VECTOR_EDITS_ONLY = "old.vector IS NOT new.vector"  # in ITEMS_CHANGED; an earlier one counted changes of metadata too
FIELDS = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS item_fields (item_id INTEGER NOT NULL, key TEXT NOT NULL, value, PRIMARY KEY (item_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_fields_value ON item_fields (key, value);
CREATE INDEX IF NOT EXISTS items_title ON items (title);
CREATE TRIGGER IF NOT EXISTS items_added AFTER INSERT ON items BEGIN
    INSERT OR IGNORE INTO item_fields SELECT new.id, j.key, j.value FROM json_each(new.metadata) AS j;
END;
CREATE TRIGGER IF NOT EXISTS items_deleted AFTER DELETE ON items BEGIN
    DELETE FROM item_fields WHERE item_id = old.id;
    INSERT INTO meta VALUES ('edits', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1;
END;
{ITEMS_CHANGED}
DELETE FROM item_fields;
INSERT OR IGNORE INTO item_fields SELECT items.id, j.key, j.value FROM items, json_each(items.metadata) AS j;
INSERT OR IGNORE INTO meta VALUES ('library', lower(hex(randomblob(16))));
COMMIT;
"""
FIELDS_DONE = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'items_changed'"  # the last thing FIELDS makes
# The fields of every item, as item_fields holds them, for a library made before it (open read-only)
FIELDS_OF_JSON = "(SELECT items.id AS item_id, j.key AS key, j.value AS value FROM items, json_each(items.metadata) AS j)"
ITEM_COLUMNS = "id, path, name, modality, title, metadata"  # what a LibraryItem is made of
# A claim holds while its process lives, at most this long: a chunk of files is embedded well within
# it; a claim left by an add that failed in a process that goes on (the app) holds others up no longer.
CLAIM_SECONDS = 15 * 60
# A keyword filter reads titles and field values with LIKE '%word%' (a scan: some 10 ms at 12,814 items,
# under a second at a million); its matches are capped, and so is the word.
KEYWORD_MATCHES = 10_000
KEYWORD_CHARACTERS = 100
# A named set of items (a selection saved on the app's map, ``clamp3 index tag``) is a metadata field
# of its members, ``set:NAME`` = ``yes``: an item can be in any number of sets, and every filter
# (``where``, the app's field = value, a map's colour) reads it with no query of its own. A name is
# what a filter, a CSV header and a dropdown show as they are: letters and digits of any script,
# spaces, ``. _ - '`` (no ``=``, which ``--where KEY=VALUE`` splits at), at most SET_CHARACTERS.
SET_PREFIX, SET_VALUE = "set:", "yes"
SET_CHARACTERS = 40
_SET_NAME = re.compile(r"\w[\w .'-]*")


def set_field(name: str) -> str:
    """The metadata field of the set ``name`` (its spaces made single, NFC): ``my reels`` ->
    ``set:my reels``; a name that cannot be one is refused in one line."""
    name = unicodedata.normalize("NFC", " ".join(str(name or "").split()))
    if not (_SET_NAME.fullmatch(name) and len(name) <= SET_CHARACTERS):
        shown = f"'{name[:SET_CHARACTERS + 10]}'" if name else "an empty name"
        raise Clamp3Error(f"{shown} cannot name a set: 1 to {SET_CHARACTERS} letters, digits, spaces, '.', '_', '-' "
                          "or \"'\", starting with a letter or digit")
    return SET_PREFIX + name


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
    """``Library.add`` as a batch job: a file is done when its content hash is in the library; a
    chunk's files are claimed before they are embedded (files another add holds are put off), and
    their items are committed in one transaction that lets the claims go."""

    extensions = SUPPORTED_EXTENSIONS
    progress_label = "indexing"

    def __init__(
        self, library: Library, embedder, identity: dict[str, str], sidecar: dict[str, dict[str, str]], workers: int,
        item_ids: dict[tuple[str, str], int] | None = None,
    ):
        self.library, self.embedder, self.identity, self.sidecar, self.workers = library, embedder, identity, sidecar, workers
        self.item_ids = item_ids or {}  # (stored path, name) -> the id an item must have (a space: its library's)
        self.known = library._known()
        self.digests: dict[Path, str] = {}
        self.used_sidecar: set[str] = set()
        self.rows: list[tuple] = []
        self.owner = uuid.uuid4().hex  # this add, among the adds of this process and others
        self.later: list[Path] = []

    def done(self, path: Path, base: Path) -> int:
        try:
            digest = file_digest(path)
        except OSError as exc:
            raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
        if self.known.get(self.library._key(path)) == digest:
            return 1
        self.digests[path] = digest
        return 0

    def claim(self, paths: list[Path]) -> list[Path]:
        digests = {path: self.digests.get(path) or file_digest(path) for path in paths}
        keys = {path: self.library._key(path) for path in paths}
        mine = self.library._claim({keys[path]: digests[path] for path in paths}, self.owner)
        self.later.extend(path for path in paths if keys[path] not in mine)
        return [path for path in paths if keys[path] in mine]

    def put_off(self) -> list[Path]:
        later, self.later = self.later, []
        if later:
            self.library._wait_for_claims({self.library._key(path) for path in later}, self.owner)
            self.known = self.library._known()
        return later

    def run(self, paths: list[Path]) -> Iterator[Outcome]:
        for result in self.embedder.encode_files(paths, workers=self.workers, progress=False):
            yield Outcome(result.source, result.item.name if result.item else "", result, result.error)

    def write(self, source: Path, base: Path, outcomes: list[Outcome], report: BatchReport) -> None:
        from clamp3.metadata import clean_metadata, read_metadata

        key = self.library._key(source)
        digest = self.digests.get(source) or file_digest(source)  # done() is skipped when overwriting
        for outcome in outcomes:
            result = outcome.value
            metadata = read_metadata(result.item)
            for candidate in (str(source.relative_to(base)), str(source), key, result.item.name):
                if candidate in self.sidecar:
                    metadata.update(self.sidecar[candidate])
                    self.used_sidecar.add(candidate)
            metadata = clean_metadata(metadata, result.item.name)  # the sidecar's fields too
            vector = np.asarray(result.embedding, dtype=np.float32).reshape(-1)
            if not np.isfinite(vector).all():
                report.fail(f"{source}: the model produced a non-finite vector")
                continue
            self.rows.append((key, result.item.name, digest, result.item.modality, metadata.pop("title"),
                              json.dumps(metadata, ensure_ascii=False), vector.tobytes(), time.time(),
                              self.item_ids.get((key, result.item.name))))

    def commit(self, report: AddReport) -> None:
        """One transaction: the chunk's new rows, replacing the old rows of its changed files; files
        that another add wrote meanwhile, with the same content, count as unchanged."""
        written, replaced = self.library._commit_chunk(self.rows, self.identity, self.owner)
        report.written.extend((row[0], row[1]) for row in written)
        report.replaced += replaced
        report.skipped += len({row[0] for row in self.rows} - {row[0] for row in written})
        self.rows = []


class BaseLibrary:
    """What every store of a library shares: the model check, adding files (the same batch job,
    the same report, resumed the same way) and the search of all modalities at once. A store
    gives ``meta``, ``version``, ``modalities``, ``search``, ``_samples`` (by version and
    modality), ``_known``, ``_key``, ``_claim``, ``_wait_for_claims``, ``_commit_chunk``,
    ``_release``, ``_check_writable`` and ``location`` (what names it in messages)."""

    _model = None  # the model last checked by use_model, and its identity
    _identity: dict[str, str] = {}

    @property
    def location(self) -> str:
        raise NotImplementedError

    def check_model(self, identity: dict[str, str]) -> None:
        """Refuse vectors of another model, naming both."""
        meta = self.meta()
        if "fingerprint" not in meta:
            return
        if meta["fingerprint"] != identity["fingerprint"] or meta["dim"] != identity["dim"]:
            raise LibraryError(
                f"{self.location} holds vectors of model '{meta['model']}' ({meta['dim']}-d, {meta['fingerprint']}); "
                f"the model in use is '{identity['model']}' ({identity['dim']}-d, {identity['fingerprint']}): "
                f"search with the library's model, or in this model's space in it (clamp3 index fill-space)"
            )

    def use_model(self, model) -> dict[str, str]:
        """Check that ``model``'s vectors belong in this library and return its identity. The
        identity (a hash of the projections) is computed once per model object and remembered; the
        check against the library runs every time, since another process may fill an empty library."""
        if self._model is not model:
            self._model, self._identity = model, model_identity(model)
        self.check_model(self._identity)
        return self._identity

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
        item_ids: dict[tuple[str, str], int] | None = None,
    ) -> AddReport:
        """Embed new and changed files under ``sources``; unchanged files are skipped by hash.
        With ``shard``, only that part of the files (several processes can fill one library).
        ``words``: the caller's names for the settings that hints of bad files name. ``item_ids``:
        (stored path, item name) -> the id the item gets (a space keeps its library's ids)."""
        self._check_writable()
        identity = self.use_model(embedder.model)
        sidecar = dict(sidecar or {})
        job = _AddJob(self, embedder, identity, sidecar, workers, item_ids)
        try:
            report = run_batch(job, sources, AddReport(words=words), shard, progress=progress, chunk_files=chunk_files)
        except BaseException:
            self._release(job.owner)
            raise
        report.unknown_sidecar_paths = sorted(set(sidecar) - job.used_sidecar)
        return report

    @staticmethod
    def _keyword(keyword: str | None) -> str:
        keyword = " ".join((keyword or "").split())
        if len(keyword) > KEYWORD_CHARACTERS:
            raise InputError("<keyword>", f"{len(keyword)} characters; a keyword may have at most {KEYWORD_CHARACTERS}")
        return keyword

    def search_mixed(
        self, queries: np.ndarray, k: int = 10, where: dict[str, str] | None = None, exact: bool | None = None,
        keyword: str | None = None,
    ) -> list[list[Hit]]:
        """Top-``k`` items of all modalities for each query vector (Q, D), fair across modalities:
        each modality searched on its own (its order kept), the lists merged by calibrated score
        (:func:`mix_modalities`); each hit's ``calibrated`` holds its calibrated score."""
        queries = normalize(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        modalities = self.modalities()
        if not modalities:
            return self.search(queries, k, None, where, exact, keyword)  # the empty library's error
        per_modality = [self.search(queries, k, m, where, exact, keyword) for m in modalities]
        means = [self.mean_scores(queries, m) for m in modalities]  # each (Q,)
        return [mix_modalities([hits[q] for hits in per_modality], [float(mean[q]) for mean in means], k)
                for q in range(len(queries))]

    def mean_scores(self, queries: np.ndarray, modality: str) -> np.ndarray:
        """The mean cosine (Q,) of unit queries (Q, D) to the items of ``modality`` (a seeded sample
        of CALIBRATION_SAMPLE of them)."""
        return score_means(queries, self._samples(self.version, modality))


def _writable(directory: Path) -> bool:
    """Whether this process may change the library in ``directory``: the folder (SQLite makes its
    -wal and -shm files there) and the database files that are there."""
    files = [directory / (DB_NAME + suffix) for suffix in ("", "-wal", "-shm")]
    return os.access(directory, os.W_OK | os.X_OK) and all(os.access(f, os.W_OK) for f in files if f.exists())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True


class Library(BaseLibrary):
    """A library folder. :meth:`open` it with the model whose vectors it holds: the model is
    checked once and remembered for :meth:`add`. ``Library(directory)`` opens it without a model
    (to list, prune or search with vectors from elsewhere).

    With ``read_only``, or when the folder or the database cannot be written (read-only storage),
    the library is opened read-only: search, items, fields, info and matrix work; add, remove and
    prune are refused."""

    def __init__(
        self, directory: str | Path, create: bool = False, ann_threshold: int = DEFAULT_ANN_THRESHOLD, read_only: bool = False,
        disk_threshold: int = DEFAULT_DISK_THRESHOLD,
    ):
        self.directory = Path(directory)
        self.ann_threshold, self.disk_threshold = ann_threshold, disk_threshold
        db = self.directory / DB_NAME
        if not db.exists() and (read_only or not create):
            raise LibraryError(f"{self.directory}: no library here", hint=Hint("give a library, or add music to create one", "index"))
        self.read_only = read_only or (db.exists() and not _writable(self.directory))
        self._storage_read_only = self.read_only and not read_only  # the storage's doing, not the caller's
        if self._storage_read_only:
            logger.info("%s: the folder or the database is not writable; opened read-only", self.directory)
        if self.read_only:
            self.db, self._reader_uri = self._open_read_only(db)
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.db, self._reader_uri = self._open(db), db.resolve().as_uri() + "?mode=ro"
        # where the table of fields is not there (a library made before it, open read-only), fields are read from the JSON
        self._fields_table = "item_fields" if self.db.execute(FIELDS_DONE).fetchone() else FIELDS_OF_JSON
        self._cache: tuple[int, int, np.ndarray, np.ndarray] | None = None  # version, edits, ids, vectors
        self._loading = threading.Lock()  # one load of the vectors at a time
        # the ids a filter allows, by library version: the app repeats its filters, and a filter that allows
        # most of a million items takes 250 ms to read from SQLite
        self._allowed_ids = functools.lru_cache(maxsize=8)(self._read_allowed)
        self._samples = functools.lru_cache(maxsize=4)(self._modality_sample)  # by (version, modality)
        # the matrix rows of recent filters' ids (the same arrays come back from the caches above and
        # from matrix()): 10 ms of a 20 ms filtered search at a million items
        self._rows = RowsCache()
        self._ann = None  # (version, index)
        self._disk: DiskIndex | None = None  # the on-disk index's latest state (perhaps of an earlier version)
        self._ann_lock = threading.Lock()  # guards _ann and _ann_builder
        self._ann_building = threading.Lock()  # one build at a time
        self._ann_builder: threading.Thread | None = None

    @classmethod
    def open(
        cls, directory: str | Path, model=None, create: bool = False, ann_threshold: int = DEFAULT_ANN_THRESHOLD,
        read_only: bool = False, space: bool = False, disk_threshold: int = DEFAULT_DISK_THRESHOLD,
    ) -> Library:
        """Open (with ``create``, create; with ``read_only``, only to read) the library at
        ``directory``; with ``model``, refuse a library of another model's vectors, naming both
        (see :meth:`use_model`), or with ``space``, open that model's space in it instead (made with
        ``create``; filled by ``clamp3.library.spaces.fill``)."""
        library = cls(directory, create=create, ann_threshold=ann_threshold, read_only=read_only, disk_threshold=disk_threshold)
        if model is not None and space:
            if not holds_model(library, model_identity(model)):
                try:
                    return open_space(library, model, create=create, read_only=read_only)
                finally:
                    library.close()
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
                connection.execute("PRAGMA recursive_triggers=ON")  # a row that INSERT OR REPLACE replaces is deleted by the triggers too
                connection.executescript(SCHEMA)  # every statement is IF NOT EXISTS: safe to run again
                if not connection.execute(FIELDS_DONE).fetchone():
                    Library._add_fields(connection, db)
                elif VECTOR_EDITS_ONLY not in connection.execute(
                        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'items_changed'").fetchone()[0]:
                    Library._add_fields(connection, db, "BEGIN IMMEDIATE; DROP TRIGGER items_changed; " + ITEMS_CHANGED + " COMMIT;")
                return connection
            except sqlite3.DatabaseError as exc:
                if connection is not None:
                    connection.close()
                locked = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
                if not locked or time.monotonic() > deadline:
                    raise LibraryError(f"{db}: not a readable library ({exc})") from exc
                time.sleep(0.02 + 0.08 * random.random())

    @staticmethod
    def _add_fields(connection: sqlite3.Connection, db: Path, script: str = FIELDS) -> None:
        """The table of fields, its triggers and the library's id (or ``script``: the trigger of a
        library made before that counted changes of metadata as edits, made anew), in one
        transaction (another process may have done it meanwhile: doing it again changes nothing)."""
        if script is FIELDS and connection.execute("SELECT 1 FROM items LIMIT 1").fetchone():
            logger.info("%s: adding the table of metadata fields (once: 6 s for 100,000 items on 2 busy cores)", db)
        try:
            connection.executescript(script)
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    @staticmethod
    def _open_read_only(db: Path) -> tuple[sqlite3.Connection, str]:
        """Connect read-only: no journal switch, no schema. A reader of a WAL database needs the
        -shm file beside it, which SQLite makes where it can; where it cannot (a read-only folder,
        no -shm there) the database is opened as immutable, with no locks and no WAL: nothing can
        change it there, and a -wal file left beside it is not read."""
        uri = db.resolve().as_uri() + "?mode=ro"
        try:
            return Library._probe(sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)), uri
        except sqlite3.DatabaseError as exc:
            shm = db.with_name(DB_NAME + "-shm")
            if shm.exists() or os.access(db.parent, os.W_OK | os.X_OK):
                raise LibraryError(f"{db}: not a readable library ({exc})") from exc
        wal = db.with_name(DB_NAME + "-wal")
        if wal.exists() and wal.stat().st_size:
            logger.warning("%s: changes not yet moved into the database are not read (the folder is read-only)", wal)
        try:
            uri += "&immutable=1"
            return Library._probe(sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)), uri
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"{db}: not a readable library ({exc})") from exc

    @staticmethod
    def _probe(connection: sqlite3.Connection) -> sqlite3.Connection:
        """``connection``, once it has read the schema (SQLite opens the files only when first asked)."""
        try:
            connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError:
            connection.close()
            raise
        return connection

    @property
    def location(self) -> str:
        return str(self.directory)

    # --- metadata of the library -------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def set_meta(self, key: str, value: str) -> None:
        """Keep a note of the caller's in the library's ``meta`` (keys the library uses itself are refused)."""
        if key in ("version", "same_vectors", "fingerprint", "model", "dim", "edits", "library"):
            raise ValueError(f"'{key}' is the library's own")
        with self._transaction() as cursor:
            cursor.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def version(self) -> int:
        return int(self.meta().get("version", 0))

    @property
    def vectors_version(self) -> int:
        """The earliest version whose items and vectors are the current version's: earlier than
        :attr:`version` after changes of titles and metadata only (a named set tagged, a
        classification written), which leave a map and the ANN index as they were."""
        meta = self.meta()
        version = meta.get("version", "0")
        first, _, last = meta.get("same_vectors", "").partition(":")
        return int(first) if first and last == version else int(version)

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    def info(self) -> dict:
        meta = self.meta()
        by_modality = dict(self.db.execute("SELECT modality, COUNT(*) FROM items GROUP BY modality"))
        files = self.db.execute("SELECT COUNT(DISTINCT path) FROM items").fetchone()[0]
        size = sum(p.stat().st_size for p in self.directory.glob(f"{DB_NAME}*"))
        return {"items": len(self), "files": files, "by_modality": by_modality, "bytes": size, "sets": self.sets(), **meta}

    # --- writing ------------------------------------------------------------------------------
    def _check_writable(self) -> None:
        """Refuse a change to a library open read-only, before any work."""
        if not self.read_only:
            return
        if self._storage_read_only:
            reason, hint = "its folder or database is not writable", Hint("give a library on writable storage", "index")
        else:
            reason, hint = "opened read-only", None
        raise LibraryError(f"{self.directory}: the library is open read-only ({reason}); it cannot be changed", hint=hint)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction: BEGIN IMMEDIATE (waits up to the busy timeout for another
        writer), COMMIT at the end, ROLLBACK on any exception (an interrupt too), so a change is
        there whole or not at all."""
        self._check_writable()
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
    def _bump_version(cursor: sqlite3.Cursor, vectors: bool = True) -> None:
        """A new version of the items: the cached matrix and filters of the old one are stale; with
        ``vectors`` False (titles or metadata changed, nothing else) the map and the ANN index of
        the old one still hold: the span of versions with the same vectors, ``same_vectors``
        ("FIRST:LAST" in meta), is stretched to the new one. Any other change (by any writer, an
        earlier release's too) leaves the span behind: see :attr:`vectors_version`."""
        if not vectors:
            meta = dict(cursor.execute("SELECT key, value FROM meta WHERE key IN ('version', 'same_vectors')"))
            version = int(meta.get("version", 0))
            first, _, last = meta.get("same_vectors", "").partition(":")
            start = int(first) if first and last == str(version) else version
            cursor.execute("INSERT OR REPLACE INTO meta VALUES ('same_vectors', ?)", (f"{start}:{version + 1}",))
        cursor.execute(
            "INSERT INTO meta VALUES ('version', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def _commit_chunk(self, rows: list[tuple], identity: dict[str, str], owner: str | None = None) -> tuple[list[tuple], int]:
        """One transaction: the rows of files whose content is not in the library yet (another add may
        have written it since they were embedded), replacing the old rows of changed files; the version
        bumped; ``owner``'s claims let go. Returns the rows written and how many files were replaced.
        A row is (path, name, content hash, modality, title, metadata JSON, vector bytes, added[, id])."""
        rows = [row if len(row) == 9 else (*row, None) for row in rows]
        with self._transaction() as cursor:
            meta = dict(cursor.execute("SELECT key, value FROM meta"))
            if "fingerprint" in meta and meta["fingerprint"] != identity["fingerprint"]:
                raise LibraryError(f"{self.directory}: another model wrote to this library meanwhile")
            for key, value in identity.items():
                cursor.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
            stored = {path: {h for (h,) in cursor.execute("SELECT DISTINCT content_hash FROM items WHERE path = ?", (path,))}
                      for path in {row[0] for row in rows}}
            written = [row for row in rows if row[2] not in stored[row[0]]]
            replaced = sorted({row[0] for row in written if stored[row[0]]})
            cursor.executemany("DELETE FROM items WHERE path = ?", [(p,) for p in replaced])
            cursor.executemany(  # an id of None: SQLite gives the next one
                "INSERT OR REPLACE INTO items (path, name, content_hash, modality, title, metadata, vector, added, id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                written,
            )
            if written:
                self._bump_version(cursor)
            if owner is not None:
                cursor.execute("DELETE FROM claims WHERE owner = ?", (owner,))
        return written, len(replaced)

    def _known(self) -> dict[str, str]:
        """Stored path -> content hash of every file in the library."""
        return dict(self.db.execute("SELECT DISTINCT path, content_hash FROM items"))

    def _claim(self, digests: dict[str, str], owner: str) -> set[str]:
        """Claim files (stored path -> content hash) for ``owner``, one add, in one transaction: those
        that are not in the library with that content (another add wrote them) and that no other add
        holds. Returns the stored paths claimed; the others are for :meth:`_wait_for_claims`."""
        now = time.time()
        with self._transaction() as cursor:
            held = self._held(cursor, owner, now)
            done = {path for path, digest in digests.items()
                    if cursor.execute("SELECT 1 FROM items WHERE path = ? AND content_hash = ?", (path, digest)).fetchone()}
            mine = set(digests) - held - done
            cursor.executemany("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)", [(p, owner, os.getpid(), now) for p in mine])
        return mine

    @staticmethod
    def _held(cursor: sqlite3.Cursor | sqlite3.Connection, owner: str, now: float) -> set[str]:
        """Stored paths claimed by adds other than ``owner`` whose process lives, for at most CLAIM_SECONDS:
        a killed add's claims hold nothing."""
        rows = cursor.execute("SELECT path, pid, claimed FROM claims WHERE owner != ?", (owner,)).fetchall()
        return {path for path, pid, claimed in rows if now - claimed < CLAIM_SECONDS and _alive(pid)}

    def _wait_for_claims(self, paths: set[str], owner: str, poll: float = 0.2) -> None:
        """Wait until no other add holds any of ``paths`` (it wrote them, failed on them, or died)."""
        told = False
        while held := paths & self._held(self.db, owner, time.time()):
            if not told:
                logger.info("%s: waiting for another add to finish %d files", self.directory, len(held))
                told = True
            time.sleep(poll)

    def _release(self, owner: str) -> None:
        """Let ``owner``'s claims go after an add that stopped midway; a library that cannot be written
        to now (a full disk) keeps them until they time out."""
        try:
            with self._transaction() as cursor:
                cursor.execute("DELETE FROM claims WHERE owner = ?", (owner,))
        except (LibraryError, sqlite3.Error) as exc:
            logger.warning("%s: claims of a stopped add left to time out (%s)", self.directory, exc)

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
        self._check_writable()
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

    def update_metadata(self, changes: Iterable[tuple[int, str, dict[str, str]]]) -> int:
        """Set the title and metadata of items, (id, title, metadata) each, in one transaction
        (the triggers keep ``item_fields`` with them); vectors are left as they are. Returns how
        many items were there."""
        rows = [(title, json.dumps(metadata, ensure_ascii=False), int(item_id)) for item_id, title, metadata in changes]
        with self._transaction() as cursor:
            changed = sum(cursor.execute("UPDATE items SET title = ?, metadata = ? WHERE id = ?", row).rowcount for row in rows)
            if changed:
                self._bump_version(cursor, vectors=False)  # filters cached by version read the new fields
        return changed

    def tag(self, item_ids: Iterable[int], name: str, replace: bool = False) -> int:
        """Put the items into the set ``name`` (the field :func:`set_field` names, ``yes``; with
        ``replace``, its other members are taken out), in one transaction and at most one new
        version: filters, maps and the ANN index of the old one are stale. Ids the library lacks
        are refused, naming them, before anything is written. Returns how many items joined (those
        already in it aside). A file re-embedded because it changed gets its file's metadata again,
        without its sets."""
        key = set_field(name)
        ids = sorted({int(i) for i in item_ids})
        if not ids:
            raise Clamp3Error(f"no items given for the set '{key[len(SET_PREFIX):]}'")
        return self._change_set(key, ids, None if replace else [])[0]

    def untag(self, name: str, item_ids: Iterable[int] | None = None) -> int:
        """Take the items (every member: ``item_ids`` None) out of the set ``name``, as :meth:`tag`
        puts them in; returns how many were in it."""
        key = set_field(name)
        return self._change_set(key, [], None if item_ids is None else sorted({int(i) for i in item_ids}))[1]

    def _change_set(self, key: str, joining: list[int], leaving: list[int] | None) -> tuple[int, int]:
        """Items ``joining`` the set of the field ``key`` and items ``leaving`` it (None: every member
        not joining), in one transaction; (how many joined, how many left)."""
        with self._transaction() as cursor:
            if leaving is None:
                staying = set(joining)
                leaving = [i for (i,) in cursor.execute("SELECT item_id FROM item_fields WHERE key = ? ORDER BY item_id", (key,))
                           if i not in staying]
            changes, counts = [], [0, 0]
            for side, ids in enumerate((joining, leaving)):
                rows = []
                for start in range(0, len(ids), 10_000):  # (SQLite's limit on a statement's parameters)
                    part = ids[start : start + 10_000]
                    rows += cursor.execute(f"SELECT id, metadata FROM items WHERE id IN ({','.join('?' * len(part))})", part).fetchall()
                if side == 0 and len(rows) < len(ids):
                    missing = sorted(set(ids) - {item_id for item_id, _ in rows})[:5]
                    raise LibraryError(f"{self.directory}: no item with the id {', '.join(map(str, missing))} (removed since?)")
                for item_id, text in rows:
                    metadata = json.loads(text)
                    if side == 0 and metadata.get(key) != SET_VALUE:
                        metadata[key] = SET_VALUE
                    elif side == 1 and key in metadata:
                        del metadata[key]
                    else:
                        continue
                    changes.append((json.dumps(metadata, ensure_ascii=False), item_id))
                    counts[side] += 1
            cursor.executemany("UPDATE items SET metadata = ? WHERE id = ?", changes)
            if changes:
                self._bump_version(cursor, vectors=False)
        return counts[0], counts[1]

    # --- reading ------------------------------------------------------------------------------
    def items(
        self, modality: str | None = None, where: dict[str, str] | None = None, limit: int | None = None
    ) -> list[LibraryItem]:
        """The items (of ``modality``, whose fields equal ``where``), in the order they were added."""
        sql, params = self._filter_sql(f"SELECT {ITEM_COLUMNS} FROM items", modality, where)
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [LibraryItem(**self._fields(row)) for row in self.db.execute(sql, params)]

    def items_by_id(self, item_ids: Sequence[int]) -> list[LibraryItem]:
        """The items of the given ids (those that exist), in id order."""
        marks = ",".join("?" * len(item_ids))
        rows = self.db.execute(f"SELECT {ITEM_COLUMNS} FROM items WHERE id IN ({marks}) ORDER BY id", [int(i) for i in item_ids])
        return [LibraryItem(**self._fields(row)) for row in rows]

    def _fields(self, row: tuple) -> dict:
        """The fields of a LibraryItem from a row of ITEM_COLUMNS."""
        item_id, path, name, modality, title, metadata = row
        return {"id": item_id, "path": self.absolute(path), "name": name, "modality": modality, "title": title,
                "metadata": json.loads(metadata)}

    def fields(self) -> list[str]:
        """Every metadata key of the library that is shown (not ``HIDDEN_FIELDS``), most common
        first (ties by name)."""
        from clamp3.metadata import HIDDEN_FIELDS

        counts = dict(self.db.execute(f"SELECT key, COUNT(*) FROM {self._fields_table} GROUP BY key"))
        counts = {k: n for k, n in counts.items() if k not in HIDDEN_FIELDS}
        return sorted(counts, key=lambda k: (-counts[k], k))

    def field_values(self, key: str, limit: int = 500) -> list[str]:
        """The values of the metadata field ``key``, most common first; none for no key."""
        if not key:
            return []
        rows = self.db.execute(
            f"SELECT value AS v, COUNT(*) AS n FROM {self._fields_table} WHERE key = ? AND v IS NOT NULL "
            "GROUP BY v ORDER BY n DESC, v LIMIT ?",
            (key, limit),
        )
        return [str(v) for v, _ in rows]

    def sets(self) -> dict[str, int]:
        """The named sets of the library (see :meth:`tag`) and how many items each holds, by name."""
        rows = self.db.execute(  # the keys from "set:" up to "set;", read from the index of (key, value)
            f"SELECT key, COUNT(*) FROM {self._fields_table} WHERE key >= ? AND key < ? AND value = ? GROUP BY key ORDER BY key",
            (SET_PREFIX, SET_PREFIX[:-1] + ";", SET_VALUE),
        )
        return {key[len(SET_PREFIX):]: count for key, count in rows}

    def set_members(self, name: str) -> np.ndarray:
        """The ids (ascending, read-only) of the items of the set ``name``; none for a set not there."""
        return self._allowed_ids(self.version, None, ((set_field(name), SET_VALUE),))

    def modalities(self) -> list[str]:
        """The modalities the library holds, in name order."""
        return [m for (m,) in self.db.execute("SELECT DISTINCT modality FROM items ORDER BY modality")]

    def _conditions(self, modality: str | None, where: dict[str, str] | None, keyword: str = "") -> list[tuple[str, list]]:
        """Each condition of a filter as a query of the ids of the items that meet it, answered
        from an index (the fields' table, or the JSON of a library made before it); a ``keyword``
        is looked for in the titles and the field values (at most KEYWORD_MATCHES items)."""
        conditions = [("SELECT id FROM items WHERE modality = ?", [modality])] if modality else []
        for key, value in (where or {}).items():
            if key == "title":
                conditions.append(("SELECT id FROM items WHERE title = ?", [value]))
            else:  # the key is bound as a value, never written into a JSON path: any name works, none can break the query
                conditions.append((f"SELECT item_id AS id FROM {self._fields_table} WHERE key = ? AND value = ?", [key, value]))
        if keyword:
            pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append((
                f"SELECT id FROM (SELECT id FROM items WHERE title LIKE ? ESCAPE '\\' UNION SELECT item_id FROM "
                f"{self._fields_table} WHERE value LIKE ? ESCAPE '\\') LIMIT {KEYWORD_MATCHES}", [pattern, pattern]))
        return conditions

    def _filter_sql(self, sql: str, modality: str | None, where: dict[str, str] | None) -> tuple[str, list]:
        conditions = self._conditions(modality, where)
        clauses = " AND ".join(f"id IN ({condition})" for condition, _ in conditions)
        return sql + (f" WHERE {clauses}" if clauses else "") + " ORDER BY id", [p for _, params in conditions for p in params]

    def _read_allowed(
        self, version: int, modality: str | None, where: tuple[tuple[str, str], ...], keyword: str = ""
    ) -> np.ndarray:
        """Ids (ascending, read-only) of the items of ``modality`` whose fields equal ``where`` (and
        that hold ``keyword``) at ``version``: each condition's ids read as one string, then
        intersected (50,000 ids read as rows took 50-65 ms at 100,000 items, as one string 11 ms)."""
        allowed = None
        for sql, params in self._conditions(modality, dict(where), keyword):
            (text,) = self.db.execute(f"SELECT group_concat(id) FROM ({sql})", params).fetchone()
            ids = np.sort(np.fromstring(text, dtype=np.int64, sep=",")) if text else np.zeros(0, np.int64)
            ids = ids[np.diff(ids, prepend=ids[:1] - 1) != 0]  # unique (np.unique hashes: 10x the time of this on 87,000 ids)
            allowed = ids if allowed is None else np.intersect1d(allowed, ids, assume_unique=True)
        allowed.flags.writeable = False  # shared by the searches of this version
        return allowed

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids (N,), unit vectors (N, D)), cached for the current version; read-only arrays, the
        vectors mapped from the vector file (written or brought up to date first where the
        library is writable)."""
        return self._loaded()[2:]

    def _loaded(self) -> tuple[int, int, np.ndarray, np.ndarray]:
        """(version, edits, ids, vectors) of the current version, read in one transaction."""
        with self._loading:
            if self._cache is None or self._cache[0] != self.version:
                # a connection of its own: the load holds a read transaction, which another thread's write on self.db would break
                reader = sqlite3.connect(self._reader_uri, uri=True, isolation_level=None, check_same_thread=False)
                try:
                    self._cache = load_vectors(self.directory, reader, write=not self.read_only)
                finally:
                    reader.close()
                if self._ann is not None and self._ann[0] != self.vectors_version:  # (one of the same vectors holds)
                    self._ann = None
            return self._cache

    def vectors_of(self, item_ids: list[int]) -> np.ndarray:
        """Unit vectors (len(item_ids), D) of the given items, in that order."""
        ids, matrix = self.matrix()
        wanted = np.asarray(item_ids, dtype=np.int64)
        rows = np.minimum(np.searchsorted(ids, wanted), max(len(ids) - 1, 0))
        if len(wanted) and (not len(ids) or not np.array_equal(ids[rows], wanted)):
            missing = wanted[~np.isin(wanted, ids)][:5].tolist()
            raise LibraryError(f"{self.directory}: no item with the id {', '.join(map(str, missing))} (removed since?)")
        return matrix[rows]

    def ann_index(self, wait: bool = True):
        """The approximate index (``build_ivf``) of the current vectors (:attr:`vectors_version`): loaded from its file, or
        built and saved atomically (kept in memory where the library is read-only); an index of
        another kind or version (an HNSW file of an earlier release) is rebuilt. With ``wait=False``
        an index that must be built is built in a background thread and None is returned until it
        is ready: exact search answers meanwhile (60 ms at a million items, against about 30 s to
        build; benchmarks/ann.py). The in-memory index is of the current vectors
        (:attr:`vectors_version`: a change of metadata only leaves it as it was).

        Above ``disk_threshold`` items it is the on-disk index (:class:`DiskIndex`), synced with the
        library by appending (see :mod:`clamp3.library.ondisk`); while a sync runs, its last state
        answers (the items it lacks searched exactly)."""
        if len(self.matrix()[0]) > self.disk_threshold and (disk := self._disk_index(wait)) is not None:
            return disk
        version = self.vectors_version
        with self._ann_lock:
            if self._ann is not None and self._ann[0] == version:
                return self._ann[1]
            index = self._read_ann(version)
            if index is not None:
                self._ann = (version, index)
                return index
            if not wait:
                self._build_in_background(version)
                return None
        return self._build_ann(version)

    def _build_in_background(self, version: int) -> None:
        """Start building the index of ``version`` in a thread, unless a build runs (under _ann_lock)."""
        if self._ann_builder is None or not self._ann_builder.is_alive():
            self._ann_builder = threading.Thread(target=self._build_ann_quietly, args=(version,), daemon=True, name="clamp3-ann")
            self._ann_builder.start()

    def _disk_index(self, wait: bool) -> DiskIndex | None:
        """The on-disk index, synced with the current version (``wait``), or as it is while a
        background sync brings it up to date; None where there is none yet (the library is
        read-only: the in-memory index serves it, or a build has just started)."""
        version, edits, ids, matrix = self._loaded()
        with self._ann_lock:
            if self._disk is None:
                self._disk = DiskIndex.open(self.directory, self.meta().get("library", ""), matrix.shape[1])
            index = self._disk
            if self.read_only or (index is not None and index.needs(index.view(version, edits=edits, ids=ids, matrix=matrix)) is None):
                return index
            if not wait:
                self._build_in_background(version)
                return index
        return self._build_ann(version)

    def _sync_disk(self, version: int, edits: int, ids: np.ndarray, matrix: np.ndarray) -> DiskIndex:
        """The on-disk index brought up to ``version``: appended to, or built anew (by the rules of
        :mod:`clamp3.library.ondisk`)."""
        library, dim = self.meta().get("library", ""), matrix.shape[1]
        index = self._disk or DiskIndex.open(self.directory, library, dim)
        need = "build" if index is None else index.needs(index.view(version, ids, matrix, edits))
        if need == "append":
            assert index is not None
            # None: another process changed it meanwhile; its state is taken, and what it lacks appended by a later sync
            index = index.append(index.view(version, ids, matrix, edits), ids, matrix, edits) or DiskIndex.open(self.directory, library, dim)
            need = "build" if index is None else index.needs(index.view(version, ids, matrix, edits))
        if need == "build":
            logger.info("building the on-disk index of %d vectors", len(ids))
            index = DiskIndex.build(self.directory, library, ids, matrix, edits)
            for stale in (ANN_NAME, ANN_NAME + ".json"):  # the in-memory index of a smaller library
                (self.directory / stale).unlink(missing_ok=True)
        with self._ann_lock:
            self._disk = index
        return index

    def _read_ann(self, version: int):
        import faiss

        path, stamp = self.directory / ANN_NAME, self.directory / (ANN_NAME + ".json")
        try:
            if json.loads(stamp.read_text()) == {"version": version, "kind": ANN_KIND}:
                index = faiss.read_index(str(path))
                if index.ntotal == len(self.matrix()[0]):
                    return index
        except (OSError, ValueError, KeyError, RuntimeError):
            pass
        return None

    def _build_ann_quietly(self, version: int) -> None:
        """The background build: a failure (the library closed meanwhile, no memory) is logged, and
        searches stay exact until a later one builds it."""
        try:
            self._build_ann(version)
        except Exception:
            logger.warning("%s: the ANN index was not built", self.directory, exc_info=True)

    def _build_ann(self, version: int):
        import faiss

        from clamp3.io import atomic_write

        with self._ann_building:  # one build at a time
            loaded, edits, ids, matrix = self._loaded()
            if len(ids) > self.disk_threshold and not self.read_only:  # (version: the library's, as _disk_index gives it)
                return self._sync_disk(version, edits, ids, matrix) if loaded == version else None
            with self._ann_lock:
                if self._ann is not None and self._ann[0] >= version:
                    return self._ann[1]
            if self.vectors_version != version:  # changed since: the next search asks for the new version's index
                return None
            logger.info("building the ANN index of %d vectors", len(ids))
            index = build_ivf(matrix)
            if not self.read_only:
                path, stamp = self.directory / ANN_NAME, self.directory / (ANN_NAME + ".json")
                atomic_write(path, lambda handle: handle.write(faiss.serialize_index(index).tobytes()))
                atomic_write(stamp, lambda handle: handle.write(json.dumps({"version": version, "kind": ANN_KIND}).encode()))
            with self._ann_lock:
                self._ann = (version, index)
            return index

    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        modality: str | None = None,
        where: dict[str, str] | None = None,
        exact: bool | None = None,
        keyword: str | None = None,
        within: Sequence[int] | None = None,
    ) -> list[list[Hit]]:
        """Top-``k`` items for each query vector (Q, D) by cosine similarity (of ``modality``, whose
        fields equal ``where``, whose title or a field value holds ``keyword``, among the ids
        ``within``: a saved selection)."""
        version, edits, ids, matrix = self._loaded()
        keyword = self._keyword(keyword)
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
        filtered = modality or where or keyword
        allowed = self._allowed_ids(version, modality, tuple(sorted((where or {}).items())), keyword) if filtered else None
        if within is not None:
            chosen = np.unique(np.asarray(list(within), dtype=np.int64))
            allowed = chosen if allowed is None else np.intersect1d(allowed, chosen, assume_unique=True)
        use_ann = (len(ids) > self.ann_threshold) if exact is None else not exact
        if allowed is not None and len(allowed) == 0:
            return [[] for _ in queries]
        index = self.ann_index(wait=False) if use_ann else None
        if isinstance(index, DiskIndex) and self._loaded()[0] == version:  # (not when the library changed since ids was read)
            # a narrow filter is searched exactly, from the index's float16 rows: the float32 file stays paged out
            view = index.view(version, ids, matrix, edits)
            results = index.search(view, ids, matrix, queries, k, allowed, exact_below=self.ann_threshold)
            return [self._hits(pairs) for pairs in results]
        rows = None if allowed is None else self._rows.get(ids, allowed)
        if rows is not None and len(rows) == 0:
            return [[] for _ in queries]
        if index is not None and not isinstance(index, DiskIndex) and (rows is None or len(rows) > self.ann_threshold) \
                and index.ntotal == len(ids):  # (not when the library changed since ids was read)
            results = [[(score, ids[row]) for score, row in found] for found in ivf_search(index, matrix, queries, k, rows)]
        else:
            scores, best = exact_top_k(matrix, queries, k, rows)
            results = [[(s, ids[b]) for s, b in zip(qs, qb)] for qs, qb in zip(scores, best)]
        return [self._hits(pairs) for pairs in results]

    def _modality_sample(self, version: int, modality: str) -> np.ndarray:
        """Unit vectors of a seeded sample of at most CALIBRATION_SAMPLE items of ``modality`` (the
        same rows for every query of a version: their cosines calibrate the query's scores)."""
        ids, matrix = self.matrix()
        allowed = self._allowed_ids(version, modality, ())
        rows = rows_of(ids, allowed)
        if len(rows) > CALIBRATION_SAMPLE:
            rows = np.sort(np.random.default_rng(0).choice(rows, CALIBRATION_SAMPLE, replace=False))
        return np.asarray(matrix[rows])  # (S, D)

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


# --- spaces: other models' vectors of a library's items (clamp3.library.spaces fills them) ---------
SPACES_DIR = "spaces"


def spaces_folder(base: Library) -> Path:
    """Where ``base``'s spaces are: beside it, or for a library whose folder is not written (on
    read-only storage, the demo library in ``assets/``) in the user's cache, under a digest of its
    folder. The place depends on the folder, not on how the library was opened."""
    if is_demo_library(base.directory) or not os.access(base.directory, os.W_OK):
        digest = hashlib.sha256(str(base.directory.resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return cache_home() / SPACES_DIR / digest
    return base.directory / SPACES_DIR


def holds_model(base: Library, identity: dict[str, str]) -> bool:
    """Whether ``base`` itself holds this model's vectors (or none yet: an empty library takes any model)."""
    meta = base.meta()
    return "fingerprint" not in meta or (meta["fingerprint"], meta["dim"]) == (identity["fingerprint"], identity["dim"])


def space_dir(base: Library, identity: dict[str, str]) -> Path:
    return spaces_folder(base) / identity["fingerprint"]


def open_space(base: Library, model, create: bool = True, read_only: bool = False) -> Library:
    """The space of ``model`` in ``base`` (created empty with ``create``); raises LibraryError when
    there is none and ``create`` is not given."""
    identity = model_identity(model)
    folder = space_dir(base, identity)
    if not (folder / "library.sqlite3").exists() and not create:
        raise LibraryError(
            f"{base.directory} holds no vectors of model '{identity['model']}' ({identity['fingerprint']})",
            hint=Hint("build them with 'clamp3 index fill-space' (or 'clamp3 search ... --build-space')", "index"),
        )
    return Library.open(folder, model=model, create=create and not read_only, read_only=read_only)


def mix_modalities(per_modality: Sequence[Sequence[Hit]], means: Sequence[float], k: int) -> list[Hit]:
    """One query's hits of each modality (each list best first, by cosine) and the query's mean
    cosine to each modality -> the ``k`` best of all, merged by calibrated score
    (``retrieval.merge_calibrated``), ranked from 1, each with its ``calibrated``. The lists may
    pool several libraries (the app's shared one and a visitor's own): a modality's list must be one
    ranking, as its best hit is the calibration's 1."""
    groups = [(np.array([h.score for h in hits]), mean) for hits, mean in zip(per_modality, means)]
    return [dataclasses.replace(per_modality[g][i], rank=rank, calibrated=z)
            for rank, (g, i, z) in enumerate(merge_calibrated(groups, k), 1)]
