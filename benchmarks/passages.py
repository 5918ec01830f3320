"""The window length of audio passages, measured: a planted test with the embedded model on the demo.

Each trial builds a long recording of the demo's audio features (one row per 5 s): rows of other
demo recordings, 60-90 s of them, with one whole demo recording (10-20 s, its rows in order) planted
at a random row. The recordings are cut into windows of N seconds every 5 s
(``clamp3.passages.feature_windows``), each embedded, and searched by a query for the planted
recording: its own vector (audio to audio), and the vector of the score of the same work (symbolic
to audio: "where in these recordings does this tune play"). For each N: how often the recording
with the plant ranks first by its best window (among all trials' recordings: which piece), where
that recording's own best window lies against the plant (intersection over union, and how often
they overlap at all: where in the piece), and the windows a minute of audio costs.

    python benchmarks/passages.py [--trials 60] [--seconds 5 10 15 20 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clamp3.retrieval import normalize  # noqa: E402


def main() -> None:
    from clamp3.assets import library_dir
    from clamp3.embedding import Embedder
    from clamp3.formats import read_items
    from clamp3.formats.base import Item
    from clamp3.library import Library
    from clamp3.models import load_model
    from clamp3.passages import FEATURE_SECONDS, feature_windows

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seconds", type=int, nargs="+", default=[5, 10, 15, 20, 30])
    args = parser.parse_args()
    print("load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg()), f"on {os.cpu_count()} cores", flush=True)

    demo = Library.open(library_dir(unpack=True), read_only=True)
    items = demo.items()
    audio = [item for item in items if item.modality == "audio"]
    scores = {item.metadata.get("work"): item for item in items if item.modality == "symbolic"}
    rng = np.random.default_rng(0)
    planted = [item for item in rng.permutation(np.array(audio, dtype=object)) if item.metadata.get("work") in scores][: args.trials]
    queries = {"audio (its own vector)": demo.vectors_of([item.id for item in planted]),
               "score of the same work": demo.vectors_of([scores[item.metadata["work"]].id for item in planted])}
    demo.close()
    rows_of = {item.id: read_items(Path(item.path))[0].data for item in audio}
    others = [item.id for item in audio]
    recordings, spans = [], []
    for item in planted:
        filler = []
        while len(filler) < rng.integers(12, 19):  # 60-90 s of other recordings
            other = others[rng.integers(len(others))]
            if other != item.id:
                filler += list(rows_of[other])
        at = int(rng.integers(0, len(filler) + 1))
        plant = rows_of[item.id]
        recordings.append(np.stack(filler[:at] + list(plant) + filler[at:]))
        spans.append((at * FEATURE_SECONDS, (at + len(plant)) * FEATURE_SECONDS))
    minutes = sum(len(r) for r in recordings) * FEATURE_SECONDS / 60

    embedder = Embedder(load_model("default"))
    print(f"{len(planted)} recordings of {minutes / len(planted):.1f} min on average, each with one demo recording planted\n", flush=True)
    print("| window | windows a minute | query | planted recording first | its best window: IoU with the plant | overlaps it |\n"
          "|---|---:|---|---:|---:|---:|")
    for seconds in args.seconds:
        started = time.perf_counter()
        cut = [(n, w) for n, rec in enumerate(recordings) for w in feature_windows(Item(None, str(n), "features", rec), seconds, 5)]
        vectors = normalize(np.concatenate([np.asarray(v, np.float32).reshape(1, -1) for v in embedder.encode_items([w.item for _, w in cut])]))
        owner = np.array([n for n, _ in cut])
        embedded = time.perf_counter() - started
        for label, query in queries.items():
            firsts, overlaps = 0, []
            for trial, q in enumerate(normalize(query)):
                scores = vectors @ q  # (W,)
                firsts += int(owner[int(np.argmax(scores))] == trial)
                own = np.flatnonzero(owner == trial)
                window, (start, end) = cut[own[int(np.argmax(scores[own]))]][1], spans[trial]
                inter = max(0, min(end, window.last) - max(start, window.first))
                overlaps.append(inter / (max(end, window.last) - min(start, window.first)))
            print(f"| {seconds} s every 5 | {len(cut) / minutes:.1f} | {label} | {firsts / len(planted):.2f} | "
                  f"{np.mean(overlaps):.2f} | {np.mean(np.array(overlaps) > 0):.2f} |", flush=True)
        print(f"(embedded in {embedded:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
