"""Search latency and recall, the library's store, and evaluation speed against the official loop.

Library search on N random unit vectors of 768 dimensions: p50 / p99 latency of one query for
exact search (the matrix product clamp3 runs below its ANN threshold) and for the FAISS HNSW
index it builds above it, and ANN recall@10 against exact. Random vectors are the hardest case
for an ANN index: there are no clusters to exploit. Then ``eval`` on Q x Q random pairs, side
by side with a re-implementation of the official clamp3_eval.py loop.

    python benchmarks/search.py [--sizes 10000 100000 1000000] [--queries 200] [--eval-size 10000] [--ann-max 200000]

``--store`` measures the library's store instead, old way beside new in one run, on a library of
100,000 (``--million``: and 1,000,000) realistic vectors: the demo library's real embeddings,
grown with noise matched to each one's distance to its nearest real neighbour, each copy with
its source's metadata and modality. Exact search p50 with music queries (real vectors) and text
queries (the embedded model's vectors of ``TEXTS``) kept apart: the old way (a copy of the matrix
per query, as ``Library.search`` ran), the new (``Library.search(exact=True)`` on the mapped
matrix) and FAISS ``IndexFlatIP`` over the same matrix; what one query allocates; ``matrix()``
load time and peak memory in a fresh process (old: row by row from SQLite; new: the vector file;
new without it: written from SQLite; read-only without it: built in memory); a metadata filter
(``region=China``) and the modality filter the old way (json_each over the items; the ids read row by
row, their rows copied) and the new (the ``item_fields`` index; the ids read as one string, the rest
of the matrix masked or the allowed rows gathered), on a filter's first use in a library version and
repeated (cached).

    python benchmarks/search.py --store [--store-sizes 100000] [--million] [--scratch DIR] [--no-text]

``--passages`` measures passage search (``clamp3.passages``) beside item-level search in one run, on
a library of 100,000 items grown as ``--store`` grows them, each with as many windows as its source
item of the demo library has with the default settings (counted on its music: scores 8 bars every
4, audio 20 s every 5). The windows' vectors are grown from real ones: the windows of a seeded
sample of the demo's items are embedded with the embedded model, and each grown window is its grown
item's vector moved by the difference between a sampled real window and its item (one of the same
modality), then made unit. Library size on disk with and without the passages (their SQLite rows
and their inverted file), load time in a fresh process (the item matrix; the windows read and their
inverted file read), the inverted file's build time, p50 / p99 of one query (text and music queries
apart) for item-level search (``Library.search``, exact at 100,000 items), passage search as it runs
(through the inverted file above the ANN threshold) and passage search exact, and the recall@10 of
the items passage search finds against exact.

    python benchmarks/search.py --passages [--store-sizes 100000] [--sample-items 400] [--scratch DIR] [--no-text]
``--indexes`` puts the store's three ways of searching side by side in one run: exact, the in-memory
IVF-SQ8 (``ann.faiss``) and the on-disk IVF-PQ (``clamp3.library.ondisk``), each built in a fresh
process (seconds, peak memory, disk) and served from another (one query at a time: p50 / p99,
recall@10 against exact search with and without the filter ``region=China``, resident memory after
the queries, anonymous + file-mapped), on a SQLite library of realistic vectors (the demo library's
grown with matched noise, as above; text queries, the embedded model's vectors of benchmarks/ann.py's
prompts in seven languages, and music queries, real vectors moved by fresh noise, measured apart)
and, as the worst case, of random unit vectors with random queries. The on-disk index is then
timed appending 1,000 items.

    python benchmarks/search.py --indexes [--index-sizes 100000 1000000] [--random-sizes 100000]
        [--index-queries 100] [--kinds exact ivf-sq8 ivf-pq-disk] [--scratch DIR]

``--layouts`` measures the indexes themselves, without the SQLite library (whose writing took 34
minutes at 3x10^6 here): the same grown vectors in a float32 file, the in-memory IVF-SQ8
(``build_ivf`` / ``ivf_search``) beside the on-disk index in its layout before fast scan
(``ondisk.PQ8``) and now (``ondisk.DEFAULT_LAYOUT``), each built in a fresh process (seconds, peak
memory, disk; the on-disk ones then timed appending 1,000 rows) and served from another (text and
music queries apart, with and without ``region=China`` as the allowed ids, recall@10 against exact
search, p50 / p99, resident memory after the queries).

    python benchmarks/search.py --layouts [--layout-sizes 1000000 3000000] [--index-queries 100] [--scratch DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clamp3.retrieval import build_hnsw, exact_top_k, normalize, retrieval_ranks  # noqa: E402

DIM = 768


def time_queries(search, probes: np.ndarray, truth: list[np.ndarray] | None = None) -> tuple[float, float, float, list]:
    """One query at a time -> p50 ms, p99 ms, recall@10 against ``truth``, and the rows found."""
    latencies, found = [], []
    for query in probes:
        start = time.perf_counter()
        rows = search(query[None])
        latencies.append(time.perf_counter() - start)
        found.append(rows)
    recall = 1.0 if truth is None else float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))
    p50, p99 = np.percentile(np.array(latencies) * 1000, [50, 99])
    return float(p50), float(p99), recall, found


def bench_search(size: int, queries: int, ef_search: int, rng: np.random.Generator, ann: bool) -> list[str]:
    matrix = normalize(rng.standard_normal((size, DIM), dtype=np.float32))
    probes = normalize(rng.standard_normal((queries, DIM), dtype=np.float32))
    p50, p99, _, exact = time_queries(lambda q: exact_top_k(matrix, q, 10)[1][0], probes)
    rows = [f"| {size:,} | exact | {p50:.1f} | {p99:.1f} | 1.000 | - |"]
    if ann:
        start = time.perf_counter()
        index = build_hnsw(matrix)
        build = time.perf_counter() - start
        index.hnsw.efSearch = ef_search
        p50, p99, recall, _ = time_queries(lambda q: index.search(q, 10)[1][0], probes, exact)
        rows.append(f"| {size:,} | HNSW M=32 ef={ef_search} | {p50:.2f} | {p99:.2f} | {recall:.3f} | {build:.0f} s |")
    return rows + bench_ivf(matrix, probes, exact)


def bench_ivf(matrix: np.ndarray, probes: np.ndarray, exact: list[np.ndarray]) -> list[str]:
    """IVF-Flat, which builds in minutes where HNSW takes tens of minutes on 2 cores."""
    import faiss

    nlist = int(4 * np.sqrt(len(matrix)))
    start = time.perf_counter()
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(matrix.shape[1]), matrix.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(matrix[np.random.default_rng(1).choice(len(matrix), min(len(matrix), 40 * nlist), replace=False)])
    index.add(matrix)
    build = time.perf_counter() - start
    rows = []
    for nprobe in (16, 64):
        index.nprobe = nprobe
        p50, p99, recall, _ = time_queries(lambda q: index.search(q, 10)[1][0], probes, exact)
        rows.append(f"| {len(matrix):,} | IVF-Flat nlist={nlist} nprobe={nprobe} | {p50:.2f} | {p99:.2f} | {recall:.3f} | {build:.0f} s |")
    return rows


def official_eval_loop(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """clamp3_eval.py: per query, cosine with every reference, a Python sort, list.index."""
    import torch

    refs = torch.tensor(references)
    ranks = []
    for idx, query in enumerate(queries):
        similarities = torch.cosine_similarity(torch.tensor(query).unsqueeze(0), refs)
        ordered = sorted(enumerate(similarities.tolist()), key=lambda x: (x[1], x[0] == idx), reverse=True)
        ranks.append([x[0] for x in ordered].index(idx) + 1)
    return np.array(ranks)


# --- the library's store: old way beside new --------------------------------------------------------
TEXTS = [
    "Chinesisches Volkslied aus Shanxi", "a lively Irish jig", "une chanson populaire de Lorraine", "巴赫的四声部众赞歌",
    "una canción de amor", "a slow air", "ルクセンブルクの民謡", "народная песня из Польши", "a hornpipe in D major",
    "musica del Rinascimento a quattro voci", "a Bach chorale in four parts", "a dance tune from Germany",
    "ein Wiegenlied", "a march in 2/4", "a children's song", "a minuet by Mozart", "山西民歌", "a ballad in a minor key",
    "Polish folk dance", "a hymn for four voices",
]
OLD_FILTER_SQL = ("SELECT id FROM items WHERE EXISTS (SELECT 1 FROM json_each(items.metadata) AS j WHERE j.key = ? AND j.value = ?) "
                  "ORDER BY id")  # Library._filter_sql before the table of fields
OLD_MODALITY_SQL = "SELECT id FROM items WHERE modality = ? ORDER BY id"
FILTER = {"region": "China"}


def machine_load() -> str:
    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg()) + f" (1 / 5 / 15 min) on {os.cpu_count()} cores"


def old_matrix(db: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """Library.matrix before the vector file: row by row from SQLite, stacked, normalised."""
    ids, vectors = [], []
    for item_id, blob in db.execute("SELECT id, vector FROM items ORDER BY id"):
        ids.append(item_id)
        vectors.append(np.frombuffer(blob, dtype=np.float32))
    return np.asarray(ids, dtype=np.int64), normalize(np.stack(vectors))


def grow(size: int, seed: int = 0) -> tuple[np.ndarray, list[tuple[str, str, str]], np.ndarray]:
    """``size`` vectors grown from the demo library's: its real vectors first, then copies of them
    moved by Gaussian noise scaled so that a copy lies about as far from its source as the source
    from its nearest real neighbour; with each source's (modality, title, metadata JSON)."""
    from clamp3.assets import library_dir
    from clamp3.library import Library

    demo = Library.open(library_dir(unpack=False), read_only=True)
    items = demo.items()
    real = demo.vectors_of([item.id for item in items])  # (R, D) unit
    nearest = np.empty(len(real), np.float32)
    for start in range(0, len(real), 2048):
        cosines = real[start : start + 2048] @ real.T  # (block, R)
        cosines[np.arange(len(cosines)), np.arange(start, start + len(cosines))] = -np.inf
        nearest[start : start + 2048] = cosines.max(axis=1)
    distance = np.sqrt(np.maximum(2 - 2 * nearest, 0))  # to the nearest real neighbour
    rng = np.random.default_rng(seed)
    sources = np.arange(size) % len(real)
    vectors = np.empty((size, real.shape[1]), np.float32)
    for start in range(0, size, 100_000):
        rows = sources[start : start + 100_000]
        noise = rng.standard_normal((len(rows), real.shape[1]), dtype=np.float32) * (distance[rows] / np.sqrt(real.shape[1]))[:, None]
        noise[(start + np.arange(len(rows))) < len(real)] = 0  # the real vectors themselves
        vectors[start : start + 100_000] = normalize(real[rows] + noise)
    described = [(item.modality, item.title, json.dumps(item.metadata, ensure_ascii=False)) for item in items]
    demo.close()
    return vectors, [described[i] for i in sources], real


