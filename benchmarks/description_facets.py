"""What each fact that the ABC spells out (key, metre, length in bars) adds to a held-out
description query, per language: where the languages' text -> score gap to English comes from.

    python benchmarks/description_facets.py --data data/demo --weights /tmp/old-model,default
    python benchmarks/description_facets.py --data data/demo --weights default --languages en,zh,fa,he,th,sk,ru

Held-out scores (ABC) of the corpus are searched by ``demo.evaluate``'s description query (every
fact but the title), then by the same query without the key, without the metre, without the length
in bars, and by the class alone (the short description). Each column is Hit@10 over all held-out
works; "facts add" is the description's Hit@10 less the class alone's. Each model of ``--weights``
(the first is the baseline) embeds the scores itself; a language costs about 90 s of 2 CPU cores
per model.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # demo's texts and measures

VARIANTS = {  # column -> the facts left out of the description
    "description": frozenset(),
    "-key": frozenset({"key"}),
    "-metre": frozenset({"metre"}),
    "-bars": frozenset({"bars"}),
    "class": None,  # the short description alone
}


def query(left_out: frozenset | None) -> Callable[[dict, str], str | None]:
    """The held-out description query without the facts ``left_out`` (None: the class alone)."""
    from demo import texts

    if left_out is None:
        return texts.core
    return lambda work, lang: texts.describe(work, lang, title=False, leave_out=left_out)


def hits(embedder, vectors: np.ndarray, works: list[dict], lang: str) -> dict[str, float]:
    from demo.evaluate import retrieval

    return {name: retrieval(embedder, vectors, works, lang, query(left_out))["hit@10"] for name, left_out in VARIANTS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/demo", help="a corpus built by demo.build")
    parser.add_argument("--weights", default="default", help="comma-separated models, the baseline first")
    parser.add_argument("--languages", default="en,zh,fa,he,th,sk", help="comma-separated language codes")
    args = parser.parse_args(argv)

    from clamp3 import Embedder
    from clamp3.models import load_model
    from demo.evaluate import embed_works, read_works

    data = Path(args.data)
    works = [w for w in read_works(data) if w["split"] == "heldout" and "abc" in w["files"]]
    languages = args.languages.split(",")
    table: dict[str, dict[str, dict[str, float]]] = {}
    for weights in args.weights.split(","):
        start = time.time()
        embedder = Embedder(load_model(weights), batch_size=64)
        vectors = embed_works(embedder, data, works, "abc")
        table[weights] = {lang: hits(embedder, vectors, works, lang) for lang in languages}
        print(f"{weights}: {time.time() - start:.0f} s", file=sys.stderr)

    print(f"Held-out scores: {len(works)}; Hit@10 of each query (ABC)\n")
    print("| language | model | " + " | ".join(VARIANTS) + " | facts add | ratio to en |")
    print("|---|---|" + "---:|" * (len(VARIANTS) + 2))
    for lang in languages:
        for weights, rows in table.items():
            row = rows[lang]
            ratio = row["description"] / rows["en"]["description"] if "en" in rows and rows["en"]["description"] else float("nan")
            print(f"| {lang} | {weights} | " + " | ".join(f"{row[name]:.3f}" for name in VARIANTS)
                  + f" | {row['description'] - row['class']:+.3f} | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
