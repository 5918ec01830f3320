"""The library's second store: items, metadata and vectors in one Milvus collection, through
``pymilvus``. The same client code serves a Milvus server (``milvus://host:19530/collection``)
and milvus-lite (a ``*.db`` path, served inside the process that opens it).

A collection holds one row per item: a primary key derived from the item's stored path and name
(so a file added twice, by two processes at once or by a run resumed after a kill, lands once:
Milvus upserts by that key), the file's content hash (an unchanged file is skipped, as in the
SQLite store), the modality and title as scalar fields, the metadata as a JSON field, a lower-case
``words`` field (title and field values) for the keyword filter, and the unit vector, indexed for
inner product. Filters (modality, ``where``, keyword, a saved selection) are Milvus expressions
evaluated by the engine, never in Python after the search. The model's identity and the
library's version are rows of a small side collection ``<collection>_meta``.

There are no transactions in Milvus: a chunk of files is written as one delete (the old items of
changed files) and one upsert, and a process killed between the two leaves those files out, to be
added again by the next run (their content hash is not in the collection). Adds at once do not
claim files from each other: ``--shard`` splits the files between processes, and where adds do
overlap the deterministic keys keep each item once.

Not on this store: the spaces of other models, passages, the FAISS index file and the vector
file (Milvus keeps its own index), read-only storage; a milvus-lite file is served by the first
process that opens it (several processes share one through ``python -m milvus_lite server``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from clamp3.errors import Hint, InputError
from clamp3.io import cache_home
from clamp3.library.rows import Hit, LibraryItem
from clamp3.library.store import CALIBRATION_SAMPLE, DB_NAME, BaseLibrary, LibraryError, holds_model, model_identity
from clamp3.retrieval import normalize

logger = logging.getLogger(__name__)

SCHEME = "milvus://"
DEFAULT_COLLECTION = "clamp3"
MODALITIES = ("text", "symbolic", "audio")
ITEM_FIELDS = ["id", "path", "name", "modality", "title", "metadata", "added"]  # what a LibraryItem is made of
# HNSW: what a Milvus server answers a million vectors with in milliseconds; ef at least k, and
# high enough for recall@10 >= 0.95 on the grown demo vectors (benchmarks/milvus.py). Queries across
# the modality gap (every text query) need the wider graph and walk: at 10^6 grown demo vectors
# (Milvus 2.3.5 server, idle 2 cores) text queries found 0.867 / 0.932 / 0.995 of the true top 10 at
# ef 256 / 1,024 / 4,096 with M 16 (p50 5.8 / 9.2 / 20.4 ms), and 0.865 / 0.955 / 0.997 with M 32
# (5.2 / 9.6 / 19.2 ms); queries of the searched modality 0.98-1.00 (docs/scaling.md, section 5).
INDEX = {"index_type": "HNSW", "metric_type": "IP", "params": {"M": 32, "efConstruction": 200}}
EF_SEARCH = 1024
# A search of one modality's partition is mostly across the gap (text, or a score asking for
# recordings): score queries for recordings found 0.743 / 0.848 / 0.971 at ef 256 / 1,024 / 4,096 (M 16).
EF_PARTITION = 4096
# Under a filter HNSW collects only the items it keeps, so ef grows as the filter narrows: a filter
# that kept 1 item in 9 (region=China, 100,000 grown demo vectors) found 0.63 of the true top 10 at
# ef 512, 0.93 at 2048, all of it at 8192; ef = EF_FILTERED / (the share kept), at least the ef of
# the same search unfiltered, at most EF_MAX.
EF_FILTERED = 1024
EF_MAX = 16_384
# A search reads at session consistency: this client's own writes at once, other processes' writes
# eventually (without a bound: pymilvus asks a client that has written nothing for no timestamp;
# in practice within a time tick or two). A strong read waits for the next time tick of the server:
# 200 ms of every search on a Milvus 2.3 server at 100,000 items, against 7 ms for the search
# itself. Adds, counts (cached by library and version, so read once a filter) and listings stay
# strong: an add's check of what is written, and a filter's share of the items, see every writer's rows.
SEARCH_CONSISTENCY = "Session"
BATCH = 2000  # rows an upsert or a read moves at once (a gRPC message stays well under its 64 MB limit)
TOP_K_LIMIT = 16_384  # Milvus answers at most this many hits a query
MAX_TEXT = 65_535  # Milvus's longest VARCHAR
COLLECTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")
# a control character other than these cannot be written in an expression milvus-lite parses
UNSPEAKABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_milvus_target(target: str | Path) -> bool:
    """Whether ``target`` names a Milvus library: ``milvus://...``, or a ``*.db`` path (milvus-lite)
    that is not a library folder of the SQLite store."""
    text = str(target)
    return text.startswith(SCHEME) or (text.endswith(".db") and not (Path(text) / DB_NAME).exists())


def parse_target(target: str | Path) -> tuple[str, str]:
    """``milvus://host:port/collection`` -> (``http://host:port``, collection); ``path.db`` ->
    (its absolute path, ``clamp3``): the URI pymilvus connects to and the collection's name."""
    text = str(target)
    if text.startswith(SCHEME):
        parts = urlsplit(text)
        if not parts.hostname:
            raise LibraryError(f"'{text}': no host; expected milvus://HOST:PORT/COLLECTION")
        uri = f"http://{parts.hostname}:{parts.port or 19530}"
        collection = parts.path.strip("/") or DEFAULT_COLLECTION
    else:
        uri, collection = str(Path(text).resolve()), DEFAULT_COLLECTION
    if not COLLECTION_NAME.fullmatch(collection):
        raise LibraryError(f"'{collection}' is not a collection name; expected letters, digits and '_', not starting with a digit")
    return uri, collection