def build_store(folder: Path, vectors: np.ndarray, described: list[tuple[str, str, str]]) -> float:
    """A library of ``vectors`` written as ``Library.add`` writes chunks; seconds taken."""
    from clamp3.library import Library

    started = time.perf_counter()
    library = Library(folder, create=True)
    identity = {"model": "grown-demo", "fingerprint": "grown", "dim": str(vectors.shape[1])}
    for start in range(0, len(vectors), 20_000):
        library._commit_chunk([(f"/grown/{i}", f"g{i}", "h", *described[i], vectors[i].tobytes(), 0.0)
                               for i in range(start, min(start + 20_000, len(vectors)))], identity)
    library.close()
    return time.perf_counter() - started


def load_child(mode: str, folder: str) -> None:
    """One matrix() load in this fresh process: prints seconds, peak memory growth and the matrix's size."""
    from clamp3.library import Library

    status = Path("/proc/self/status")

    def kib(field: str) -> int:
        return int(next(line for line in status.read_text().splitlines() if line.startswith(field)).split()[1])

    if mode == "passages":
        from clamp3.passages import _index, _loaded

        library = Library.open(folder, read_only=True)
        library.version  # noqa: B018 - opened and read before the clock starts
    elif mode == "old":
        db = sqlite3.connect(Path(folder) / "library.sqlite3")
    else:
        library = Library.open(folder, read_only=mode == "read-only")
        library.version  # noqa: B018 - opened and read before the clock starts
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts from here
    before = kib("VmRSS:")
    started = time.perf_counter()
    if mode == "passages":
        loaded = _loaded(library)
        if len(loaded.items) > library.ann_threshold:
            _index(library, loaded)
        matrix = loaded.items
    else:
        ids, matrix = old_matrix(db) if mode == "old" else library.matrix()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mib": (kib("VmHWM:") - before) / 1024, "matrix_mib": matrix.nbytes / 2**20}))


