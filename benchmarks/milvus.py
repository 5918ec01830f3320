"""Search through the Milvus store (milvus-lite) beside the SQLite store, on the same realistic
vectors: the demo library's real embeddings grown with matched noise (``search.grow``), each
copy with its source's metadata and modality; text queries (prompts in seven languages encoded by
the embedded model) and music queries (real vectors moved by noise matched to their nearest
neighbour), reported apart (``search.realistic_queries``). Under the modality filter most music
queries are scores asking for recordings: across the modality gap, as every text query is.

p50 / p99 latency of one query and recall@10 against exact search over the same matrix, for
the SQLite store as ``Library.search`` runs it (exact up to its ANN threshold, the IVF index
above it), and for ``MilvusLibrary.search`` (HNSW in milvus-lite), without a filter, with the
modality filter and with a metadata filter (``region=China``: 10 queries, seconds each in milvus-lite). The Milvus collection is written
as ``_commit_chunk`` writes records (the hash check of an add left out: every row is new).

    python benchmarks/milvus.py [--sizes 100000] [--million] [--queries 50] [--scratch DIR]
                                [--server milvus://127.0.0.1:19530] [--no-lite]

``--server`` adds a Milvus server beside them (its collection ``grown_SIZE`` is written once and
kept). A real Milvus server runs on one machine without Docker from the ``milvus`` wheel on PyPI
(Milvus 2.3.5 standalone with its own etcd): ``pip install milvus==2.3.5`` in a virtual
environment, then ``milvus-server --data DIR --proxy-port 19530``. ``--no-lite`` leaves milvus-lite
out (its 10^6 build and queries take hours).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from search import build_store, grow, machine_load, realistic_queries, time_queries  # noqa: E402

from clamp3.retrieval import exact_top_k  # noqa: E402

FILTER = {"region": "China"}


def build_milvus(target: Path | str, vectors: np.ndarray, described: list[tuple[str, str, str]]) -> float:
    """A milvus-lite library of ``vectors``, in records as the store writes them; seconds taken."""
    from clamp3.library import MilvusLibrary

    started = time.perf_counter()
    library = MilvusLibrary(target, create=True)
    library._set({"model": "grown-demo", "fingerprint": "grown", "dim": str(vectors.shape[1]), "version": "1"})
    library._create_items(vectors.shape[1])
    library._create_partitions()
    for start in range(0, len(vectors), 20_000):
        library._upsert([(f"/grown/{i}", f"g{i}", "h", *described[i], vectors[i].tobytes(), float(i))
                         for i in range(start, min(start + 20_000, len(vectors)))])
    library.client.flush(library.collection)  # seals the segments and builds their HNSW indexes
    library.close()
    return time.perf_counter() - started


def bench(size: int, scratch: Path, vectors: np.ndarray, described, queries: dict[str, np.ndarray],
          server: str | None = None, lite: bool = True) -> list[str]:
    from clamp3.library import Library, MilvusLibrary

    matrix = vectors[:size]
    keep = {"audio": np.array([d[0] == "audio" for d in described[:size]]),
            "China": np.array([json.loads(d[2]).get("region") == "China" for d in described[:size]])}
    folder, lite_file = scratch / f"sqlite-{size}", scratch / f"milvus-{size}.db"
    if not (folder / "library.sqlite3").exists():
        print(f"  SQLite store of {size:,}: {build_store(folder, matrix, described[:size]):.0f} s", flush=True)
    stores = {}
    if lite:
        if not lite_file.exists():
            print(f"  milvus-lite collection of {size:,}: {build_milvus(lite_file, matrix, described[:size]):.0f} s", flush=True)
        stores["milvus-lite HNSW"] = MilvusLibrary(lite_file)
    if server:
        target = f"{server.rstrip('/')}/grown_{size}"  # milvus://HOST:PORT
        probe = MilvusLibrary(target, create=True)
        written = len(probe)
        probe.close()
        if written != size:
            if written:
                raise SystemExit(f"{target} holds {written:,} items, not {size:,}: drop the collection first")
            print(f"  Milvus server collection of {size:,}: {build_milvus(target, matrix, described[:size]):.0f} s", flush=True)
        stores[f"Milvus server {_server_version(target)} HNSW"] = MilvusLibrary(target)
    sqlite = Library(folder)
    ids = sqlite.matrix()[0]  # row i of the grown matrix is the SQLite item ids[i] and the Milvus item of /grown/i
    for milvus in stores.values():
        assert milvus.search(queries["music"][:1], 10)[0], "the Milvus collection answers nothing"
    if size > sqlite.ann_threshold:
        started = time.perf_counter()
        sqlite.ann_index()
        print(f"  SQLite store's IVF index: {time.perf_counter() - started:.0f} s", flush=True)

    lines = []
    for (label, filters, mask), (kind, kind_queries) in itertools.product(
            (("no filter", {}, None), ("modality=audio", {"modality": "audio"}, keep["audio"]),
             ("where region=China", {"where": FILTER}, keep["China"])), queries.items()):
        rows = None if mask is None else np.flatnonzero(mask)
        asked = kind_queries[:10] if "where" in filters and lite else kind_queries  # milvus-lite reads every row's JSON: seconds a query
        truth = [set(exact_top_k(matrix, q[None], 10, rows)[1][0].tolist()) for q in asked]

        def sqlite_rows(q, filters=filters):
            return [int(np.searchsorted(ids, h.id)) for h in sqlite.search(q, 10, **filters)[0]]

        def milvus_rows(q, filters=filters, milvus=None):
            return [int(h.name[1:]) for h in milvus.search(q, 10, **filters)[0]]

        searches = [("SQLite store", sqlite_rows)] + [(name, functools.partial(milvus_rows, milvus=milvus)) for name, milvus in stores.items()]
        for store, search in searches:
            search(kind_queries[:1])  # warm: the matrix, the filter's ids, the collection loaded
            p50, p99, recall, _ = time_queries(search, asked, [list(t) for t in truth])
            lines.append(f"| {size:,} | {store} | {kind} ({len(asked)}) | {label} | {p50:,.1f} | {p99:,.1f} | {recall:.3f} |")
            print(lines[-1], flush=True)
    sqlite.close()
    for milvus in stores.values():
        milvus.close()
    return lines


def _server_version(target: str) -> str:
    from clamp3.library import MilvusLibrary

    library = MilvusLibrary(target)
    try:
        return str(library.client.get_server_version())
    finally:
        library.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--million", action="store_true", help="1,000,000 items too")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--server", help="a Milvus server to measure too: milvus://HOST:PORT")
    parser.add_argument("--no-lite", action="store_true", help="leave milvus-lite out")
    parser.add_argument("--scratch", help="where the stores are built (kept, and reused by the next run); a temporary folder otherwise")
    args = parser.parse_args()
    import milvus_lite
    import pymilvus

    print(machine_load(), f"before; pymilvus {pymilvus.__version__}, milvus-lite {milvus_lite.__version__}", flush=True)
    sizes = args.sizes + ([1_000_000] if args.million else [])
    vectors, described, real = grow(max(sizes))
    queries = realistic_queries(real, args.queries)
    scratch = Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="clamp3-milvus-"))
    rows = []
    try:
        for size in sizes:
            rows += bench(size, scratch, vectors, described, queries, args.server, not args.no_lite)
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print("\n| items | store | queries | filter | p50 ms | p99 ms | recall@10 |\n|---:|---|---|---|---:|---:|---:|")
    print("\n".join(rows))
    print("\n" + machine_load(), "after")


if __name__ == "__main__":
    main()