def literal(value: str) -> str:
    """``value`` as a string literal of a Milvus expression: quotes and backslashes escaped, so
    that no value can end the literal and add to the expression."""
    value = str(value)
    if UNSPEAKABLE.search(value):
        raise InputError("<filter>", f"the value {value!r} holds a control character, which a filter cannot name")
    return json.dumps(value, ensure_ascii=False)


def like_pattern(word: str) -> str:
    """A LIKE pattern that finds ``word`` anywhere, its ``%`` and ``_`` literal."""
    return literal("%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")


def item_id(path: str, name: str) -> int:
    """The primary key of an item: 53 bits of a hash of its stored path and name (the same in every
    process and run; 53 bits so that a browser's numbers hold it exactly)."""
    digest = hashlib.sha256(f"{path}\0{name}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") >> 11


def words_of(title: str, metadata: dict) -> str:
    """What the keyword filter looks in: the title and the field values, lower case, one per line
    (cut to the bytes a VARCHAR holds)."""
    return "\n".join([title, *map(str, metadata.values())]).lower().encode()[:MAX_TEXT].decode(errors="ignore")


def _milvus():
    try:
        import pymilvus
    except ImportError as exc:  # an optional extra
        raise LibraryError("a Milvus library needs pymilvus (pip install 'clamp3[milvus]')") from exc
    return pymilvus