def timed_load(mode: str, folder: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--load-child", mode, str(folder)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.splitlines()[-1])


def latency_ms(search, queries: np.ndarray, warm: int = 2) -> tuple[float, float, list]:
    """One query at a time, after ``warm`` untimed ones -> p50 ms, p99 ms and each query's answer."""
    for query in queries[:warm]:
        search(query[None])
    times, answers = [], []
    for query in queries:
        started = time.perf_counter()
        answers.append(search(query[None]))
        times.append(time.perf_counter() - started)
    p50, p99 = np.percentile(np.array(times) * 1000, [50, 99])
    return float(p50), float(p99), answers


def p50_ms(search, queries: np.ndarray, warm: int = 2) -> float:
    return latency_ms(search, queries, warm)[0]


def allocated_mib(search, query: np.ndarray) -> float:
    """What one query allocates at its peak (tracemalloc: numpy's and Python's allocations)."""
    search(query[None])
    tracemalloc.start()
    try:
        search(query[None])
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bench_store(size: int, scratch: Path, music: np.ndarray, text: np.ndarray | None, vectors, described) -> list[str]:
    import faiss

    from clamp3.library import Library

    folder = scratch / f"store-{size}"
    if not (folder / "library.sqlite3").exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"  building a library of {size:,} grown vectors: {build_store(folder, vectors[:size], described[:size]):.0f} s",
              flush=True)
    for stale in folder.glob("vectors.*"):
        stale.unlink()
    loads = {"written from SQLite (no vector file yet)": timed_load("new", folder), "old": timed_load("old", folder),
             "new": timed_load("new", folder), "read-only, no vector file: built in memory": None}
    for stale in folder.glob("vectors.*"):
        stale.unlink()
    loads["read-only, no vector file: built in memory"] = timed_load("read-only", folder)
    timed_load("new", folder)  # the vector file again, for the searches

    library = Library(folder)
    ids, matrix = library.matrix()
    db = library.db
    flat = faiss.IndexFlatIP(matrix.shape[1])
    flat.add(matrix)

    def old_search(query, where=None, modality=None):  # Library.search before: a copy of the allowed rows (all of them without a filter)
        if where is None and modality is None:
            rows = np.arange(len(ids))
        else:
            sql, params = (OLD_FILTER_SQL, [x for kv in where.items() for x in kv]) if where else (OLD_MODALITY_SQL, [modality])
            rows = np.searchsorted(ids, np.fromiter((i for (i,) in db.execute(sql, params)), dtype=np.int64))
        return exact_top_k(matrix[rows], normalize(query), 10)

    kinds = [("music", music)] + ([("text", text)] if text is not None else [])
    lines = []
    for kind, queries in kinds:
        old = p50_ms(old_search, queries)
        new = p50_ms(lambda q: library.search(q, 10, exact=True), queries)
        ranked = p50_ms(lambda q: exact_top_k(matrix, normalize(q), 10), queries)
        faiss_ms = p50_ms(lambda q: flat.search(normalize(q), 10), queries)
        lines.append(f"| {size:,} | exact search p50 ms, {kind} queries | {old:,.1f} | {new:,.1f} ({ranked:,.1f} ranking only) | "
                     f"{faiss_ms:,.1f} |")
    lines.append(f"| {size:,} | allocated by one query, MiB (matrix {matrix.nbytes / 2**20:,.0f}) | "
                 f"{allocated_mib(old_search, music[0]):,.1f} | {allocated_mib(lambda q: library.search(q, 10, exact=True), music[0]):,.1f} | "
                 f"{allocated_mib(lambda q: flat.search(normalize(q), 10), music[0]):,.1f} |")
    few = music[: 5 if size >= 1_000_000 else 20]  # the old filter reads every row's JSON: seconds a query

    def first_use(q, **filters):  # the filter's ids read from SQLite, as the first search of a version does
        library._allowed_ids.cache_clear()
        return library.search(q, 10, exact=True, **filters)

    allowed = sum(1 for _ in db.execute("SELECT 1 FROM item_fields WHERE key = 'region' AND value = 'China'"))
    symbolic = db.execute("SELECT COUNT(*) FROM items WHERE modality = 'symbolic'").fetchone()[0]
    for label, filters in ((f"where region=China ({allowed:,} items)", {"where": FILTER}),
                           (f"modality=symbolic ({symbolic:,} items; indexed before too)", {"modality": "symbolic"})):
        old = p50_ms(lambda q, filters=filters: old_search(q, **filters), few, warm=1)
        first = p50_ms(lambda q, filters=filters: first_use(q, **filters), music)
        again = p50_ms(lambda q, filters=filters: library.search(q, 10, exact=True, **filters), music)
        lines.append(f"| {size:,} | search p50 ms with {label}: first use / repeated | {old:,.1f} | {first:,.1f} / {again:,.1f} | - |")
    for name, load in loads.items():
        if name in ("old", "new"):
            continue
        lines.append(f"| {size:,} | matrix(): {name}, s / peak MiB | - | {load['seconds']:,.2f} / {load['peak_mib']:,.0f} | - |")
    lines.insert(0, f"| {size:,} | matrix() in a fresh process, s / peak MiB (matrix {loads['old']['matrix_mib']:,.0f} MiB) | "
                    f"{loads['old']['seconds']:,.2f} / {loads['old']['peak_mib']:,.0f} | "
                    f"{loads['new']['seconds']:,.3f} / {loads['new']['peak_mib']:,.0f} | - |")
    library.close()
    return lines


