"""Held-out evaluation of a model on the demo corpus: zero-shot classification through text
prompts only, beside the majority class and a linear probe on the same vectors, and text -> music
retrieval per language with a generated description (the first text of each work) as the query.

    python -m demo.evaluate --weights default --data data/demo --out assets/clamp3-small-multilingual/metrics.json

The pool of every task is the held-out split (works that training never saw). Scores are read as
interleaved ABC; the same tasks on the MIDI of the works (MTF) and on the rendered audio are
reported beside them.
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
from clamp3.zero_shot import DEFAULT_TEMPERATURE, ZeroShotClassifier
from demo.texts import LANGUAGES, task_prompts

TASKS = {"tune_type": "tune type", "region": "region (Essen)", "composer": "composer"}
COMPOSER_CLASSES = {"Bach", "Palestrina", "Monteverdi", "Beethoven", "Mozart", "Haydn"}
KINDS = {"abc": "score (ABC)", "mtf": "MIDI (MTF)", "audio": "audio"}


def task_label(work: dict, task: str) -> str | None:
    if task == "tune_type":
        return work.get("tune_type")
    if task == "region":
        return work.get("region")
    return work.get("composer") if work.get("composer") in COMPOSER_CLASSES else None


def embed_works(embedder: Embedder, data: Path, works: list[dict], kind: str) -> np.ndarray:
    """(works, D) unit vectors of one file kind of each work."""
    paths = [data / w["files"][kind] for w in works]
    vectors = {}
    for result in embedder.encode_files(paths, progress=False):
        if result.error is not None:
            raise RuntimeError(str(result.error))
        vectors[result.source] = result.embedding.reshape(-1)
    return normalize(np.stack([vectors[p] for p in paths]))


def zero_shot_classifier(embedder: Embedder, prompts: dict[str, list[str]], temperature: float = DEFAULT_TEMPERATURE) -> ZeroShotClassifier:
    """Classes and their prompts -> the zero-shot classifier of ``clamp3 classify`` and the app
    (the temperature changes the probabilities, not the accuracies reported here)."""
    return ZeroShotClassifier.from_prompts(embedder.encode_texts, prompts, temperature)


def accuracies(predicted: np.ndarray, labels: list[str]) -> dict[str, float]:
    """Accuracy and balanced accuracy (the mean of the per-class recalls)."""
    labels = np.asarray(labels)
    recalls = [float(np.mean(predicted[labels == c] == c)) for c in sorted(set(labels))]
    return {"accuracy": float(np.mean(predicted == labels)), "balanced": float(np.mean(recalls))}


def probe_predict(train_x: np.ndarray, train_y: list[str], test_x: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=3000, C=10.0).fit(train_x, train_y).predict(test_x)


def classification(embedder, vectors, labels, train_x, train_y, task, languages) -> dict:
    zero_shot, balanced = {}, {}
    for lang in languages:
        predicted = zero_shot_classifier(embedder, task_prompts(task, lang)).predict(vectors).labels
        scores = accuracies(np.array(predicted), labels)
        zero_shot[lang], balanced[lang] = scores["accuracy"], scores["balanced"]
    majority = Counter(train_y).most_common(1)[0][0]
    return {
        "n": len(labels),
        "classes": dict(Counter(labels).most_common()),
        "zero_shot": zero_shot,
        "zero_shot_balanced": balanced,
        "majority": accuracies(np.array([majority] * len(labels)), labels),
        "linear_probe": accuracies(probe_predict(train_x, train_y, vectors), labels),
    }


def retrieval(embedder, vectors, works, lang) -> dict:
    rows = [i for i, w in enumerate(works) if lang in w["texts"]]
    queries = normalize(embedder.encode_texts([works[i]["texts"][lang][0] for i in rows]))
    return {"pool": len(works), **retrieval_metrics(retrieval_ranks(queries, vectors, np.array(rows)))}


def evaluate(weights: str, data: Path, languages: list[str], kinds: tuple[str, ...] = ("abc", "mtf", "audio")) -> dict:
    model = load_model(weights)
    embedder = Embedder(model, batch_size=32)
    works = [json.loads(line) for line in (data / "works.jsonl").read_text(encoding="utf-8").splitlines()]
    report: dict = {"weights": weights, "heldout_works": sum(w["split"] == "heldout" for w in works), "kinds": {}}
    for kind in kinds:
        heldout = [w for w in works if w["split"] == "heldout" and kind in w["files"]]
        train = [w for w in works if w["split"] != "heldout" and kind in w["files"] and any(task_label(w, t) for t in TASKS)]
        if not heldout:
            continue
        heldout_x, train_x = embed_works(embedder, data, heldout, kind), embed_works(embedder, data, train, kind)
        section: dict = {"title": KINDS[kind], "pool": len(heldout), "classification": {}, "retrieval": {}}
        for task, title in TASKS.items():
            test_rows = [i for i, w in enumerate(heldout) if task_label(w, task)]
            train_rows = [i for i, w in enumerate(train) if task_label(w, task)]
            if len(test_rows) < 5 or len({task_label(train[i], task) for i in train_rows}) < 2:
                continue
            section["classification"][task] = {"title": title, **classification(
                embedder, heldout_x[test_rows], [task_label(heldout[i], task) for i in test_rows],
                train_x[train_rows], [task_label(train[i], task) for i in train_rows], task, languages,
            )}
        section["retrieval"] = {lang: retrieval(embedder, heldout_x, heldout, lang) for lang in languages}
        report["kinds"][kind] = section
    return report


def table(report: dict) -> str:
    lines = []
    for section in report["kinds"].values():
        lines += [f"### {section['title']}: {section['pool']} held-out works", "",
                  "| task | n | zero-shot (en) | zero-shot (8 languages: min / mean) | balanced (en) | majority | linear probe |",
                  "|---|---|---|---|---|---|---|"]
        for result in section["classification"].values():
            shots = list(result["zero_shot"].values())
            lines.append(
                f"| {result['title']} | {result['n']} | {result['zero_shot'].get('en', float('nan')):.3f} "
                f"| {min(shots):.3f} / {np.mean(shots):.3f} | {result['zero_shot_balanced'].get('en', float('nan')):.3f} "
                f"| {result['majority']['accuracy']:.3f} | {result['linear_probe']['accuracy']:.3f} |"
            )
        lines += ["", "| query language | Hit@1 | Hit@10 | MRR |", "|---|---|---|---|"]
        for lang, result in section["retrieval"].items():
            lines.append(f"| {lang} | {result['hit@1']:.3f} | {result['hit@10']:.3f} | {result['mrr']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--data", default="data/demo")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--kinds", default="abc,mtf,audio", help="file kinds to evaluate (default: abc,mtf,audio)")
    parser.add_argument("--out", default=None, help="write the report as JSON here")
    args = parser.parse_args(argv)
    report = evaluate(args.weights, Path(args.data), args.languages.split(","), tuple(args.kinds.split(",")))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
