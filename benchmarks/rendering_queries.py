"""Text -> audio by how the audio was rendered, for several models side by side: each instrument
and tempo query of ``demo/rendering_queries.py`` in its 13 languages, over the held-out renderings
of a built corpus.

    python benchmarks/rendering_queries.py --weights default,runs/demo/audio/final

Two measures per query: precision@10 (``demo.evaluate``'s, the issue's target of 0.8) and average
precision over the whole ranking. A cell of precision@10 moves by 0.1 with one rendering, so two
runs of the same recipe differ by a few cells; average precision ranks every relevant rendering
and moves far less, which is what tells a change of recipe from the draw. Printed: per class the
mean over the languages of both, then the cells at 0.8 or more (ten target languages, and the
never-trained da, ro, ca).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # demo's corpus and queries

NEVER_TRAINED = ["da", "ro", "ca"]


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    """(N,) scores, (N,) bool -> the mean of precision at the rank of each relevant item."""
    ranked = relevant[np.argsort(-scores, kind="stable")]
    hits = np.cumsum(ranked)
    return float((hits / np.arange(1, len(ranked) + 1))[ranked].mean())


def measure(weights: str, data: Path, k: int = 10) -> dict[str, dict[str, tuple[float, float]]]:
    """Class ('slow', 'violin', ...) -> language -> (precision@k, average precision)."""
    from clamp3.embedding import Embedder
    from clamp3.retrieval import normalize
    from demo.evaluate import embed_works, load_model, precision_at_k, read_works, rendering_classes

    works = [w for w in read_works(data) if w["split"] == "heldout" and "audio" in w["files"]]
    embedder = Embedder(load_model(weights), batch_size=32)
    audio = normalize(embed_works(embedder, data, works, "audio"))
    result = {}
    for field, value, queries in rendering_classes([w["rendering"] for w in works]):  # demo.evaluate's classes and P@k
        relevant = np.array([w["rendering"][field] == value for w in works])
        texts = normalize(embedder.encode_texts(list(queries.values())))
        result[value] = {lang: (float(precision), average_precision(row, relevant))
                         for lang, precision, row in zip(queries, precision_at_k(texts, audio, relevant, k), texts @ audio.T)}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="default", help="comma-separated models (default: the embedded default)")
    parser.add_argument("--data", default="data/demo", help="a corpus built by demo.build")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / "works.jsonl").exists():
        parser.error(f"{data}: no works.jsonl (build the corpus: python -m demo.build --out {data})")
    models = args.weights.split(",")
    results = [measure(weights, data) for weights in models]
    print("| class | " + " | ".join(f"{m}: P@10 / AP" for m in models) + " |")
    print("|---|" + "---:|" * len(models))
    for value in results[0]:
        cells = [f"{np.mean([p for p, _ in r[value].values()]):.3f} / {np.mean([a for _, a in r[value].values()]):.3f}" for r in results]
        print(f"| {value} | " + " | ".join(cells) + " |")
    for label, pick in (("instruments, mean", lambda v: v not in ("slow", "fast")), ("slow and fast, mean", lambda v: v in ("slow", "fast"))):
        cells = [f"{np.mean([p for v in r if pick(v) for p, _ in r[v].values()]):.3f} / "
                 f"{np.mean([a for v in r if pick(v) for _, a in r[v].values()]):.3f}" for r in results]
        print(f"| {label} | " + " | ".join(cells) + " |")
    for label, langs in (("cells at P@10 >= 0.8, ten target languages", lambda lang: lang not in NEVER_TRAINED),
                         ("the same, never trained da / ro / ca", lambda lang: lang in NEVER_TRAINED)):
        counts = [f"{sum(p >= 0.8 for v in r.values() for lang, (p, _) in v.items() if langs(lang))} of "
                  f"{sum(1 for v in r.values() for lang in v if langs(lang))}" for r in results]
        print(f"| {label} | " + " | ".join(counts) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
