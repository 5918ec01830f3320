"""Start-up time: how long ``import clamp3`` and the CLI's answers that need no model take, beside
``import torch, transformers`` (what every command paid before the engine was imported lazily).

Each command runs in a fresh interpreter at the repository root, in rounds (every command once per
round) so that other work on the machine weighs on all of them alike; the table gives the median
wall and CPU time (user + system of the child) over the rounds, and the load average around them.

    python benchmarks/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS = [
    ("`python -c \"import clamp3\"`", ["-c", "import clamp3"]),
    ("`python -m clamp3.cli --help`", ["-m", "clamp3.cli", "--help"]),
    ("`python -m clamp3.cli embed --help`", ["-m", "clamp3.cli", "embed", "--help"]),
    ("`python -m clamp3.cli embed x --out o --no-such-option` (an error)", ["-m", "clamp3.cli", "embed", "x", "--out", "o", "--no-such-option"]),
    ("`python -c \"import torch, transformers\"` (baseline)", ["-c", "import torch, transformers"]),
]


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(args: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit status) of one fresh interpreter running ``args``."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    status = subprocess.run([sys.executable, *args], cwd=ROOT, env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds; the table gives medians (default: 3)")
    args = parser.parse_args()

    load_before = load_average()
    results: dict[str, list[tuple[float, float, int]]] = {label: [] for label, _ in COMMANDS}
    for _ in range(args.runs):
        for label, command in COMMANDS:
            results[label].append(timed(command))
    load_after = load_average()

    print(f"{args.runs} rounds, medians; {os.cpu_count()} cores; load average (1, 5, 15 min) "
          f"{load_before} before, {load_after} after; Python {sys.version.split()[0]}\n")
    print("| command | wall s | CPU s | exit status |")
    print("|---|---:|---:|---:|")
    for label, _ in COMMANDS:
        walls, cpus, statuses = zip(*results[label])
        print(f"| {label} | {statistics.median(walls):.2f} | {statistics.median(cpus):.2f} | {'/'.join(sorted(set(map(str, statuses))))} |")


if __name__ == "__main__":
    main()
