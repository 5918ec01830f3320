"""How far region (Essen, six classes) can be told from the notes at all: a supervised ceiling
beside what a model's space gives, on the same held-out songs.

    python benchmarks/region_ceiling.py --data data/demo
    python benchmarks/region_ceiling.py --data data/demo --metrics assets/clamp3-small-multilingual/metrics.json

The ceiling is a classifier trained on the labels of the training songs, which a zero-shot
classifier never sees: a logistic regression on TF-IDF character 2-5-grams of each song's
interleaved ABC (the text the model reads: its K:, M: and L: lines, its notes and bar lines),
with and without class weights (balanced accuracy rewards the small regions), and with the K:,
M: and L: lines removed; and the same classifiers on what the notes do, whatever the ABC spells
(from each song's MTF: the pitch classes above its last note, its melodic intervals, its note
values, its range). Beside them: the 10-nearest-neighbour region agreement among the held-out
songs in each feature space and in the classifier's probability space (neighbours that share the
classifier's belief). With ``--metrics`` (a ``demo.evaluate`` report) the model's own figures are
printed in the same table: its zero-shot accuracy (English prompts), its linear probe and its
neighbour agreement. With ``--weights`` the songs are embedded by that model (``default``: the
shipped one) and it gets the same rows as the features, plus its zero-shot classifier twice: as
``clamp3 classify`` has it, and with each class's cosine less its mean over the training songs
(no label used), which shows how much of the gap to the probe is the classifier's lean towards
the regions the texts named most, not what the space holds.

    python benchmarks/region_ceiling.py --data data/demo --weights default
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

    songs = [w for w in read_works(data) if w.get("kind") == "folk" and w.get("region") and {"abc", "mtf"} <= w["files"].keys()]
    return [w for w in songs if w["split"] == "train"], [w for w in songs if w["split"] == "heldout"]


def abc_text(data: Path, work: dict, headers: bool) -> str:
    text = (data / work["files"]["abc"]).read_text(encoding="utf-8")
    return text if headers else SPELLED_OUT.sub("", text)


def note_features(path: Path) -> np.ndarray:
    """What the notes of an MTF file do, as (57,) features: the share of each pitch class counted
    up from the last note (12), of each melodic interval from -12 to 12 semitones, wider ones
    clipped (25), of each note value (onset to onset, log2 of beats in half-octave bins, 13), and
    seven summaries: length, range, pitch classes used, mean leap, share of steps and of repeated
    notes, onsets per beat."""
    from mido.messages.specs import SPEC_BY_TYPE

    from clamp3.passages import mtf_line

    first, *lines = path.read_text(encoding="utf-8").splitlines()
    ticks, notes, now = int(first.split()[1]), [], 0  # (onset tick, MIDI pitch) of each note
    for line in lines:
        values, at = mtf_line(line, SPEC_BY_TYPE)
        now += int(values[at])
        if values[0] == "note_on" and int(values[4]) > 0:  # type, time, channel, note, velocity
            notes.append((now, int(values[3])))
    if len(notes) < 3:
        raise ValueError(f"{path}: {len(notes)} notes; note features need 3 or more")
    onsets, pitches = np.array(notes).T  # (notes,) each
    steps = np.clip(np.diff(pitches), -12, 12)
    gaps = np.diff(onsets)[np.diff(onsets) > 0] / ticks  # beats between successive onsets
    note_values = np.clip(np.round(2 * np.log2(gaps)).astype(int) + 6, 0, 12) if len(gaps) else np.zeros(0, int)

    def shares(codes: np.ndarray, n: int) -> np.ndarray:
        return np.bincount(codes, minlength=n) / max(len(codes), 1)

    summary = [len(pitches) / 100, np.ptp(pitches) / 24, len(set(pitches % 12)) / 12, np.abs(steps).mean() / 5,
               (np.abs(steps) <= 2).mean(), (steps == 0).mean(), len(gaps) / max(onsets[-1] / ticks, 1)]
    return np.concatenate([shares((pitches - pitches[-1]) % 12, 12), shares(steps + 12, 25), shares(note_values, 13), summary])


def supervised_rows(name: str, train_x, train_y: list[str], test_x, labels: list[str]) -> None:
    """A table row per logistic regression on (train_x, train_y), without and with class weights,
    scored on (test_x, labels), with the agreement of neighbours in its probability space."""
    from sklearn.linear_model import LogisticRegression

    from demo.evaluate import accuracies, neighbour_agreement

    for weights in (None, "balanced"):
        classifier = LogisticRegression(max_iter=3000, C=10.0, class_weight=weights).fit(train_x, train_y)
        scores = accuracies(classifier.predict(test_x), labels)
        knn = neighbour_agreement(classifier.predict_proba(test_x), {"region": labels})["region"]["agreement"]
        what = "class-weighted logistic regression" if weights else "logistic regression"
        print(f"| {what} on {name} (supervised) | {scores['accuracy']:.3f} | {scores['balanced']:.3f} | {knn:.3f} |")


def model_rows(weights: str, data: Path, train: list[dict], heldout: list[dict]) -> None:
    """The rows of a model: its zero-shot classifier (English prompts), as is and centred, its
    space's neighbours and a probe on its vectors."""
    import demo.texts
    from clamp3 import Embedder
    from clamp3.models import load_model
    from demo.evaluate import accuracies, embed_works, neighbour_agreement, zero_shot_classifier

    embedder = Embedder(load_model(weights), batch_size=32)
    train_x, test_x = embed_works(embedder, data, train, "abc"), embed_works(embedder, data, heldout, "abc")  # unit rows
    labels = [w["region"] for w in heldout]
    classifier = zero_shot_classifier(embedder, demo.texts.task_prompts("region", "en"))
    knn = neighbour_agreement(test_x, {"region": labels})["region"]["agreement"]
    scores = accuracies(np.array(classifier.predict(test_x).labels), labels)
    print(f"| model {weights}: zero-shot, English prompts; its space's neighbours | {scores['accuracy']:.3f} "
          f"| {scores['balanced']:.3f} | {knn:.3f} |")
    centre = (train_x @ classifier.class_vectors.T).mean(axis=0)  # (classes,): each class's mean cosine, no label used
    centred = np.array(classifier.classes)[np.argmax(test_x @ classifier.class_vectors.T - centre, axis=1)]
    scores = accuracies(centred, labels)
    print(f"| model {weights}: zero-shot, each class's cosine less its mean over the training songs | "
          f"{scores['accuracy']:.3f} | {scores['balanced']:.3f} | - |")
    supervised_rows(f"model {weights}'s vectors", train_x, [w["region"] for w in train], test_x, labels)


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
    parser.add_argument("--weights", default=None, help="comma-separated models whose vectors are measured here too ('default': the embedded default)")
    args = parser.parse_args(argv)

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import StandardScaler

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
        supervised_rows("them", train_x, [w["region"] for w in train], test_x, labels)
    train_x, test_x = (np.stack([note_features(data / w["files"]["mtf"]) for w in songs]) for songs in (train, heldout))
    scaler = StandardScaler().fit(train_x)
    train_x, test_x = scaler.transform(train_x), scaler.transform(test_x)
    knn = neighbour_agreement(test_x, {"region": labels})["region"]["agreement"]  # cosine of the standardised features
    print(f"| the notes' features (pitch classes, intervals, note values, range; from the MTF): nearest neighbours | - | - | {knn:.3f} |")
    supervised_rows("them", train_x, [w["region"] for w in train], test_x, labels)
    for weights in (args.weights.split(",") if args.weights else []):
        model_rows(weights, data, train, heldout)
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
