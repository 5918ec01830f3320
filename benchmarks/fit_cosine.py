"""Where "far from every class" sits for a model: the best cosine of each library score to the
classes of the Classify tab's presets, for the scores those classes describe and for the others.

    python benchmarks/fit_cosine.py                               # the embedded default on the demo library
    python benchmarks/fit_cosine.py --weights DIR --index LIB --threshold 0.3

Prints, per preset, the median best cosine of the scores in its classes and of the rest, and the
share of each under the threshold (``clamp3.zero_shot.FIT_COSINE`` of the weights unless
``--threshold``): a good threshold flags almost none of the first and most of the second. The
lowest best cosine of the scores in a preset's classes is printed too, the bound of a threshold
that flags none of them. The
README's Classify paragraph and ``FIT_COSINE`` take their figures from here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # explorers (the presets)

# the metadata field whose value names each preset's class (the region presets name countries)
PRESET_FIELDS = {"tune type": "tune_type", "region": "country", "era": "era"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--index", default=None, help="a library of these weights (default: the demo library)")
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args(argv)

    from clamp3 import Embedder
    from clamp3.assets import library_dir
    from clamp3.library import Library
    from clamp3.models import load_model
    from clamp3.zero_shot import FIT_COSINE, ZeroShotClassifier
    from explorers.classify import PRESETS

    model = load_model(args.weights)
    threshold = args.threshold if args.threshold is not None else FIT_COSINE.get(args.weights)
    if threshold is None:
        parser.error(f"no FIT_COSINE for '{args.weights}': give --threshold")
    library = Library.open(Path(args.index) if args.index else library_dir(unpack=False), model=model, read_only=True)
    rows = library.items(modality="symbolic")
    vectors = library.vectors_of([r.id for r in rows])
    library.close()
    encode = Embedder(model).encode_texts
    print(f"{args.weights}: {len(rows):,} scores, threshold {threshold:.2f}\n")
    print("| preset | scores in its classes | median best cosine | lowest | under the threshold | other scores | median best cosine | under the threshold |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for preset, field in PRESET_FIELDS.items():
        classes, templates = PRESETS[preset]
        best = ZeroShotClassifier.from_templates(encode, classes, templates).predict(vectors).cosines.max(axis=1)
        inside = np.array([r.metadata.get(field) in classes for r in rows])
        cells = []
        for i, part in enumerate((best[inside], best[~inside])):
            cells += [f"{len(part):,}", f"{np.median(part):.2f}" if len(part) else "-"]
            cells += [f"{part.min():.3f}" if len(part) else "-"] if i == 0 else []
            cells += [f"{np.mean(part < threshold):.0%} ({int((part < threshold).sum()):,})" if len(part) else "-"]
        print(f"| {preset} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