def main_store(args: argparse.Namespace) -> None:
    import faiss

    print(machine_load(), f"before; numpy {np.__version__}, faiss {faiss.__version__}, {faiss.omp_get_max_threads()} FAISS threads",
          flush=True)
    sizes = args.store_sizes + ([1_000_000] if args.million else [])
    vectors, described, real = grow(max(sizes))
    music = real[np.random.default_rng(1).choice(len(real), args.store_queries, replace=False)]
    text = None
    if not args.no_text:
        from clamp3.embedding import Embedder
        from clamp3.models import load_model

        text = normalize(Embedder(load_model("default")).encode_texts(TEXTS))
    scratch = Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="clamp3-store-"))
    rows = []
    try:
        for size in sizes:
            rows += bench_store(size, scratch, music, text, vectors, described)
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print("\n| items | measure | old | new | FAISS IndexFlatIP |\n|---:|---|---:|---:|---:|")
    print("\n".join(rows))
    print("\n" + machine_load(), "after")


# --- passages beside items ------------------------------------------------------------------------
def demo_windows(sample: int, seed: int = 0):
    """The demo library's window count of every item (default settings), and the embedded model's
    vectors of the windows of ``sample`` items drawn at random: (counts (R,), modality (R,), sampled
    rows, their windows' vectors as (item row, vector) pairs)."""
    from clamp3.assets import library_dir
    from clamp3.embedding import Embedder
    from clamp3.formats import try_read_items
    from clamp3.library import Library
    from clamp3.models import load_model
    from clamp3.passages import DEFAULT_SETTINGS, item_windows

    demo = Library.open(library_dir(unpack=True), read_only=True)
    items = demo.items()
    demo.close()
    counts, windows_of, read = np.zeros(len(items), np.int64), {}, {}
    for row, item in enumerate(items):
        if item.path not in read:
            read[item.path] = {it.name: it for it in try_read_items(Path(item.path))[0]}
        found = read[item.path].get(item.name)
        windows_of[row] = item_windows(found, DEFAULT_SETTINGS) if found is not None else []
        counts[row] = len(windows_of[row])
    sampled = np.sort(np.random.default_rng(seed).choice(len(items), sample, replace=False))
    embedder = Embedder(load_model("default"))
    pairs = [(row, window.item) for row in sampled for window in windows_of[row]]
    started = time.perf_counter()
    vectors = normalize(np.concatenate([np.asarray(v, np.float32).reshape(1, -1) for v in embedder.encode_items([p[1] for p in pairs])]))
    print(f"  {len(pairs):,} windows of {sample} sampled demo items embedded in {time.perf_counter() - started:.0f} s", flush=True)
    modality = np.array([item.modality for item in items])
    return counts, modality, np.array([p[0] for p in pairs]), vectors, embedder


def grow_windows(vectors: np.ndarray, sources: np.ndarray, counts: np.ndarray, modality: np.ndarray, real: np.ndarray,
                 window_rows: np.ndarray, window_vectors: np.ndarray, seed: int = 0):
    """Windows of the grown items (see the module's docstring): (item row (W,), unit vectors (W, D))."""
    rng = np.random.default_rng(seed)
    moves = window_vectors - real[window_rows]  # a real window's place relative to its item
    per_item = counts[sources]
    owners = np.repeat(np.arange(len(vectors)), per_item)
    grown = np.empty((len(owners), vectors.shape[1]), np.float32)
    for kind in np.unique(modality):
        pool = np.flatnonzero(modality[window_rows] == kind)
        rows = np.flatnonzero(modality[sources[owners]] == kind)
        if not len(pool) or not len(rows):
            continue
        for start in range(0, len(rows), 100_000):
            part = rows[start : start + 100_000]
            grown[part] = normalize(vectors[owners[part]] + moves[rng.choice(pool, len(part))])
    return owners, grown


def store_passages(folder: Path, owners: np.ndarray, windows: np.ndarray) -> float:
    """The windows written into the library as ``build_passages`` writes them (ids are rows + 1, the
    first as a running number per item; an item of one window with no vector); seconds taken."""
    import uuid

    from clamp3.library import Library
    from clamp3.passages import DEFAULT_SETTINGS, GENERATION_KEY, PASSAGES_TABLE, SETTINGS_KEY, WHOLE, encode_vector

    started = time.perf_counter()
    library = Library(folder)
    library.db.executescript(PASSAGES_TABLE)
    firsts = np.arange(len(owners)) - np.searchsorted(owners, owners) + 1
    single = np.bincount(owners)[owners] == 1  # an item of one window: its own vector stands for it
    settings = json.dumps(DEFAULT_SETTINGS)
    for start in range(0, len(owners), 50_000):
        rows = [(int(owners[i]) + 1, int(firsts[i]), int(firsts[i]) + 1, WHOLE if single[i] else encode_vector(windows[i]))
                for i in range(start, min(start + 50_000, len(owners)))]
        with library._transaction() as cursor:
            cursor.executemany("INSERT OR REPLACE INTO passages VALUES (?, ?, ?, ?)", rows)
            cursor.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (SETTINGS_KEY, settings))
            cursor.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (GENERATION_KEY, uuid.uuid4().hex))
    library.close()
    return time.perf_counter() - started


def folder_mib(folder: Path, names: tuple[str, ...]) -> float:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file() and p.name.startswith(names)) / 2**20


