"""Where a new vector lands on the library's map: out-of-sample placements onto one fitted UMAP map
of the demo library, compared for held-out music items and for text queries.

A random sample of the demo library's items is held out (``--held-out``, seed 0) and one UMAP map
is fitted on the rest with the app's settings (``clamp3.library.maps``: cosine metric, 15
neighbours, random init, seed 42, one thread), by ``umap.UMAP`` with its own neighbour search, so
that its ``transform`` is available (the app gives UMAP its neighbours, and then it has none). Not
centred by default: a text query has no modality mean in the library to be centred by, and
``place_on_map`` searches the uncentred vectors; ``--center`` centres each modality of the library
by the mean of its mapped items (held-out items by their modality's, text queries not at all) and
searches that space instead. Every method places into this one map:

- the weighted mean the app's ``place_on_map`` was before it (the 10 nearest items' points, weights
  exp((cos - 1) / 0.05)), and ``place_on_map`` now (the weighted medoid below, k=10, T=0.05);
- the same weighted mean with other k and temperatures, and the nearest item's point (k = 1);
- the weighted medoid: the point of the neighbour (of the k nearest) with the least weighted
  distance to the others' points, so that a query whose neighbours lie in two clusters lands in
  the heavier one instead of between them;
- reconstruction weights as in LLE's out-of-sample extension: the weights over the k nearest that
  sum to 1 and best rebuild the query from its neighbours' vectors (least squares, the Gram matrix
  regularised by ``reg`` x its trace), the position their weighted sum of the neighbours' points,
  which may lie outside the neighbours' hull;
- UMAP's ``transform`` on the fitted model.

Queries: the held-out items, and text prompts in several languages written from the demo's metadata
(``benchmarks/ann.py``'s ``text_queries``) encoded by the embedded model. Per method and kind:
the share of the query's 10 nearest mapped items (cosine) among the 10 map points nearest to where
it was placed; the median distance from the placement to its nearest item's point, in units of the
map's median nearest-neighbour distance; the p50 time of one query alone (its neighbour search
included, BLAS on one thread), after two warm-up queries, over the first ``--timed`` of each kind.
UMAP's first ``transform`` (numba compiling it, or reading pynndescent's cache) is timed apart.

    python benchmarks/pin.py [--held-out 300] [--queries all] [--timed 30] [--center]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

from ann import text_queries  # noqa: E402

from clamp3.library.maps import NEIGHBOURS, SEED, place_on_map  # noqa: E402
from clamp3.retrieval import exact_top_k, normalize  # noqa: E402

NEAREST = 10  # the neighbours whose keeping is measured


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def neighbour_weights(queries: np.ndarray, vectors: np.ndarray, k: int, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """(Q, D) -> ``place_on_map``'s weights exp((cos - 1) / T), summing to 1, and the rows (Q, k) of the k nearest."""
    cosines, nearest = exact_top_k(vectors, queries, k)  # (Q, k)
    weights = np.exp((cosines - 1.0) / temperature)
    return weights / weights.sum(axis=1, keepdims=True), nearest


def weighted_mean(k: int, temperature: float):
    """(Q, D) -> (Q, 2): ``place_on_map``'s similarity-weighted mean with another k and temperature."""
    def place(queries: np.ndarray, vectors: np.ndarray, points: np.ndarray) -> np.ndarray:
        weights, nearest = neighbour_weights(queries, vectors, k, temperature)
        return np.einsum("qk,qkc->qc", weights, points[nearest])
    return place


def weighted_medoid(k: int, temperature: float):
    """(Q, D) -> (Q, 2): the point of the one among the k nearest whose weighted distance to the
    others' points is least (where most of the weight lies, not between clusters as a mean)."""
    def place(queries: np.ndarray, vectors: np.ndarray, points: np.ndarray) -> np.ndarray:
        weights, nearest = neighbour_weights(queries, vectors, k, temperature)
        candidates = points[nearest]  # (Q, k, 2)
        spread = np.linalg.norm(candidates[:, :, None] - candidates[:, None], axis=-1)  # (Q, k, k)
        best = np.argmin(np.einsum("qkj,qj->qk", spread, weights), axis=1)
        return candidates[np.arange(len(queries)), best]
    return place


