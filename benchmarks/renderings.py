"""The demo's renderings (``demo.renderings``): does each instrument sound in TimGM6mb, how far
apart are their features (``demo.build.AUDIO_FEATURES``), and what does one rendered excerpt cost.

1. One Essen song and one Bach chorale rendered with every instrument at one tempo and velocity:
   the peak level of each, and the RMS distance between instruments' feature vectors
   (windows averaged; every dimension standardised over the 20 renderings) beside the distance
   between the two pieces on one instrument.
2. ``--works`` works of the demo corpus (a seeded sample) through ``demo.build.convert``, without
   and with their drawn rendering: the CPU seconds an excerpt adds (render, resample, features),
   and what that costs for a few audio fractions of the whole corpus on 2 workers. CPU time, not
   wall time: the machine may be shared.
3. On those works' renderings, the features of spectral-v1 and spectral-v2 side by side (mean and
   standard deviation over windows, standardised): the 5-fold accuracy of a linear probe for
   instrument, tempo class, slow against fast, slow against the rest, and dynamics, beside the
   majority class: what the audio tower can hope to learn from each.

    python benchmarks/renderings.py [--works 240]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def instruments() -> None:
    from music21 import corpus, midi

    from clamp3.features import load_extractor
    from clamp3.features.render import render_midi
    from demo.build import AUDIO_FEATURES
    from demo.renderings import INSTRUMENTS, apply_rendering

    extractor = load_extractor(AUDIO_FEATURES)
    pieces = {"essen": corpus.parse("essenFolksong/altdeu10", number=1), "chorale": corpus.parse("bach/bwv66.6")}
    features = {}
    for name, score in pieces.items():
        exported = midi.translate.streamToMidiFile(score).writestr()
        for instrument, program in INSTRUMENTS.items():
            rendering = {"instrument": instrument, "program": program, "bpm": 100, "dynamics": "moderate"}
            waveform = render_midi(apply_rendering(exported, rendering), max_seconds=20.0)
            peak = float(np.abs(waveform).max())
            features[name, instrument] = extractor.extract(waveform).mean(0)
            print(f"{name:8s} {instrument:10s} program {program:3d}  peak {peak:.3f}  {len(waveform) / 24000:.1f} s")
    names = list(INSTRUMENTS)
    stacked = np.stack(list(features.values()))  # (20, 256): every dimension standardised over them
    mean, std = stacked.mean(0), stacked.std(0) + 1e-6
    features = {key: (value - mean) / std for key, value in features.items()}
    print("\nRMS distance of standardised features between instruments (mean of the two pieces)\n" + " " * 10 + "".join(f"{n[:7]:>8s}" for n in names))
    for a in names:
        row = [np.mean([_distance(features[p, a], features[p, b]) for p in pieces]) for b in names]
        print(f"{a:10s}" + "".join(f"{d:8.3f}" for d in row))
    between = [_distance(features["essen", n], features["chorale", n]) for n in names]
    print(f"\nbetween the two pieces on one instrument: mean {np.mean(between):.3f}")


def rendered_features(work: dict, root: str, extractors: dict) -> dict[str, np.ndarray] | None:
    """The work rendered as ``demo.build`` renders it, through each extractor: windows' mean and
    standard deviation (512 values); None where it is silent."""
    from clamp3.features.render import render_midi
    from demo.build import AUDIO_SECONDS, _midi_bytes, read_work
    from demo.renderings import apply_rendering

    _, score = read_work(work, root)
    midi = _midi_bytes(score, flat=work["kind"] == "fiddle")
    waveform = render_midi(apply_rendering(midi, work["rendering"]), work["id"], max_seconds=AUDIO_SECONDS)
    if not np.abs(waveform).max() > 0:
        return None
    return {name: np.concatenate([f.mean(0), f.std(0)]) for name, f in ((n, e.extract(waveform)) for n, e in extractors.items())}


def cost(n_works: int) -> None:
    from clamp3.features import load_extractor
    from demo.build import convert
    from demo.corpus import corpus_root, select
    from demo.renderings import draw_rendering

    works = select(0)
    root = str(corpus_root())
    times = {"scores only": [], "with audio": []}
    extractors = {name: load_extractor(name) for name in ("spectral-v1", "spectral-v2")}
    features, renderings = {name: [] for name in extractors}, []
    for work in random.Random(0).sample(works, n_works):
        work["rendering"] = draw_rendering(work["id"], work)
        for name, with_audio in (("scores only", False), ("with audio", True)):
            start = time.process_time()
            result = convert((work, root, with_audio))
            times[name].append(time.process_time() - start)
        if "error" not in result and result["features"] is not None:
            for name, values in rendered_features(work, root, extractors).items():
                features[name].append(values)
            renderings.append(work["rendering"])
    print(f"\n{n_works} works of {len(works)}: CPU seconds per work (mean, max) of demo.build.convert")
    for name, values in times.items():
        print(f"{name:12s} {np.mean(values):6.3f} {np.max(values):6.3f}")
    extra = np.mean(times["with audio"]) - np.mean(times["scores only"])
    for fraction in (0.15, 0.3, 0.5, 0.7):
        n = fraction * len(works)
        print(f"audio fraction {fraction}: {n:.0f} excerpts, + {n * extra / 2 / 60:.0f} min on 2 workers for render + features")
    probe({name: np.stack(values) for name, values in features.items()}, renderings)


def probe(features: dict[str, np.ndarray], renderings: list[dict]) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    print(f"\nlinear probe on {len(renderings)} excerpts (5-fold accuracy)\n{'':12s} " + " ".join(f"{n:>11s}" for n in features) + "   majority")
    fast_or_slow = np.array([r["tempo"] != "moderate" for r in renderings])
    tasks = {"instrument": (None, [r["instrument"] for r in renderings]),
             "tempo": (None, [r["tempo"] for r in renderings]),
             "slow / fast": (fast_or_slow, [r["tempo"] for r in renderings if r["tempo"] != "moderate"]),
             "slow / rest": (None, [r["tempo"] == "slow" for r in renderings]),
             "dynamics": (None, [r["dynamics"] for r in renderings])}
    for task, (rows, y) in tasks.items():
        accuracies = []
        for x in features.values():
            model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
            accuracies.append(np.mean(cross_val_score(model, x if rows is None else x[rows], y, cv=5)))
        print(f"{task:12s} " + " ".join(f"{a:11.3f}" for a in accuracies) + f"   {max(y.count(c) for c in set(y)) / len(y):.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--works", type=int, default=240)
    args = parser.parse_args(argv)
    instruments()
    cost(args.works)
    return 0


if __name__ == "__main__":
    sys.exit(main())