def main_passages(args: argparse.Namespace) -> None:
    import faiss

    from clamp3.library import Library
    from clamp3.passages import INDEX_NAME, _index, _loaded, search_passages

    print(machine_load(), f"before; numpy {np.__version__}, faiss {faiss.__version__}, {faiss.omp_get_max_threads()} FAISS threads",
          flush=True)
    size = max(args.store_sizes)
    counts, modality, window_rows, window_vectors, embedder = demo_windows(args.sample_items)
    for kind in np.unique(modality):
        c = counts[modality == kind]
        print(f"  demo {kind} items: {len(c):,}, windows per item mean {c.mean():.2f}, p50 / p90 / p99 / max "
              + " / ".join(f"{x:.0f}" for x in np.percentile(c, [50, 90, 99, 100])), flush=True)
    vectors, described, real = grow(size)
    sources = np.arange(size) % len(real)
    owners, windows = grow_windows(vectors, sources, counts, modality, real, window_rows, window_vectors)
    moved = np.einsum("ij,ij->i", windows[:20_000], vectors[owners[:20_000]])
    print(f"  {len(windows):,} grown windows for {size:,} items ({len(windows) / size:.2f} an item); a window's cosine to its item: "
          f"median {np.median(moved):.3f} (real windows: {np.median(np.einsum('ij,ij->i', window_vectors, real[window_rows])):.3f})",
          flush=True)
    music = real[np.random.default_rng(1).choice(len(real), args.store_queries, replace=False)]
    kinds = [("music", music)] + ([] if args.no_text else [("text", normalize(embedder.encode_texts(TEXTS)))])
    del embedder
    scratch = Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="clamp3-passages-"))
    folder = scratch / f"passages-{size}"
    try:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"  items written: {build_store(folder, vectors, described):.0f} s", flush=True)
        del vectors
        item_load = timed_load("new", folder)  # writes the vector file too
        item_load = timed_load("new", folder)
        items_mib = folder_mib(folder, ("library.sqlite3", "vectors."))
        print(f"  windows written: {store_passages(folder, owners, windows):.0f} s", flush=True)
        del windows
        library = Library(folder)
        loaded = _loaded(library)
        started = time.perf_counter()
        _index(library, loaded)
        built = time.perf_counter() - started
        all_mib = folder_mib(folder, ("library.sqlite3", "vectors.", INDEX_NAME))
        passage_load = timed_load("passages", folder)
        rows = [f"| library on disk, MiB | {items_mib:,.0f} | {all_mib:,.0f} ({all_mib / items_mib:.2f}x; the inverted file "
                f"{folder_mib(folder, (INDEX_NAME,)):,.0f}) | - |",
                f"| load in a fresh process, s / peak MiB | {item_load['seconds']:.2f} / {item_load['peak_mib']:,.0f} | "
                f"{passage_load['seconds']:.2f} / {passage_load['peak_mib']:,.0f} | - |",
                f"| inverted file of the windows built, s | - | {built:.0f} | - |"]
        for kind, queries in kinds:
            item_p50, item_p99, _ = latency_ms(lambda q: library.search(q, 10), queries)
            p50, p99, found = latency_ms(lambda q: search_passages(library, q, 10), queries)
            exact50, exact99, truth = latency_ms(lambda q: search_passages(library, q, 10, exact=True), queries)
            recall = np.mean([len({h.id for h in f[0]} & {h.id for h in t[0]}) / max(1, len(t[0])) for f, t in zip(found, truth)])
            rows.append(f"| one query p50 / p99 ms, {kind} queries | {item_p50:,.1f} / {item_p99:,.1f} | {p50:,.1f} / {p99:,.1f} "
                        f"({p50 / item_p50:.2f}x; recall@10 {recall:.3f}) | {exact50:,.1f} / {exact99:,.1f} |")
        library.close()
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{size:,} items, {len(owners):,} windows\n| measure | items | with passages | passages, exact |\n|---|---:|---:|---:|")
    print("\n".join(rows))
# --- the store's indexes side by side: exact, the in-memory IVF-SQ8, the on-disk IVF-PQ --------------
INDEX_KINDS = ("exact", "ivf-sq8", "ivf-pq-disk")


def index_library(kind: str, folder: str):
    """The library as the store opens it for ``kind``: the thresholds put every size in that kind's tier
    (a filter allowing at most 50,000 items is searched exactly, as below ``ann_threshold``)."""
    from clamp3.library import Library

    disk = {"exact": 10**12, "ivf-sq8": 10**12, "ivf-pq-disk": 0}[kind]
    return Library(folder, ann_threshold=50_000, disk_threshold=disk)