def reconstruction(k: int, reg: float):
    """(Q, D) -> (Q, 2): LLE's barycentre weights over the k nearest (as sklearn's
    ``barycenter_weights``), applied to their points."""
    def place(queries: np.ndarray, vectors: np.ndarray, points: np.ndarray) -> np.ndarray:
        _, nearest = exact_top_k(vectors, queries, k)  # (Q, k)
        offsets = vectors[nearest].astype(np.float64) - queries[:, None, :]  # (Q, k, D)
        gram = np.einsum("qkd,qjd->qkj", offsets, offsets)  # (Q, k, k)
        trace = np.trace(gram, axis1=1, axis2=2)
        gram += (reg * np.where(trace > 0, trace, 1.0))[:, None, None] * np.eye(k)
        weights = np.linalg.solve(gram, np.ones((len(queries), k, 1)))[..., 0]  # (Q, k)
        weights /= weights.sum(axis=1, keepdims=True)
        return np.einsum("qk,qkc->qc", weights, points[nearest])
    return place


def umap_transform(reducer):
    def place(queries: np.ndarray, vectors: np.ndarray, points: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return reducer.transform(queries)
    return place


def scores(placed: np.ndarray, points: np.ndarray, tree: cKDTree, truth: np.ndarray, scale: float) -> tuple[float, float]:
    """(share of the 10 nearest kept, median distance to the nearest item's point / the map's scale)."""
    _, found = tree.query(placed, NEAREST)  # (Q, 10)
    kept = np.mean([len(set(a) & set(b)) / NEAREST for a, b in zip(truth.tolist(), found.tolist())])
    distance = np.linalg.norm(placed - points[truth[:, 0]], axis=1)
    return float(kept), float(np.median(distance) / scale)


def p50_ms(place, queries: np.ndarray, vectors: np.ndarray, points: np.ndarray) -> float:
    """One query at a time, BLAS on one thread: with two on two busy cores, one query's
    matrix-vector product waited for a time slice (8 ms instead of 2-3)."""
    times = []
    with threadpool_limits(1):
        for query in queries[:2]:
            place(query[None], vectors, points)
        for query in queries:
            started = time.perf_counter()
            place(query[None], vectors, points)
            times.append(time.perf_counter() - started)
    return float(np.median(times) * 1e3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--held-out", type=int, default=300, help="library items left out of the map and placed")
    parser.add_argument("--queries", default="all", help="text prompts placed: a number, or 'all' (211)")
    parser.add_argument("--timed", type=int, default=30, help="queries of each kind timed one at a time")
    parser.add_argument("--center", action="store_true", help="centre each modality, as the app's default map")
    args = parser.parse_args(argv)
    load_before = load_average()
    import umap

    from clamp3.assets import library_dir
    from clamp3.embedding import Embedder
    from clamp3.library import Library
    from clamp3.models import load_model

    library = Library.open(library_dir(unpack=False), read_only=True)
    ids, matrix = library.matrix()  # (N, D) unit rows
    kinds = {r.id: r.modality for r in library.items()}
    library.close()
    modalities = np.asarray([kinds[i] for i in ids.tolist()])
    held = np.zeros(len(ids), bool)
    held[np.random.default_rng(0).choice(len(ids), args.held_out, replace=False)] = True
    x = normalize(matrix)
    if args.center:  # unit_rows(center=True) for the mapped items; the held-out ones by the same means
        means = {m: x[~held & (modalities == m)].mean(axis=0) for m in set(modalities.tolist())}
        x = normalize(x - np.stack([means[m] for m in modalities.tolist()]))
    vectors = np.ascontiguousarray(x[~held])  # (N - held, D) the map's items

    prompts = text_queries(10**9 if args.queries == "all" else int(args.queries))
    text = normalize(Embedder(load_model("default")).encode_texts(prompts))  # (Q, D)
    queries = {"music": np.ascontiguousarray(x[held]), "text": text}

    started = time.perf_counter()
    reducer = umap.UMAP(n_components=2, metric="cosine", n_neighbors=NEIGHBOURS, random_state=SEED, init="random", n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        points = reducer.fit_transform(vectors).astype(np.float32)  # (N - held, 2)
    fitted = time.perf_counter() - started
    tree = cKDTree(points)
    spacing = tree.query(points, NEAREST + 1)[0]  # (N - held, 11): each point, then its 10 nearest
    scale, radius = float(np.median(spacing[:, 1])), float(np.median(spacing[:, NEAREST]))
    own_truth = exact_top_k(vectors, vectors, NEAREST + 1)[1][:, 1:]
    own_found = tree.query(points, NEAREST + 1)[1][:, 1:]
    own_kept = np.mean([len(set(a) & set(b)) / NEAREST for a, b in zip(own_truth.tolist(), own_found.tolist())])
    truth = {kind: exact_top_k(vectors, q, NEAREST)[1] for kind, q in queries.items()}

    transform = umap_transform(reducer)
    started = time.perf_counter()
    transform(queries["music"][:1], vectors, points)
    compiled = time.perf_counter() - started

    methods = [("weighted mean k=10, T=0.05 (the app's `place_on_map` before)", weighted_mean(10, 0.05)),
               ("`place_on_map` now (weighted medoid k=10, T=0.05)", lambda q, v, p: place_on_map(q, v, p, k=10))]
    methods += [("nearest item's point (k=1)", weighted_mean(1, 1.0))]
    grid = [(k, t) for k in (5, 10, 20) for t in (0.01, 0.02, 0.05, 0.1)] + [(50, 0.02), (50, 0.05)]
    methods += [(f"weighted mean k={k}, T={t}", weighted_mean(k, t)) for k, t in grid if (k, t) != (10, 0.05)]
    methods += [(f"weighted medoid k={k}, T={t}", weighted_medoid(k, t)) for k, t in ((5, 0.05), (10, 0.02), (10, 0.1), (20, 0.05))]
    methods += [(f"LLE weights k={k}, reg={r}", reconstruction(k, r)) for k, r in ((5, 1e-3), (10, 1e-3), (20, 1e-3), (10, 0.1), (20, 0.1))]
    methods += [("UMAP `transform`", transform)]
    rows = []
    for label, place in methods:
        cells = []
        for kind, q in queries.items():
            cells += scores(np.asarray(place(q, vectors, points)), points, tree, truth[kind], scale)
        timed = np.concatenate([q[:args.timed] for q in queries.values()])
        rows.append(f"| {label} | {cells[0]:.3f} | {cells[1]:.2f} | {cells[2]:.3f} | {cells[3]:.2f} | {p50_ms(place, timed, vectors, points):.2f} |")
        print(rows[-1], file=sys.stderr, flush=True)

    counts = ", ".join(f"{m} {int(np.sum(modalities[held] == m))}" for m in sorted(set(modalities.tolist())))
    print(f"\n{os.cpu_count()} CPUs; demo library {len(ids):,} items, {x.shape[1]}-d; map of {len(vectors):,} "
          f"({'centred per modality' if args.center else 'not centred'}), fitted in {fitted:.1f} s with UMAP's own neighbour "
          f"search; held out {args.held_out} ({counts}); {len(prompts)} text queries; the map's own items keep {own_kept:.3f} "
          f"of their {NEAREST} nearest; UMAP's first transform {compiled:.1f} s (numba compiling it, or reading what it cached); "
          f"load average (1, 5, 15 min) {load_before} before -> {load_average()} after\n")
    print(f"| method | music: {NEAREST} nearest kept | music: to nearest's point | text: {NEAREST} nearest kept | "
          f"text: to nearest's point | ms per query (p50) |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\ndistances in units of the map's median nearest-neighbour distance ({scale:.4f}; the map's items pile up: "
          f"the median distance to the {NEAREST}th nearest is {radius / scale:.1f} of them, the map spans "
          f"{np.ptp(points[:, 0]) / scale:,.0f} x {np.ptp(points[:, 1]) / scale:,.0f}); times over the first {args.timed} "
          f"queries of each kind, one at a time, BLAS on one thread")
    return 0


if __name__ == "__main__":
    sys.exit(main())
