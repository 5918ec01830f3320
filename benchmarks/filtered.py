"""Filtered IVF search: how many lists to scan when a filter keeps only some rows.

The store's IVF index scans, for a filtered query, the query's nearest lists among those holding
an allowed row (``clamp3.retrieval.ivf_candidates``). How many: "before" scans the unfiltered
probe count scaled by the share filtered out (``scaled_probes``: 3x the lists for a filter keeping
a third of the rows); "after" scans, nearest first, as many of those lists as hold FILTERED_SCAN
times the rows an unfiltered search scans (``allowed_scan``), never more lists than before; 1x and
2x beside it. A filter
whose rows gather in lists of their own (a modality: recordings lie apart from scores) needs no
more lists than no filter; one spread thin over every list (a region) needs the scaled count.

Realistic vectors (``search.grow``: the demo library's embeddings grown with noise matched to
their nearest-neighbour distances) in the in-memory IVF-SQ8 index that ``Library.search`` builds
(``build_ivf``), searched as ``ivf_search`` searches it (candidates, then an exact re-rank); text
queries (prompts in seven languages, the embedded model) and music queries (real vectors moved by
matched noise) apart. p50 / p99 of one query at a time and recall@10 against exact search among
the allowed rows, both sides in one run.

    python benchmarks/filtered.py [--size 1000000] [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from search import grow, machine_load, realistic_queries  # noqa: E402

from clamp3.retrieval import (  # noqa: E402
    FILTERED_SCAN,
    IVF_CANDIDATES,
    build_ivf,
    ivf_candidates,
    ivf_probes,
    rerank,
    row_bitmap,
    scaled_probes,
)


def exact_allowed(matrix: np.ndarray, allowed: np.ndarray, queries: np.ndarray, k: int) -> list[set[int]]:
    scores = queries @ matrix[allowed].T  # (Q, allowed)
    best = np.argpartition(-scores, k, axis=1)[:, :k]
    return [set(allowed[row].tolist()) for row in best]


def run(index, matrix, queries, allowed, bitmap, truth, k, scan: int | None) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, recall@10) of one query at a time."""
    lists = index.nlist
    probes = scaled_probes(ivf_probes(lists), lists, len(matrix), len(allowed))
    times, found = [], []
    for query in queries:
        started = time.perf_counter()
        candidates = ivf_candidates([index], query[None], max(IVF_CANDIDATES, 4 * k), probes, bitmap, allowed, scan)
        hits = rerank(matrix, query[None], candidates, k)[0]
        times.append(time.perf_counter() - started)
        found.append({row for _, row in hits})
    recall = float(np.mean([len(f & t) / k for f, t in zip(found, truth)]))
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3), recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100, help="of each kind (text, music)")
    args = parser.parse_args()
    print(f"load average at the start: {machine_load()}", flush=True)
    vectors, described, real = grow(args.size)
    queries = realistic_queries(real, args.queries)
    started = time.perf_counter()
    index = build_ivf(vectors)
    print(f"{args.size:,} grown vectors, IVF-SQ8 of {index.nlist} lists built in {time.perf_counter() - started:.0f} s; "
          f"an unfiltered search scans {ivf_probes(index.nlist)} lists", flush=True)
    modality = np.array([d[0] for d in described])
    filters = {
        "modality=audio": np.flatnonzero(modality == "audio"),
        "modality=symbolic": np.flatnonzero(modality == "symbolic"),
        "where region=China": np.flatnonzero([json.loads(d[2]).get("region") == "China" for d in described]),
    }
    k = 10
    rows_scanned = ivf_probes(index.nlist) * len(vectors) // index.nlist
    sides = {"before": None, "1x rows": rows_scanned, f"after ({FILTERED_SCAN:g}x rows)": int(FILTERED_SCAN * rows_scanned),
             "2x rows": 2 * rows_scanned}
    print("\n| filter (share kept) | queries | " + " | ".join(f"{side}: p50 / p99 ms | {side}: recall@10" for side in sides) + " |")
    print("|---|---|" + "---:|---:|" * len(sides))
    for name, allowed in filters.items():
        bitmap = row_bitmap(allowed, len(vectors))
        for kind, asked in queries.items():
            truth = exact_allowed(vectors, allowed, asked, k)
            run(index, vectors, asked[:2], allowed, bitmap, truth[:2], k, None)  # warm: the per-list counts
            cells = []
            for scan in sides.values():
                p50, p99, recall = run(index, vectors, asked, allowed, bitmap, truth, k, scan)
                cells.append(f"{p50:.1f} / {p99:.1f} | {recall:.3f}")
            print(f"| {name} ({len(allowed) / len(vectors):.3f}) | {kind} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nload average at the end: {machine_load()}")


if __name__ == "__main__":
    main()