def index_child(mode: str, kind: str, folder: str, queries: str) -> None:
    """In this fresh process: ``build`` the kind's index (seconds, peak memory, disk), or ``serve``:
    every query of ``queries`` (.npz of named (Q, D) arrays) one at a time, with and without FILTER;
    prints JSON: latencies, the rows found, resident memory after."""
    status = Path("/proc/self/status")

    def kib(field: str) -> int:
        return int(next(line for line in status.read_text().splitlines() if line.startswith(field)).split()[1])

    library = index_library(kind, folder)
    ids, _ = library.matrix()
    before = kib("VmRSS:")
    if mode == "build":
        started = time.perf_counter()
        if kind != "exact":
            library.ann_index()
        files = [Path(folder) / "ann.faiss"] + list((Path(folder) / "ann-disk").glob("*"))
        print(json.dumps({"seconds": time.perf_counter() - started, "peak_mib": (kib("VmHWM:") - before) / 1024,
                          "disk_mib": sum(f.stat().st_size for f in files if f.exists()) / 2**20}))
        return
    if mode == "append":  # 1,000 items added to the synced index, timed, then removed again (the scratch library is reused)
        from clamp3.library.ondisk import FOLDER

        library.ann_index()
        generation = json.loads((Path(folder) / FOLDER / "stamp.json").read_text())["generation"]
        _, matrix = library.matrix()
        identity = {"model": "grown-demo", "fingerprint": "grown", "dim": str(matrix.shape[1])}
        written, _ = library._commit_chunk([(f"/appended/{i}", f"a{i}", "h", "symbolic", f"a{i}", "{}", matrix[i].tobytes(), 0.0)
                                            for i in range(1000)], identity)
        started = time.perf_counter()
        library.ann_index()
        seconds = time.perf_counter() - started
        retrained = json.loads((Path(folder) / FOLDER / "stamp.json").read_text())["generation"] != generation
        added = library.matrix()[0][-len(written):]
        library.remove(added.tolist())
        print(json.dumps({"seconds": seconds, "retrained": retrained}))
        return
    results = {}
    for name, vectors in np.load(queries).items():
        for filtered in (False, True):
            where = FILTER if filtered else None
            for query in vectors[:2]:  # warm-up
                library.search(query[None], 10, where=where, exact=kind == "exact")
            times, rows = [], []
            for query in vectors:
                started = time.perf_counter()
                hits = library.search(query[None], 10, where=where, exact=kind == "exact")[0]
                times.append(time.perf_counter() - started)
                rows.append(np.searchsorted(ids, [h.id for h in hits]).tolist())
            results[f"{name} {'filtered' if filtered else 'all'}"] = {"times": times, "rows": rows}
    print(json.dumps({"results": results, "rss_mib": kib("VmRSS:") / 1024, "anon_mib": kib("RssAnon:") / 1024,
                      "file_mib": kib("RssFile:") / 1024, "hwm_mib": kib("VmHWM:") / 1024}))


def run_child(*args: str, flag: str = "--index-child") -> dict:
    # OpenMP threads that wait by sleeping: spinning ones took 4x the time to build on 2 cores shared with other work
    env = {"OMP_WAIT_POLICY": "PASSIVE", **os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, flag, *args], capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.splitlines()[-1])


def realistic_queries(real: np.ndarray, count: int) -> dict[str, np.ndarray]:
    """``count`` text prompts (benchmarks/ann.py's, in seven languages) encoded by the embedded model,
    and ``count`` music queries: real vectors moved by fresh noise matched to their nearest neighbour."""
    from ann import text_queries

    from clamp3.embedding import Embedder
    from clamp3.models import load_model

    text = normalize(Embedder(load_model("default")).encode_texts(text_queries(count)))
    rng = np.random.default_rng(1)
    sources = rng.choice(len(real), count, replace=False)
    nearest = np.sort(real[sources] @ real.T, axis=1)[:, -2]
    spread = np.sqrt(np.maximum(2 - 2 * nearest, 0))[:, None] / np.sqrt(real.shape[1])
    music = normalize(real[sources] + rng.standard_normal((count, real.shape[1]), dtype=np.float32) * spread)
    return {"text": text, "music": music}


def bench_indexes(size: int, label: str, vectors: np.ndarray, described, queries: dict[str, np.ndarray], scratch: Path,
                  kinds: list[str], notes: list[str]) -> list[str]:
    """One library of ``size`` items, each kind's index built in a fresh process and served in another."""
    folder = scratch / f"indexes-{label.split()[0]}-{size}"
    if not (folder / "library.sqlite3").exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"  building a library of {size:,} {label} vectors: {build_store(folder, vectors[:size], described[:size]):.0f} s",
              flush=True)
    for stale in [folder / "ann.faiss", folder / "ann.faiss.json", folder / "ann-disk"]:
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    timed_load("new", folder)  # the vector file, before any index
    matrix = vectors[:size]
    china = np.array([json.loads(d[2]).get("region") == FILTER["region"] for d in described[:size]])
    allowed = np.flatnonzero(china)
    truth = {}
    for name, q in queries.items():
        truth[f"{name} all"] = exact_top_k(matrix, q, 10)[0][:, -1]
        truth[f"{name} filtered"] = exact_top_k(matrix, q, 10, allowed)[0][:, -1]
    path = scratch / "queries.npz"
    np.savez(path, **queries)
    lines = []
    for kind in kinds:
        built = run_child("build", kind, str(folder), str(path))
        served = run_child("serve", kind, str(folder), str(path))
        print(f"  {kind} at {size:,}: built in {built['seconds']:.0f} s; {machine_load()}", flush=True)
        if kind == "ivf-pq-disk":
            appended = run_child("append", kind, str(folder), str(path))
            notes.append(f"{size:,} {label}: 1,000 items appended to the on-disk index in {appended['seconds']:.1f} s "
                         f"({'retrained' if appended['retrained'] else 'not retrained'}; the whole build {built['seconds']:.0f} s)")
            print("  " + notes[-1], flush=True)
        for key, result in served["results"].items():
            name, scope = key.split()
            found = [np.asarray(rows, dtype=np.int64) for rows in result["rows"]]
            recall = np.mean([np.sum(matrix[rows] @ query >= bar - 1e-6) / 10
                              for rows, query, bar in zip(found, queries[name], truth[key])])
            p50, p99 = np.percentile(np.array(result["times"]) * 1000, [50, 99])
            where = f"region=China ({len(allowed):,})" if scope == "filtered" else "-"
            lines.append(f"| {size:,} | {label} | {kind} | {name} | {where} | {recall:.3f} | {p50:.1f} | {p99:.1f} | "
                         f"{built['seconds']:.0f} s | {built['peak_mib']:,.0f} | {served['rss_mib']:,.0f} "
                         f"({served['anon_mib']:,.0f} + {served['file_mib']:,.0f} mapped) | {built['disk_mib']:,.0f} |")
            print(lines[-1], flush=True)
    return lines


