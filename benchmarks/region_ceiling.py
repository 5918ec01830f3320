"""How far region (Essen, six classes) can be told from the notes at all: a supervised ceiling
beside what a model's space gives, on the same held-out songs.

    python benchmarks/region_ceiling.py --data data/demo
    python benchmarks/region_ceiling.py --data data/demo --metrics assets/clamp3-small-multilingual/metrics.json

The ceiling is a classifier trained on the labels of the training songs, which a zero-shot
classifier never sees: a logistic regression on TF-IDF character 2-5-grams of each song's
interleaved ABC (the text the model reads: its K:, M: and L: lines, its notes and bar lines),
with and without class weights (balanced accuracy rewards the small regions), and with the K:,
M: and L: lines removed. Beside it: the 10-nearest-neighbour region agreement among the held-out
songs in the TF-IDF space and in the classifier's probability space (neighbours that share the
classifier's belief). With ``--metrics`` (a ``demo.evaluate`` report) the model's own figures are
printed in the same table: its zero-shot accuracy (English prompts), its linear probe and its
neighbour agreement.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # demo.evaluate's measures

SPELLED_OUT = re.compile(r"^[KML]:.*$|\[[KML]:[^\]]*\]", re.MULTILINE)  # the header lines, and inline changes


def read_songs(data: Path) -> tuple[list[dict], list[dict]]:
    from demo.evaluate import read_works

    songs = [w for w in read_works(data) if w.get("kind") == "folk" and w.get("region") and "abc" in w["files"]]
    return [w for w in songs if w["split"] == "train"], [w for w in songs if w["split"] == "heldout"]


def abc_text(data: Path, work: dict, headers: bool) -> str:
    text = (data / work["files"]["abc"]).read_text(encoding="utf-8")
    return text if headers else SPELLED_OUT.sub("", text)


def tfidf_neighbours(x, labels: list[str], k: int = 10) -> float:
    """10-NN region agreement in the TF-IDF space (its rows are unit vectors: cosine is x x^T),
    from the sparse rows (a dense copy of 200,000 columns would take gigabytes)."""
    scores = (x @ x.T).toarray()  # (N, N)
    np.fill_diagonal(scores, -np.inf)
    nearest = np.argpartition(-scores, k, axis=1)[:, :k]
    values = np.asarray(labels)
    return float((values[nearest] == values[:, None]).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="data/demo", help="a corpus built by demo.build")
    parser.add_argument("--metrics", default=None, help="a demo.evaluate report (JSON) whose ABC figures go beside the ceiling")
    args = parser.parse_args(argv)

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from demo.evaluate import accuracies, neighbour_agreement

    data = Path(args.data)
    train, heldout = read_songs(data)
    labels = [w["region"] for w in heldout]
    counts = {r: labels.count(r) for r in sorted(set(labels))}
    print(f"{len(train):,} training songs, {len(heldout):,} held-out: " + ", ".join(f"{r} {n}" for r, n in counts.items()))
    print("| what | accuracy | balanced accuracy | 10-NN region agreement |")
    print("|---|---:|---:|---:|")
    majority = max(counts, key=counts.get)
    scores = accuracies(np.array([majority] * len(labels)), labels)
    chance = sum(n * (n - 1) for n in counts.values()) / (len(labels) * (len(labels) - 1))  # a random neighbour's
    print(f"| majority class ({majority}) | {scores['accuracy']:.3f} | {scores['balanced']:.3f} | {chance:.3f} (chance) |")
    for headers in (True, False):
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(2, 5), min_df=3, max_features=200_000, sublinear_tf=True)
        train_x = vectorizer.fit_transform([abc_text(data, w, headers) for w in train])
        test_x = vectorizer.transform([abc_text(data, w, headers) for w in heldout])
        what = "ABC" if headers else "ABC without its K:, M:, L: fields"
        knn = tfidf_neighbours(test_x, labels)
        print(f"| TF-IDF char 2-5-grams of the {what}: nearest neighbours | - | - | {knn:.3f} |")
        for weights in (None, "balanced"):
            classifier = LogisticRegression(max_iter=3000, C=10.0, class_weight=weights).fit(train_x, [w["region"] for w in train])
            scores = accuracies(classifier.predict(test_x), labels)
            knn = neighbour_agreement(classifier.predict_proba(test_x), {"region": labels})["region"]["agreement"]
            name = "class-weighted logistic regression" if weights else "logistic regression"
            print(f"| {name} on them (supervised) | {scores['accuracy']:.3f} | {scores['balanced']:.3f} | {knn:.3f} |")
    if args.metrics:
        section = json.loads(Path(args.metrics).read_text(encoding="utf-8"))["kinds"]["abc"]
        region = section["classification"]["region"]
        agreement = section.get("neighbours", {}).get("folk", {})
        space = agreement.get("embedding", {}).get("region", {}).get("agreement")
        on_map = agreement.get("map", {}).get("region", {}).get("agreement")
        cell = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"| model ({args.metrics}, {region['n']:,} held-out songs): zero-shot, English prompts | {region['zero_shot']['en']:.3f} "
              f"| {region['zero_shot_balanced']['en']:.3f} | {cell(space)} (space), {cell(on_map)} (map) |")
        print(f"| model: linear probe on its vectors (supervised) | {region['linear_probe']['accuracy']:.3f} "
              f"| {region['linear_probe']['balanced']:.3f} | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
