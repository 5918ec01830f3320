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


def percentiles(latencies: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.array(latencies) * 1000, [50, 99])
    return float(p50), float(p99)


def bench_search(size: int, queries: int, ef_search: int, rng: np.random.Generator, ann: bool) -> list[str]:
    matrix = normalize(rng.standard_normal((size, DIM), dtype=np.float32))
    probes = normalize(rng.standard_normal((queries, DIM), dtype=np.float32))
    exact_rows, latencies = [], []
    for query in probes:
        start = time.perf_counter()
        _, rows = exact_top_k(matrix, query[None], 10)
        latencies.append(time.perf_counter() - start)
        exact_rows.append(rows[0])
    exact_p50, exact_p99 = percentiles(latencies)
    exact_row = f"| {size:,} | exact | {exact_p50:.1f} | {exact_p99:.1f} | 1.000 | - |"
    if not ann:
        return [exact_row, *bench_ivf(matrix, probes, exact_rows)]
    start = time.perf_counter()
    index = build_hnsw(matrix)
    build = time.perf_counter() - start
    index.hnsw.efSearch = ef_search
    latencies, recalls = [], []
    for query, truth in zip(probes, exact_rows):
        start = time.perf_counter()
        _, rows = index.search(query[None], 10)
        latencies.append(time.perf_counter() - start)
        recalls.append(len(set(rows[0]) & set(truth)) / 10)
    ann_p50, ann_p99 = percentiles(latencies)
    ivf_rows = bench_ivf(matrix, probes, exact_rows)
    return [
        exact_row,
        f"| {size:,} | HNSW M=32 ef={ef_search} | {ann_p50:.2f} | {ann_p99:.2f} | {np.mean(recalls):.3f} | {build:.0f} s |",
        *ivf_rows,
    ]


def bench_ivf(matrix: np.ndarray, probes: np.ndarray, exact_rows: list[np.ndarray]) -> list[str]:
    """IVF-Flat, which builds in minutes where HNSW takes tens of minutes on 2 cores."""
    import faiss

    nlist = int(4 * np.sqrt(len(matrix)))
    start = time.perf_counter()
    quantizer = faiss.IndexFlatIP(matrix.shape[1])
    index = faiss.IndexIVFFlat(quantizer, matrix.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    sample = matrix[np.random.default_rng(1).choice(len(matrix), min(len(matrix), 40 * nlist), replace=False)]
    index.train(sample)
    index.add(matrix)
    build = time.perf_counter() - start
    rows = []
    for nprobe in (16, 64):
        index.nprobe = nprobe
        latencies, recalls = [], []
        for query, truth in zip(probes, exact_rows):
            start = time.perf_counter()
            _, found = index.search(query[None], 10)
            latencies.append(time.perf_counter() - start)
            recalls.append(len(set(found[0]) & set(truth)) / 10)
        p50, p99 = percentiles(latencies)
        rows.append(f"| {len(matrix):,} | IVF-Flat nlist={nlist} nprobe={nprobe} | {p50:.2f} | {p99:.2f} | {np.mean(recalls):.3f} | {build:.0f} s |")
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