def main_indexes(args: argparse.Namespace) -> None:
    import faiss

    print(machine_load(), f"before; numpy {np.__version__}, faiss {faiss.__version__}, {faiss.omp_get_max_threads()} FAISS threads",
          flush=True)
    scratch = Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="clamp3-indexes-"))
    scratch.mkdir(parents=True, exist_ok=True)
    rows, notes = [], []
    try:
        if args.index_sizes:
            vectors, described, real = grow(max(args.index_sizes))
            queries = realistic_queries(real, args.index_queries)
            for size in args.index_sizes:
                rows += bench_indexes(size, "realistic", vectors, described, queries, scratch, args.kinds, notes)
            del vectors
        for size in args.random_sizes:  # the worst case: no clusters, every list holds some of a query's neighbours
            vectors, described, _ = grow(size)
            rng = np.random.default_rng(2)
            vectors = normalize(rng.standard_normal(vectors.shape, dtype=np.float32))
            queries = {"random": normalize(rng.standard_normal((args.index_queries, vectors.shape[1]), dtype=np.float32))}
            rows += bench_indexes(size, "random (worst case)", vectors, described, queries, scratch, args.kinds, notes)
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print_table(["items", "vectors", "index", "queries", "filter", "recall@10", "p50 ms", "p99 ms", "build", "build peak MiB",
                 "serving RSS MiB", "index disk MiB"], rows, notes)


def print_table(columns: list[str], rows: list[str], notes: list[str]) -> None:
    """The run's rows under their header (the columns of words left-aligned, of figures right), its
    notes and the machine's load after it."""
    words = {"vectors", "index", "queries", "filter"}
    print("\n| " + " | ".join(columns) + " |\n|" + "|".join("---" if c in words else "---:" for c in columns) + "|")
    print("\n".join(rows))
    print("\n" + "\n".join(notes))
    print("\n" + machine_load(), "after")


# --- the index layouts side by side, on the grown matrix without the SQLite library ------------------
LAYOUT_KINDS = ("ivf-sq8", "ivf-pq-disk-pq8", "ivf-pq-disk")


def layout_child(mode: str, kind: str, folder: str, size: str, queries: str) -> None:
    """In this fresh process, on the first ``size`` rows of ``folder``/grown.npy: ``build`` the kind's index,
    ``append`` 1,000 rows to a built on-disk index (a copy of its first rows, removed again), or ``serve``
    the queries of ``queries`` (.npz) one at a time, all rows and the rows of ``folder``/allowed.npy."""
    import faiss

    from clamp3.library import ondisk
    from clamp3.retrieval import build_ivf, ivf_search

    status = Path("/proc/self/status")

    def kib(field: str) -> int:
        return int(next(line for line in status.read_text().splitlines() if line.startswith(field)).split()[1])

    root, n = Path(folder), int(size)
    where = root / f"{kind}-{n}"
    matrix = np.load(root / "grown.npy", mmap_mode="r")[:n]  # (n, D) float32, mapped
    ids = np.arange(1, n + 1, dtype=np.int64)
    layout = ondisk.PQ8 if kind == "ivf-pq-disk-pq8" else ondisk.DEFAULT_LAYOUT
    before = kib("VmRSS:")
    Path("/proc/self/clear_refs").write_text("5")
    if mode == "build":
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        started = time.perf_counter()
        if kind == "ivf-sq8":
            faiss.write_index(build_ivf(matrix), str(where / "ann.faiss"))
        else:
            ondisk.DiskIndex.build(where, "bench", ids, matrix, 0, layout=layout)
        print(json.dumps({"seconds": time.perf_counter() - started, "peak_mib": (kib("VmHWM:") - before) / 1024,
                          "disk_mib": sum(f.stat().st_size for f in where.rglob("*") if f.is_file()) / 2**20}))
        return
    if mode == "append":  # the first 1,000 rows again under new ids, then the index as it was built
        index = ondisk.DiskIndex.open(where, "bench", matrix.shape[1])
        grown = np.concatenate([ids, np.arange(n + 1, n + 1001)])
        rows = np.concatenate([np.arange(n), np.arange(1000)])
        class Rows:  # the matrix followed by its first 1,000 rows, read as the index reads a library's
            shape = (n + 1000, matrix.shape[1])

            def __getitem__(self, at):
                return matrix[rows[at]]
        started = time.perf_counter()
        appended = index.append(index.view(1, grown, Rows(), 0), grown, Rows(), 0)
        seconds = time.perf_counter() - started
        assert appended is not None and appended.rows == n + 1000
        print(json.dumps({"seconds": seconds, "retrained": appended.stamp.generation != index.stamp.generation}))
        return
    allowed = np.load(root / "allowed.npy")
    allowed = allowed[allowed < n]  # rows
    if kind == "ivf-sq8":
        index = faiss.read_index(str(where / "ann.faiss"))

        def search(query, filtered):
            return [row for _, row in ivf_search(index, matrix, query, 10, allowed if filtered else None)[0]]
    else:
        index = ondisk.DiskIndex.open(where, "bench", matrix.shape[1])
        view = index.view(0, ids, matrix, 0)
        allowed_ids = ids[allowed]

        def search(query, filtered):
            hits = index.search(view, ids, matrix, query, 10, allowed_ids if filtered else None, exact_below=50_000)[0]
            return [item - 1 for _, item in hits]
    results = {}
    for name, vectors in np.load(queries).items():
        for filtered in (False, True):
            for query in vectors[:2]:  # warm-up
                search(query[None], filtered)
            times, found = [], []
            for query in vectors:
                started = time.perf_counter()
                found.append([int(row) for row in search(query[None], filtered)])
                times.append(time.perf_counter() - started)
            results[f"{name} {'filtered' if filtered else 'all'}"] = {"times": times, "rows": found}
    print(json.dumps({"results": results, "rss_mib": kib("VmRSS:") / 1024, "anon_mib": kib("RssAnon:") / 1024,
                      "file_mib": kib("RssFile:") / 1024}))