class MilvusLibrary(BaseLibrary):
    """A library in a Milvus collection: the SQLite store's :class:`~clamp3.library.store.Library`
    for the CLI and the app (add, search, search_mixed, items, fields, prune, ...), on Milvus."""

    ann_threshold = 0  # Milvus searches its own index at any size

    def __init__(self, target: str | Path, create: bool = False, read_only: bool = False):
        self.target = str(target)
        self.uri, self.collection = parse_target(target)
        self.meta_collection = f"{self.collection}_meta"
        self.read_only = read_only
        # derived files (the app's maps) go to a folder of the user's cache, never into Milvus's data
        self.directory = cache_home() / "milvus" / hashlib.sha256(f"{self.uri}/{self.collection}".encode()).hexdigest()[:16]
        pymilvus = _milvus()
        if not self.target.startswith(SCHEME) and not Path(self.uri).exists() and (read_only or not create):
            raise LibraryError(f"{self.target}: no library here", hint=Hint("give a library, or add music to create one", "index"))
        try:
            self.client = pymilvus.MilvusClient(self.uri)
        except pymilvus.MilvusException as exc:
            raise LibraryError(f"{self.target}: cannot connect to Milvus ({exc}); {_busy_hint(self.uri)}") from exc
        if not self.client.has_collection(self.meta_collection):
            if read_only or not create:
                raise LibraryError(f"{self.target}: no library here", hint=Hint("give a library, or add music to create one", "index"))
            self._create_meta()
        self.client.load_collection(self.meta_collection)  # (a collection reopened from its files is not loaded)
        self._loaded = self._partitioned = False
        self._search_keys: dict[str, str] | None = None  # the keys a search reads (see _search_meta)
        self._samples = functools.lru_cache(maxsize=4)(self._modality_sample)  # by (version, modality)
        self._listing = functools.lru_cache(maxsize=2)(self._read_metadata)  # by version: fields and their values
        # items a filter keeps, by (model fingerprint, version, expression): read strong, once for each
        self._counted = functools.lru_cache(maxsize=64)(lambda model, version, expression: self._count(expression))

    @classmethod
    def open(cls, target: str | Path, model=None, create: bool = False, read_only: bool = False, space: bool = False,
             **_ignored) -> MilvusLibrary:
        """Open (with ``create``, create) the library at ``target``; with ``model``, refuse a
        library of another model's vectors. Spaces are not kept on this store."""
        library = cls(target, create=create, read_only=read_only)
        if model is not None:
            try:
                if space:
                    if not holds_model(library, model_identity(model)):
                        raise LibraryError(f"{target}: a Milvus library keeps no spaces of other models; search with its own model")
                library.use_model(model)
            except LibraryError:
                library.close()
                raise
        return library

    @property
    def location(self) -> str:
        return self.target

    def sets(self) -> dict[str, int]:
        """Named sets (``Library.tag``) are the SQLite store's: none here."""
        return {}

    def tag(self, item_ids, name: str, replace: bool = False) -> int:
        raise LibraryError(f"{self.target}: named sets are kept by the SQLite store only (a library folder); "
                           "filter a Milvus library by a metadata field instead")

    @property
    def vectors_version(self) -> int:
        """The version a map of the library is of: every version here (no span of changes of
        metadata only is kept, as the SQLite store keeps one)."""
        return self.version

    # --- collections ------------------------------------------------------------------------
    def _create_meta(self) -> None:
        """The side collection of the library's own keys (Milvus wants a vector field in every collection)."""
        DataType = _milvus().DataType
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
        schema.add_field("value", DataType.VARCHAR, max_length=MAX_TEXT)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
        index = self.client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="IP")
        self._create(self.meta_collection, schema, index)

    def _create_items(self, dim: int) -> None:
        DataType = _milvus().DataType
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("path", DataType.VARCHAR, max_length=MAX_TEXT)
        schema.add_field("name", DataType.VARCHAR, max_length=MAX_TEXT)
        schema.add_field("content_hash", DataType.VARCHAR, max_length=128)
        schema.add_field("modality", DataType.VARCHAR, max_length=16)
        schema.add_field("title", DataType.VARCHAR, max_length=MAX_TEXT)
        schema.add_field("metadata", DataType.JSON)
        schema.add_field("words", DataType.VARCHAR, max_length=MAX_TEXT)
        schema.add_field("added", DataType.DOUBLE)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        index = self.client.prepare_index_params()
        index.add_index("vector", **INDEX)
        if self._has_inverted_index():
            for scalar in ("path", "modality"):  # what each chunk of an add and the modality filter look up
                index.add_index(scalar, index_type="INVERTED")
        self._create(self.collection, schema, index)

    def _has_inverted_index(self) -> bool:
        """Whether the server builds INVERTED scalar indexes (Milvus 2.4 on, milvus-lite 3); an older
        server (the Milvus 2.3 of the ``milvus`` wheel) refuses them and filters those fields by a scan."""
        found = re.search(r"(\d+)\.(\d+)", str(self.client.get_server_version()))
        return found is None or (int(found[1]), int(found[2])) >= (2, 4)

    def _create_partitions(self) -> None:
        """A partition (its own HNSW graphs) per modality: a search of one modality walks its own
        graph. In one graph, score queries searching the audio (across the modality gap) found 0.19
        of the true top 10, the graph's paths leading to the scores. Made by every writer before
        its first write (another process may have made the collection and not yet its partitions)."""
        for modality in MODALITIES:
            if not self.client.has_partition(self.collection, modality):
                try:
                    self.client.create_partition(self.collection, modality)
                except _milvus().MilvusException:
                    if not self.client.has_partition(self.collection, modality):  # (not made meanwhile by another process)
                        raise

    def _create(self, name: str, schema, index) -> None:
        """Create a collection, or find it made meanwhile by another process (ranks of one job start at once)."""
        try:
            self.client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
        except _milvus().MilvusException:
            if not self.client.has_collection(name):
                raise

    def _items_ready(self) -> bool:
        """Whether the items' collection exists (it is made by the first add, which knows the dimension), loaded."""
        if not self._loaded:
            if not self.client.has_collection(self.collection):
                return False
            self.client.load_collection(self.collection)
            self._loaded = True
        return True

    # --- the library's own keys -------------------------------------------------------------
    def meta(self, consistency: str = "Strong") -> dict[str, str]:
        """The library's keys; ``consistency="Session"`` reads this client's own writes and others'
        within Milvus's staleness bound, without the wait of a strong read (a fifth of a second)."""
        rows = self.client.query(self.meta_collection, filter='key != ""', output_fields=["key", "value"], consistency_level=consistency)
        return {row["key"]: row["value"] for row in rows}

    def _set(self, values: dict[str, str]) -> None:
        self.client.upsert(self.meta_collection, [{"key": k, "value": v, "vector": [0.0, 0.0]} for k, v in values.items()])

    def set_meta(self, key: str, value: str) -> None:
        """Keep a note of the caller's in the library (keys the library uses itself are refused)."""
        if key in ("version", "fingerprint", "model", "dim", "library"):
            raise ValueError(f"'{key}' is the library's own")
        self._check_writable()
        self._set({key: value})

    @property
    def version(self) -> int:
        return int(self.meta().get("version", 0))

    def _bump_version(self) -> None:
        """A new version of the items (caches of the old one are stale). Two writers that bump at
        once may both write the same number; it still differs from what either read before."""
        self._set({"version": str(self.version + 1)})

    def __len__(self) -> int:
        if not self._items_ready():
            return 0
        return int(self.client.query(self.collection, filter="", output_fields=["count(*)"])[0]["count(*)"])

    def info(self) -> dict:
        by_modality = {m: n for m in MODALITIES if (n := self._count(f"modality == {literal(m)}"))}
        files = len({row["path"] for row in self._rows("", ["path"])})
        size = sum(f.stat().st_size for f in Path(self.uri).rglob("*") if f.is_file()) if not self.uri.startswith("http") else None
        return {"items": len(self), "files": files, "by_modality": by_modality, "bytes": size, "uri": self.uri,
                "collection": self.collection, **self.meta()}

    def _count(self, expression: str, consistency: str = "Strong") -> int:
        if not self._items_ready():
            return 0
        found = self.client.query(self.collection, filter=expression, output_fields=["count(*)"], consistency_level=consistency)
        return int(found[0]["count(*)"])

    def _rows(self, expression: str, fields: list[str]) -> Iterator[dict]:
        """Every row that ``expression`` allows, ``fields`` of each, read in batches."""
        if not self._items_ready():
            return
        iterator = self.client.query_iterator(self.collection, batch_size=BATCH, filter=expression, output_fields=fields)
        try:
            while batch := iterator.next():
                yield from batch
        finally:
            iterator.close()

    # --- writing ----------------------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.read_only:
            raise LibraryError(f"{self.target}: the library is open read-only (opened read-only); it cannot be changed")

    def _key(self, path: Path) -> str:
        """The stored path: absolute (a collection has no folder for paths to be relative to)."""
        return str(path.resolve())

    def absolute(self, stored: str) -> str:
        return stored

    def _known(self) -> dict[str, str]:
        return {row["path"]: row["content_hash"] for row in self._rows("", ["path", "content_hash"])}

    def _hashes(self, paths: Iterable[str]) -> dict[str, set[str]]:
        """Stored path -> the content hashes its items have (none: not in the library)."""
        paths = sorted(set(paths))
        stored: dict[str, set[str]] = {path: set() for path in paths}
        for start in range(0, len(paths), 1000):  # milvus-lite reads every row for each query
            group = ", ".join(literal(p) for p in paths[start : start + 1000])
            for row in self._rows(f"path in [{group}]", ["path", "content_hash"]):
                stored[row["path"]].add(row["content_hash"])
        return stored

    def _claim(self, digests: dict[str, str], owner: str) -> set[str]:
        """Every file: nothing is held for other adds. The shards split the work, a file another
        add wrote meanwhile is found at the commit, and an item written twice is there once (its
        key is its path and name)."""
        return set(digests)

    def _wait_for_claims(self, paths: set[str], owner: str, poll: float = 0.2) -> None:
        return None

    def _release(self, owner: str) -> None:
        return None

    def _commit_chunk(self, rows: list[tuple], identity: dict[str, str], owner: str | None = None) -> tuple[list[tuple], int]:
        """The rows of files whose content is not in the library yet, after a delete of the old
        items of changed files; the version bumped. Returns the rows written and how many files
        were replaced. A row is (path, name, content hash, modality, title, metadata JSON, vector
        bytes, added[, id])."""
        self._check_writable()
        meta = self.meta()
        if "fingerprint" in meta and meta["fingerprint"] != identity["fingerprint"]:
            raise LibraryError(f"{self.target}: another model wrote to this library meanwhile")
        if "fingerprint" not in meta:
            self._set({key: identity[key] for key in ("model", "fingerprint", "dim")})
        if not self._partitioned:
            if not self._items_ready():
                self._create_items(int(identity["dim"]))
                self._items_ready()
            self._create_partitions()
            self._partitioned = True
        stored = self._hashes(row[0] for row in rows)
        written = [row for row in rows if row[2] not in stored[row[0]]]
        replaced = sorted({row[0] for row in written if stored[row[0]]})
        for start in range(0, len(replaced), 200):
            self.client.delete(self.collection, filter=f"path in [{', '.join(literal(p) for p in replaced[start : start + 200])}]")
        self._upsert(written)
        if written or replaced:
            self._bump_version()
        return written, len(replaced)

    def _upsert(self, rows: list[tuple]) -> None:
        """Write rows of ``_commit_chunk`` as records, each under its key (the same key again
        replaces it), in its modality's partition."""
        for start in range(0, len(rows), BATCH):
            records = []
            for row in rows[start : start + BATCH]:
                path, name, digest, modality, title, metadata, vector, added = row[:8]
                given = row[8] if len(row) > 8 else None
                fields = json.loads(metadata)
                records.append({
                    "id": int(given) if given is not None else item_id(path, name), "path": path, "name": name,
                    "content_hash": digest, "modality": modality, "title": title, "metadata": fields,
                    "words": words_of(title, fields), "added": float(added),
                    "vector": normalize(np.frombuffer(vector, np.float32)[None])[0].tolist(),
                })
            for modality in sorted({record["modality"] for record in records}):
                self.client.upsert(self.collection, [r for r in records if r["modality"] == modality], partition_name=modality)

    def prune(self) -> list[str]:
        """Drop the items of files that no longer exist; returns their paths."""
        self._check_writable()
        gone = sorted({row["path"] for row in self._rows("", ["path"])} - {p for p in self._known() if Path(p).exists()})
        for start in range(0, len(gone), 200):
            self.client.delete(self.collection, filter=f"path in [{', '.join(literal(p) for p in gone[start : start + 200])}]")
        if gone:
            self._bump_version()
        return gone

    def remove(self, item_ids: Iterable[int]) -> int:
        """Drop the given items; returns how many were there."""
        self._check_writable()
        ids = sorted({int(i) for i in item_ids})
        there = [row["id"] for row in self.client.get(self.collection, ids=ids, output_fields=["id"])] if ids and self._items_ready() else []
        if there:
            self.client.delete(self.collection, ids=there)
            self._bump_version()
        return len(there)

    def update_metadata(self, changes: Iterable[tuple[int, str, dict[str, str]]]) -> int:
        """Set the title and metadata of items, (id, title, metadata) each; vectors are left as
        they are. Returns how many items were there."""
        self._check_writable()
        changes = {int(item): (title, metadata) for item, title, metadata in changes}
        if not changes or not self._items_ready():
            return 0
        rows = self.client.get(self.collection, ids=sorted(changes), output_fields=["*"])
        for row in rows:
            row["title"], row["metadata"] = changes[row["id"]][0], dict(changes[row["id"]][1])
            row["words"] = words_of(row["title"], row["metadata"])
        for modality in sorted({row["modality"] for row in rows}):
            self.client.upsert(self.collection, [dict(row) for row in rows if row["modality"] == modality], partition_name=modality)
        if rows:
            self._bump_version()
        return len(rows)

    # --- reading ----------------------------------------------------------------------------
    def _expression(self, modality: str | None, where: dict[str, str] | None, keyword: str = "",
                    within: Sequence[int] | None = None) -> str:
        """A filter as one Milvus expression: the modality and the title are scalar fields, other
        fields are keys of the JSON field (any name, quoted as a literal), the keyword is looked
        for in ``words``, a saved selection is a list of keys."""
        parts = [f"modality == {literal(modality)}"] if modality else []
        for key, value in (where or {}).items():
            parts.append(f"title == {literal(value)}" if key == "title" else f"metadata[{literal(key)}] == {literal(value)}")
        if keyword:
            parts.append(f"words like {like_pattern(keyword.lower())}")
        if within is not None:
            parts.append(f"id in [{', '.join(str(int(i)) for i in within)}]")
        return " and ".join(f"({part})" for part in parts)

    def _item(self, row: dict) -> dict:
        return {"id": int(row["id"]), "path": row["path"], "name": row["name"], "modality": row["modality"],
                "title": row["title"], "metadata": dict(row["metadata"] or {})}

    def items(self, modality: str | None = None, where: dict[str, str] | None = None, limit: int | None = None) -> list[LibraryItem]:
        """The items (of ``modality``, whose fields equal ``where``), in the order they were added."""
        rows = sorted(self._rows(self._expression(modality, where), ITEM_FIELDS), key=lambda row: (row["added"], row["id"]))
        return [LibraryItem(**self._item(row)) for row in rows[: limit or None]]

    def items_by_id(self, item_ids: Sequence[int]) -> list[LibraryItem]:
        """The items of the given ids (those that exist), in id order."""
        ids = sorted({int(i) for i in item_ids})
        if not ids or not self._items_ready():
            return []
        rows = [row for start in range(0, len(ids), BATCH)
                for row in self.client.get(self.collection, ids=ids[start : start + BATCH], output_fields=ITEM_FIELDS)]
        return [LibraryItem(**self._item(row)) for row in sorted(rows, key=lambda row: row["id"])]

    def _read_metadata(self, version: int) -> tuple[Counter, dict[str, Counter]]:
        """How many items have each field, and each value of each field, at ``version``."""
        keys, values = Counter(), {}
        for row in self._rows("", ["metadata"]):
            for key, value in (row["metadata"] or {}).items():
                keys[key] += 1
                values.setdefault(key, Counter())[str(value)] += 1
        return keys, values

    def fields(self) -> list[str]:
        """Every metadata key of the library that is shown, most common first (ties by name)."""
        from clamp3.metadata import HIDDEN_FIELDS

        counts = {k: n for k, n in self._listing(self.version)[0].items() if k not in HIDDEN_FIELDS}
        return sorted(counts, key=lambda k: (-counts[k], k))

    def field_values(self, key: str, limit: int = 500) -> list[str]:
        """The values of the metadata field ``key``, most common first; none for no key."""
        if not key:
            return []
        counts = self._listing(self.version)[1].get(key, Counter())
        return sorted(counts, key=lambda v: (-counts[v], v))[:limit]

    def modalities(self) -> list[str]:
        """The modalities the library holds, in name order."""
        return sorted(m for m in MODALITIES if self._count(f"modality == {literal(m)}"))

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids (N,) ascending, unit vectors (N, D)): every vector read from the collection."""
        rows = sorted(self._rows("", ["id", "vector"]), key=lambda row: row["id"])
        dim = int(self.meta().get("dim", 0))
        ids = np.array([row["id"] for row in rows], np.int64)
        return ids, np.array([row["vector"] for row in rows], np.float32).reshape(len(rows), dim)

    def vectors_of(self, item_ids: list[int]) -> np.ndarray:
        """Unit vectors (len(item_ids), D) of the given items, in that order."""
        wanted = [int(i) for i in item_ids]
        found = {}
        if wanted and self._items_ready():
            for start in range(0, len(wanted), BATCH):
                for row in self.client.get(self.collection, ids=wanted[start : start + BATCH], output_fields=["id", "vector"]):
                    found[int(row["id"])] = row["vector"]
        missing = [i for i in wanted if i not in found]
        if missing:
            raise LibraryError(f"{self.target}: no item with the id {', '.join(map(str, missing[:5]))} (removed since?)")
        return np.array([found[i] for i in wanted], np.float32).reshape(len(wanted), -1)

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
        ``within``), searched by Milvus under the filter. ``exact`` is not offered: Milvus searches
        its index (at the ef it is given, exact on the few items of a small library)."""
        keyword = self._keyword(keyword)
        empty = LibraryError(f"{self.target}: the library is empty", hint=Hint("add music to it first", "index"))
        if not self._items_ready():
            raise empty
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        meta = self._search_meta()
        if queries.shape[1] != int(meta["dim"]):
            self._search_keys = None  # (the collection may have been made anew for another model meanwhile)
            meta = self._search_meta()
        if queries.shape[1] != int(meta["dim"]):
            raise LibraryError(
                f"query vectors have {queries.shape[1]} dimensions; {self.target} holds {meta['dim']}-d vectors "
                f"of model '{meta.get('model')}'"
            )
        if not np.isfinite(queries).all():
            raise InputError("<query>", "the query vector contains NaN or infinite values")
        if within is not None and not len(within):
            if not self._count(""):
                raise empty
            return [[] for _ in queries]
        k = min(int(k), TOP_K_LIMIT)
        expression = self._expression(modality, where, keyword, within)
        ef = max(EF_PARTITION if modality else EF_SEARCH, k)
        if expression:
            current = self.meta(SEARCH_CONSISTENCY)
            version = (current.get("fingerprint"), int(current.get("version", 0)))  # (of the model whose vectors these are)
            kept = self._counted(*version, expression)
            if not kept:
                if not self._count(""):
                    raise empty
                return [[] for _ in queries]
            share = kept / self._counted(*version, self._expression(modality, None))  # of the partition searched
            ef = ef if share >= 1 else max(k, int(min(EF_MAX, max(ef, EF_FILTERED / share))))
        try:
            found = self.client.search(
                self.collection, data=normalize(queries).tolist(), limit=k, filter=expression, output_fields=ITEM_FIELDS[1:6],
                partition_names=[modality] if modality else None, search_params={"metric_type": "IP", "params": {"ef": ef}},
                consistency_level=SEARCH_CONSISTENCY,
            )
        except _milvus().MilvusException as exc:  # (a collection dropped or made anew under this client)
            self._search_keys, self._loaded = None, False
            raise LibraryError(f"{self.target}: the search failed in Milvus ({exc})") from exc
        if not expression and not any(found) and not self._count(""):
            raise empty
        return [[Hit(rank=rank, score=float(hit["distance"]), **self._item({"id": hit["id"], **hit["entity"]}))
                 for rank, hit in enumerate(hits, 1)] for hits in found]

    def _search_meta(self) -> dict[str, str]:
        """The library's keys as a search needs them (the model and dimension, fixed once the first
        add made the items' collection), read once: a search without a filter is one request."""
        if self._search_keys is None:
            meta = self.meta(SEARCH_CONSISTENCY)
            if "dim" not in meta:  # (another process's first add, not yet seen here)
                raise LibraryError(f"{self.target}: the library is empty", hint=Hint("add music to it first", "index"))
            self._search_keys = meta
        return self._search_keys

    def _modality_sample(self, version: int, modality: str) -> np.ndarray:
        """Unit vectors of at most CALIBRATION_SAMPLE items of ``modality`` (the keys are hashes,
        so the first rows by key are a sample that does not depend on the order of adding)."""
        rows = sorted(self._rows(f"modality == {literal(modality)}", ["id", "vector"]), key=lambda row: row["id"])
        return np.array([row["vector"] for row in rows[:CALIBRATION_SAMPLE]], np.float32)

    def close(self) -> None:
        self.client.close()


def _busy_hint(uri: str) -> str:
    """Why a milvus-lite file may not open: another process serves it."""
    if uri.startswith("http"):
        return "is the server running?"
    return (f"a milvus-lite file is served by the one process that opens it; to share it, run "
            f"'python -m milvus_lite server --data-dir {uri} --port PORT' and give milvus://127.0.0.1:PORT/{DEFAULT_COLLECTION}")


def open_library(target: str | Path, model=None, create: bool = False, read_only: bool = False, **options) -> BaseLibrary:
    """The library named by ``target``: a folder (the SQLite store) or a Milvus target
    (``milvus://host:port/collection``, or a milvus-lite ``*.db`` path)."""
    if is_milvus_target(target):
        return MilvusLibrary.open(target, model=model, create=create, read_only=read_only, space=options.get("space", False))
    from clamp3.library.store import Library

    return Library.open(target, model=model, create=create, read_only=read_only, **options)

