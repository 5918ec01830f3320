"""Does the M: line decide the tune type? Held-out reels and hornpipes written in 2/2, classified
zero-shot as written and with every metre field (the header's and inline ones) changed to 4/4:
the same bar length, so the notes and the bar lines are untouched and only the token differs.

    python benchmarks/metre_swap.py --data data/demo
    python benchmarks/metre_swap.py --data data/demo --weights default,/tmp/first-edition

Issue 21 found reels written in 4/4 called hornpipes half the time. In this corpus reels and
hornpipes are both written in 2/2 and 2/4, and 4/4 is mostly the strathspey's metre (41 of the 54
training tunes in 4/4); the hypothesis tested is that the answer follows the M: line rather than
the notes (to the strathspey, or wherever the model puts "4/4"). Prints, per weights and tune type: the tunes, the accuracy (English prompts of
``demo.texts.task_prompts``) as written and in 4/4, the share whose answer changed, and the answers
in 4/4. Several ``--weights`` run side by side on the same tunes (a former release: its model
folder from git, e.g. ``git show 135d61d:assets/clamp3-small-multilingual/model.safetensors``
with its ``config.json``, is the first edition).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # demo: the corpus and its prompts

METRE = re.compile(r"^M:.*$|\[M:[^\]]*\]", re.MULTILINE)
TUNE_TYPES = ("reel", "hornpipe")


def in_four_four(abc: str) -> str:
    """The same tune with every metre field, header and inline, written 4/4."""
    return METRE.sub(lambda m: "[M:4/4]" if m.group(0).startswith("[") else "M:4/4", abc)


def tunes(data: Path) -> list[dict]:
    from demo.evaluate import read_works

    return [w for w in read_works(data) if w["split"] == "heldout" and w.get("tune_type") in TUNE_TYPES
            and w.get("metre") == "2/2" and "abc" in w["files"]]


def classify(weights: str, *file_sets: list[Path]) -> list[list[str]]:
    """The tune type of each file of each set, zero-shot with English prompts (``demo.evaluate``'s
    classifier), the model loaded once."""
    from clamp3 import Embedder
    from clamp3.models import load_model
    from demo.evaluate import zero_shot_classifier
    from demo.texts import task_prompts

    embedder = Embedder(load_model(weights), batch_size=32)
    classifier = zero_shot_classifier(embedder, task_prompts("tune_type", "en"))
    answers = []
    for files in file_sets:
        vectors = {}
        for result in embedder.encode_files(files, progress=False):
            if result.error is not None:
                raise SystemExit(f"{result.source}: {result.error}")
            vectors[Path(result.source)] = result.embedding.reshape(-1)
        answers.append(list(classifier.predict(np.stack([vectors[p] for p in files])).labels))
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="data/demo", help="a corpus built by demo.build")
    parser.add_argument("--weights", default="default", help="comma-separated models, side by side")
    args = parser.parse_args(argv)
    data = Path(args.data)
    chosen = tunes(data)
    if not chosen:
        raise SystemExit(f"{data}: no held-out reel or hornpipe in 2/2 (build the corpus with demo.build)")
    with tempfile.TemporaryDirectory() as tmp:
        written, swapped = [], []
        for work in chosen:
            abc = (data / work["files"]["abc"]).read_text(encoding="utf-8")
            changed = in_four_four(abc)
            if changed == abc or "M:2/2" in changed:
                raise SystemExit(f"{work['files']['abc']}: its metre fields could not be rewritten")
            written.append(data / work["files"]["abc"])
            swapped.append(Path(tmp) / f"{work['id']}.abc")
            swapped[-1].write_text(changed, encoding="utf-8")
        print(f"{len(chosen)} held-out tunes in 2/2 ({dict(Counter(w['tune_type'] for w in chosen))}), English prompts\n")
        print("| weights | tune type | n | accuracy as written | accuracy in 4/4 | answer changed | answers in 4/4 |")
        print("|---|---|---:|---:|---:|---:|---|")
        for weights in args.weights.split(","):
            before, after = classify(weights, written, swapped)
            for kind in TUNE_TYPES:
                rows = [i for i, w in enumerate(chosen) if w["tune_type"] == kind]
                answers = Counter(after[i] for i in rows).most_common()
                print(f"| {weights} | {kind} | {len(rows)} | {np.mean([before[i] == kind for i in rows]):.2f} "
                      f"| {np.mean([after[i] == kind for i in rows]):.2f} | {np.mean([before[i] != after[i] for i in rows]):.2f} "
                      f"| {', '.join(f'{name} {count}' for name, count in answers)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
