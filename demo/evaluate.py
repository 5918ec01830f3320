"""Held-out evaluation of a model on the demo corpus: zero-shot classification through text
prompts only, beside the majority class and a linear probe on the same vectors, and text -> score
retrieval per language with a generated description as the query.

    python -m demo.evaluate --weights default --data data/demo --out assets/clamp3-small-multilingual/metrics.json

The pool of every task is the held-out split (works that training never saw).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from clamp3 import Embedder
from clamp3.models import load_model
from clamp3.retrieval import normalize, retrieval_metrics, retrieval_ranks
from demo.texts import LANGUAGES, class_prompts

TASKS = {"tune_type": "tune type", "region": "region (Essen)", "composer": "composer"}
COMPOSER_CLASSES = {"Bach", "Palestrina", "Monteverdi", "Beethoven", "Mozart", "Haydn"}


def task_label(work: dict, task: str) -> str | None:
    if task == "tune_type":
        return work.get("tune_type")
    if task == "region":
        return work.get("region")
    return work.get("composer") if work.get("composer") in COMPOSER_CLASSES else None


def embed_works(embedder: Embedder, data: Path, works: list[dict], kind: str) -> np.ndarray:
    paths = [data / w["files"][kind] for w in works]
    vectors = {}
    for result in embedder.encode_files(paths, progress=False):
        if result.error is not None:
            raise RuntimeError(str(result.error))
        vectors[result.source] = result.embedding.reshape(-1)
    return normalize(np.stack([vectors[p] for p in paths]))


def zero_shot_accuracy(embedder: Embedder, vectors: np.ndarray, labels: list[str], task: str, lang: str) -> float:
    prompts = class_prompts(task, lang)
    classes = list(prompts)
    centroids = normalize(np.stack([normalize(embedder.encode_texts(prompts[c])).mean(axis=0) for c in classes]))
    predicted = np.array(classes)[np.argmax(vectors @ centroids.T, axis=1)]
    return float(np.mean(predicted == np.array(labels)))


def probe_accuracy(train_x: np.ndarray, train_y: list[str], test_x: np.ndarray, test_y: list[str]) -> float:
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(max_iter=3000, C=10.0).fit(train_x, train_y)
    return float(np.mean(classifier.predict(test_x) == np.array(test_y)))


def evaluate(weights: str, data: Path, languages: list[str]) -> dict:
    model = load_model(weights)
    embedder = Embedder(model, batch_size=32)
    works = [json.loads(line) for line in (data / "works.jsonl").read_text(encoding="utf-8").splitlines()]
    heldout = [w for w in works if w["split"] == "heldout"]
    train = [w for w in works if w["split"] != "heldout" and any(task_label(w, t) for t in TASKS)]
    heldout_x = embed_works(embedder, data, heldout, "abc")
    train_x = embed_works(embedder, data, train, "abc")
    report: dict = {"weights": weights, "heldout_works": len(heldout), "classification": {}, "retrieval": {}}
    for task, title in TASKS.items():
        test_rows = [i for i, w in enumerate(heldout) if task_label(w, task)]
        train_rows = [i for i, w in enumerate(train) if task_label(w, task)]
        test_y = [task_label(heldout[i], task) for i in test_rows]
        train_y = [task_label(train[i], task) for i in train_rows]
        majority = Counter(train_y).most_common(1)[0][0]
        report["classification"][task] = {
            "title": title,
            "n": len(test_rows),
            "classes": sorted(set(train_y)),
            "zero_shot": {lang: zero_shot_accuracy(embedder, heldout_x[test_rows], test_y, task, lang) for lang in languages},
            "majority": float(np.mean(np.array(test_y) == majority)),
            "linear_probe": probe_accuracy(train_x[train_rows], train_y, heldout_x[test_rows], test_y),
        }
    for lang in languages:
        rows = [i for i, w in enumerate(heldout) if lang in w["texts"]]
        queries = normalize(embedder.encode_texts([heldout[i]["texts"][lang][0] for i in rows]))
        ranks = retrieval_ranks(queries, heldout_x, np.array(rows))
        report["retrieval"][lang] = {"queries": len(rows), "pool": len(heldout), **retrieval_metrics(ranks)}
    audio = [w for w in heldout if "audio" in w["files"]]
    if audio:
        audio_x = embed_works(embedder, data, audio, "audio")
        queries = normalize(embedder.encode_texts([w["texts"]["en"][0] for w in audio]))
        report["audio_retrieval_en"] = {"queries": len(audio), "pool": len(audio), **retrieval_metrics(retrieval_ranks(queries, audio_x, np.arange(len(audio))))}
    return report


def table(report: dict) -> str:
    lines = ["| task | n | zero-shot (en) | zero-shot (mean of languages) | majority | linear probe |", "|---|---|---|---|---|---|"]
    for result in report["classification"].values():
        shots = result["zero_shot"]
        lines.append(
            f"| {result['title']} | {result['n']} | {shots.get('en', float('nan')):.3f} | {np.mean(list(shots.values())):.3f} "
            f"| {result['majority']:.3f} | {result['linear_probe']:.3f} |"
        )
    lines += ["", "| language | queries | pool | Hit@1 | Hit@10 | MRR |", "|---|---|---|---|---|---|"]
    for lang, result in report["retrieval"].items():
        lines.append(f"| {lang} | {result['queries']} | {result['pool']} | {result['hit@1']:.3f} | {result['hit@10']:.3f} | {result['mrr']:.3f} |")
    if "audio_retrieval_en" in report:
        result = report["audio_retrieval_en"]
        lines.append(f"| en, text -> audio | {result['queries']} | {result['pool']} | {result['hit@1']:.3f} | {result['hit@10']:.3f} | {result['mrr']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--data", default="data/demo")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--out", default=None, help="write the report as JSON here")
    args = parser.parse_args(argv)
    report = evaluate(args.weights, Path(args.data), args.languages.split(","))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
