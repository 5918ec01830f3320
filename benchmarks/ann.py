"""The library's approximate index against the one it replaces, for text and music queries apart.

Vectors: the demo library's real embeddings grown with noise matched to each one's distance to its
nearest real neighbour (``benchmarks/search.py``'s ``grow``), 10^5 and 10^6 of them. Queries:
text prompts in several languages written from the demo's metadata and encoded by the embedded
model (they lie away from the music they search: the modality gap), and music queries (real
vectors moved by fresh noise, so not in the library). For each index: recall@10 against exact
search, one-query-at-a-time p50 / p95 latency, build time and size, all in one run:

- HNSW, M=32, efConstruction 80, efSearch 128: the library's index before (and efSearch 512);
- IVF-SQ8 re-ranked: the library's index now (``clamp3.retrieval.build_ivf`` / ``ivf_search``:
  about sqrt(N) lists, 1/20 of them scanned (at least 32), 8-bit codes, the best 128 re-ranked by the exact
  vectors);
- exact search (``exact_top_k``) for the latency it replaces.

    python benchmarks/ann.py [--sizes 100000 1000000] [--text 300] [--music 300] [--no-hnsw-above N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

from search import TEXTS, grow  # noqa: E402

from clamp3.retrieval import build_hnsw, build_ivf, exact_top_k, ivf_lists, ivf_probes, ivf_search, normalize  # noqa: E402

TEMPLATES = {  # prompts as visitors write them, in several languages
    "region": ["a folk song from {}", "Volkslied aus {}", "une chanson populaire de {}", "canción popular de {}", "{}民歌"],
    "country": ["traditional music of {}", "musique traditionnelle de {}", "Volksmusik aus {}"],
    "tune_type": ["a {}", "un {} irlandais", "a {} for the fiddle"],
    "composer": ["a piece by {}", "ein Werk von {}", "{}的作品"],
    "function": ["{}", "a {} song"],
    "era": ["music of the {} era", "{}时期的音乐"],
    "key": ["a tune in {}"],
}


def text_queries(count: int, seed: int = 0) -> list[str]:
    from clamp3.assets import library_dir
    from clamp3.library import Library

    demo = Library.open(library_dir(unpack=False), read_only=True)
    values = {field: sorted({item.metadata[field] for item in demo.items() if item.metadata.get(field)}) for field in TEMPLATES}
    demo.close()
    prompts = sorted(set(TEXTS) | {t.format(v) for field, ts in TEMPLATES.items() for t in ts for v in values[field]})
    rng = np.random.default_rng(seed)
    return [prompts[i] for i in np.sort(rng.choice(len(prompts), min(count, len(prompts)), replace=False))]


def measure(search, matrix: np.ndarray, queries: np.ndarray, tenth: np.ndarray) -> tuple[float, float, float]:
    """(recall@10, p50 ms, p95 ms), one query at a time after two warm-up queries. A result counts
    as found when its exact cosine reaches the query's true 10th best (within 1e-6): the grown
    library holds equal vectors (the demo embeds some works twice), whose order is arbitrary."""
    for query in queries[:2]:
        search(query[None])
    times, recalls = [], []
    for query, bar in zip(queries, tenth):
        start = time.perf_counter()
        found = search(query[None])
        times.append(time.perf_counter() - start)
        recalls.append(float(np.sum(matrix[np.asarray(found[:10], dtype=np.int64)] @ query >= bar - 1e-6)) / 10)
    return float(np.mean(recalls)), float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 95) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--text", type=int, default=300, help="text queries")
    parser.add_argument("--music", type=int, default=300, help="music queries")
    parser.add_argument("--no-hnsw-above", type=int, default=10**9, help="leave HNSW out above this size")
    args = parser.parse_args()
    import faiss

    from clamp3.embedding import Embedder
    from clamp3.models import load_model

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores before; faiss {faiss.__version__}, "
          f"{faiss.omp_get_max_threads()} threads", flush=True)
    prompts = text_queries(args.text)
    text = normalize(Embedder(load_model("default")).encode_texts(prompts))
    vectors, _, real = grow(max(args.sizes))
    rng = np.random.default_rng(1)
    sources = rng.choice(len(real), args.music, replace=False)
    nearest = np.sort(real[sources] @ real.T, axis=1)[:, -2]  # each source's nearest other real vector
    spread = np.sqrt(np.maximum(2 - 2 * nearest, 0))[:, None] / np.sqrt(real.shape[1])
    music = normalize(real[sources] + rng.standard_normal((args.music, real.shape[1]), dtype=np.float32) * spread)
    print(f"{len(prompts)} text queries, {args.music} music queries, {real.shape[1]}-d; mean cosine to the library's mean: "
          f"text {float((text @ vectors.mean(0)).mean()):.3f}, music {float((music @ vectors.mean(0)).mean()):.3f}", flush=True)
    rows = []
    for size in args.sizes:
        matrix = vectors[:size]
        tenth = {kind: exact_top_k(matrix, q, 10)[0][:, -1] for kind, q in (("text", text), ("music", music))}
        queries = {"text": text, "music": music}
        indexes = []
        if size <= args.no_hnsw_above:
            start = time.perf_counter()
            hnsw = build_hnsw(matrix)
            built = time.perf_counter() - start
            size_mb = faiss.serialize_index(hnsw).nbytes / 2**20
            for ef in (128, 512):
                def search(q, ef=ef, hnsw=hnsw):
                    hnsw.hnsw.efSearch = ef
                    return hnsw.search(q, 10)[1][0]
                label = "HNSW M=32 efSearch 128 (before)" if ef == 128 else "HNSW M=32 efSearch 512"
                indexes.append((label, search, built, size_mb))
        start = time.perf_counter()
        ivf = build_ivf(matrix)
        built = time.perf_counter() - start
        size_mb = faiss.serialize_index(ivf).nbytes / 2**20
        label = f"IVF-SQ8 {ivf_lists(size)} lists, {ivf_probes(ivf_lists(size))} probed, re-ranked (now)"
        indexes.append((label, lambda q, ivf=ivf, matrix=matrix: np.array([row for _, row in ivf_search(ivf, matrix, q, 10)[0]]), built, size_mb))
        indexes.append(("exact (matrix product)", lambda q, matrix=matrix: exact_top_k(matrix, q, 10)[1][0], 0.0, matrix.nbytes / 2**20))
        for label, search, built, size_mb in indexes:
            for kind in ("text", "music"):
                recall, p50, p95 = measure(search, matrix, queries[kind], tenth[kind])
                rows.append(f"| {size:,} | {label} | {kind} | {recall:.3f} | {p50:.2f} | {p95:.2f} | {built:.0f} s | {size_mb:,.0f} MB |")
                print(rows[-1], flush=True)
    print("\n| vectors | index | queries | recall@10 | p50 ms | p95 ms | build | size |\n|---:|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores after")


if __name__ == "__main__":
    main()