def main_layouts(args: argparse.Namespace) -> None:
    import faiss

    print(machine_load(), f"before; numpy {np.__version__}, faiss {faiss.__version__}", flush=True)
    scratch = Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="clamp3-layouts-"))
    scratch.mkdir(parents=True, exist_ok=True)
    largest = max(args.layout_sizes)
    rows, notes = [], []
    try:
        path = scratch / "grown.npy"
        vectors, described, real = grow(largest)
        if not path.exists() or np.load(path, mmap_mode="r").shape[0] < largest:
            np.save(path, vectors)
        china = np.array([json.loads(d[2]).get("region") == FILTER["region"] for d in described])
        np.save(scratch / "allowed.npy", np.flatnonzero(china))
        del vectors, described
        queries = realistic_queries(real, args.index_queries)
        np.savez(scratch / "queries.npz", **queries)
        matrix = np.load(path, mmap_mode="r")
        for size in args.layout_sizes:
            allowed = np.flatnonzero(china[:size])
            truth = {}
            for name, q in queries.items():
                truth[f"{name} all"] = exact_top_k(matrix[:size], q, 10)[0][:, -1]
                truth[f"{name} filtered"] = exact_top_k(matrix[:size], q, 10, allowed)[0][:, -1]
            for kind in args.layout_kinds:
                child = (kind, str(scratch), str(size), str(scratch / "queries.npz"))
                built = run_child("build", *child, flag="--layout-child")
                print(f"  {kind} at {size:,}: built in {built['seconds']:.0f} s; {machine_load()}", flush=True)
                served = run_child("serve", *child, flag="--layout-child")
                if kind != "ivf-sq8":
                    appended = run_child("append", *child, flag="--layout-child")
                    notes.append(f"{size:,} {kind}: 1,000 rows appended in {appended['seconds']:.1f} s "
                                 f"({'retrained' if appended['retrained'] else 'not retrained'}; the whole build {built['seconds']:.0f} s)")
                    print("  " + notes[-1], flush=True)
                for key, result in served["results"].items():
                    name, scope = key.split()
                    recall = np.mean([np.sum(matrix[np.asarray(found, dtype=np.int64)] @ query >= bar - 1e-6) / 10
                                      for found, query, bar in zip(result["rows"], queries[name], truth[key])])
                    p50, p99 = np.percentile(np.array(result["times"]) * 1000, [50, 99])
                    where = f"region=China ({len(allowed):,})" if scope == "filtered" else "-"
                    rows.append(f"| {size:,} | {kind} | {name} | {where} | {recall:.3f} | {p50:.1f} | {p99:.1f} | "
                                f"{built['seconds']:.0f} s | {built['peak_mib']:,.0f} | {served['rss_mib']:,.0f} "
                                f"({served['anon_mib']:,.0f} + {served['file_mib']:,.0f} mapped) | {built['disk_mib']:,.0f} |")
                    print(rows[-1], flush=True)
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print_table(["items", "index", "queries", "filter", "recall@10", "p50 ms", "p99 ms", "build", "build peak MiB",
                 "serving RSS MiB", "index disk MiB"], rows, notes)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--load-child":
        return load_child(sys.argv[2], sys.argv[3])
    if len(sys.argv) == 6 and sys.argv[1] == "--index-child":
        return index_child(*sys.argv[2:])
    if len(sys.argv) == 7 and sys.argv[1] == "--layout-child":
        return layout_child(*sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef-search", type=int, default=256)
    parser.add_argument("--eval-size", type=int, default=10_000)
    parser.add_argument("--ann-max", type=int, default=200_000, help="build HNSW only up to this size (slow on 2 cores)")
    parser.add_argument("--store", action="store_true", help="the library's store, old way beside new (see above)")
    parser.add_argument("--store-sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--million", action="store_true", help="--store at 1,000,000 items too")
    parser.add_argument("--store-queries", type=int, default=50)
    parser.add_argument("--scratch", help="where the libraries are built (kept, and reused by the next run); a temporary folder otherwise")
    parser.add_argument("--no-text", action="store_true", help="music queries only (no model is loaded)")
    parser.add_argument("--passages", action="store_true", help="passage search beside item-level search (see above)")
    parser.add_argument("--sample-items", type=int, default=400, help="--passages: demo items whose windows are embedded")
    parser.add_argument("--indexes", action="store_true", help="the store's indexes side by side (see above)")
    parser.add_argument("--index-sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--random-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--index-queries", type=int, default=100, help="text and music queries each")
    parser.add_argument("--kinds", nargs="+", default=list(INDEX_KINDS), choices=INDEX_KINDS)
    parser.add_argument("--layouts", action="store_true", help="the index layouts side by side, without SQLite (see above)")
    parser.add_argument("--layout-sizes", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--layout-kinds", nargs="+", default=list(LAYOUT_KINDS), choices=LAYOUT_KINDS)
    args = parser.parse_args()
    if args.passages:
        return main_passages(args)
    if args.store:
        return main_store(args)
    if args.indexes:
        return main_indexes(args)
    if args.layouts:
        return main_layouts(args)
    rng = np.random.default_rng(0)

    import torch

    print(f"{torch.get_num_threads()} threads\n")
    print("| vectors | search | p50 ms | p99 ms | recall@10 | build |\n|---:|---|---:|---:|---:|---:|")
    for size in args.sizes:
        for row in bench_search(size, args.queries, args.ef_search, rng, ann=size <= args.ann_max):
            print(row, flush=True)

    n = args.eval_size
    if not n:
        return
    references = rng.standard_normal((n, DIM), dtype=np.float32)
    queries = references + rng.standard_normal((n, DIM), dtype=np.float32) * 2.0
    start = time.perf_counter()
    ours = retrieval_ranks(queries, references, np.arange(n))
    ours_seconds = time.perf_counter() - start
    start = time.perf_counter()
    official = official_eval_loop(queries, references)
    official_seconds = time.perf_counter() - start
    agree = float(np.mean(ours == official))
    print(f"\n| eval {n:,} x {n:,} | seconds |\n|---|---:|")
    print(f"| official per-query loop | {official_seconds:.1f} |\n| clamp3 eval (vectorised) | {ours_seconds:.2f} |")
    print(f"speed-up {official_seconds / ours_seconds:.0f}x; ranks identical for {agree:.4%} of queries")


if __name__ == "__main__":
    main()
