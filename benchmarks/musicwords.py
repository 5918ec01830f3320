"""What ``demo.musicwords.analyse`` finds in the demo corpus, and what it costs.

    python -m benchmarks.musicwords --per-group 50

Draws works of each folk region, fiddle tunes and composers' works (seeded), parses each as
``demo.build`` does (ABC conversion included), times ``analyse`` beside it, and prints the share of
each feature value per group: how far the music alone tells the groups apart.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter, defaultdict

from demo.build import read_work
from demo.corpus import corpus_root, select
from demo.musicwords import analyse

GROUPS = ("Germany", "China", "Lorraine", "Luxembourg", "Poland", "other", "fiddle", "composer")
FEATURES = ("mode", "pentatonic", "tonic_end", "range", "motion", "density", "rhythm", "texture", "upbeat")


def group_of(work: dict) -> str:
    return work["region"] if work["kind"] == "folk" else work["kind"]


def sample(per_group: int, seed: int = 1) -> list[dict]:
    by_group = defaultdict(list)
    for work in select(0):
        by_group[group_of(work)].append(work)
    rng = random.Random(seed)
    works = [w for g in GROUPS for w in rng.sample(by_group[g], min(per_group, len(by_group[g])))]
    return sorted(works, key=lambda w: (w["source"], w["id"]))  # a tune book is split once


def run(works: list[dict]) -> list[dict]:
    root, rows = str(corpus_root()), []
    for work in works:
        start = time.perf_counter()
        try:
            _, score = read_work(work, root)
        except Exception as exc:  # as in the build: a work music21 cannot read is left out
            print(f"{work['id']}: {type(exc).__name__}", file=sys.stderr)
            continue
        parsed = time.perf_counter()
        features = analyse(score)  # once: music21 caches the flattened parts a second call would reuse
        rows.append({"id": work["id"], "group": group_of(work), "kind": work["kind"], "parse_ms": (parsed - start) * 1e3,
                     "ms": (time.perf_counter() - parsed) * 1e3, "music": features})
    return rows


def report(rows: list[dict]) -> str:
    lines = ["| kind | works | analyse ms (median / max) | slowest | parse ms (median) |", "|---|---|---|---|---|"]
    for kind in ("folk", "fiddle", "composer"):
        kind_rows = [r for r in rows if r["kind"] == kind]
        if kind_rows:
            ms = [r["ms"] for r in kind_rows]
            slowest = max(kind_rows, key=lambda r: r["ms"])["id"]
            lines.append(f"| {kind} | {len(kind_rows)} | {statistics.median(ms):.1f} / {max(ms):.0f} | {slowest} | "
                         f"{statistics.median(r['parse_ms'] for r in kind_rows):.0f} |")
    for feature in FEATURES:
        values = sorted({str(r["music"].get(feature)) for r in rows})
        lines += ["", f"| {feature} | " + " | ".join(values) + " |", "|---" * (len(values) + 1) + "|"]
        for group in GROUPS:
            group_rows = [r for r in rows if r["group"] == group]
            if group_rows:
                counts = Counter(str(r["music"].get(feature)) for r in group_rows)
                lines.append(f"| {group} ({len(group_rows)}) | " + " | ".join(f"{counts[v] / len(group_rows):.2f}" for v in values) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-group", type=int, default=40, help="works drawn per group (default: 40)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(report(run(sample(args.per_group, args.seed))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
