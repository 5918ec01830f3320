"""Search latency and recall, and evaluation speed against the official loop.

Library search on N random unit vectors of 768 dimensions: p50 / p99 latency of one query for
exact search (the matrix product clamp3 runs below its ANN threshold) and for the FAISS HNSW
index it builds above it, and ANN recall@10 against exact. Random vectors are the hardest case
for an ANN index: there are no clusters to exploit. Then ``eval`` on Q x Q random pairs, side
by side with a re-implementation of the official clamp3_eval.py loop.

    python benchmarks/search.py [--sizes 10000 100000 1000000] [--queries 200] [--eval-size 10000] [--ann-max 200000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from clamp3.retrieval import build_hnsw, exact_top_k, normalize, retrieval_ranks

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
    refs = torch.tensor(references)
    ranks = []
    for idx, query in enumerate(queries):
        similarities = torch.cosine_similarity(torch.tensor(query).unsqueeze(0), refs)
        ordered = sorted(enumerate(similarities.tolist()), key=lambda x: (x[1], x[0] == idx), reverse=True)
        ranks.append([x[0] for x in ordered].index(idx) + 1)
    return np.array(ranks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef-search", type=int, default=256)
    parser.add_argument("--eval-size", type=int, default=10_000)
    parser.add_argument("--ann-max", type=int, default=200_000, help="build HNSW only up to this size (slow on 2 cores)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

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
