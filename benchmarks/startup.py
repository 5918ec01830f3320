"""Start-up time: how long ``import clamp3``, the CLI's answers that need no model, a first search
in a fresh interpreter and the app's first answer take, beside the imports every model load pays.

Each command runs in a fresh interpreter, in rounds (every command once per round) so that other
work on the machine weighs on all of them alike; the table gives the median wall and CPU time
(user + system of the child; for the app, of its own process until it answered) over the rounds,
and the load average around them. ``--base DIR`` times a second checkout (say, the commit before a
change: ``git worktree add DIR COMMIT``) in the same rounds, command after command, so that both
columns saw the same load. One untimed round comes first: one-time work (unpacking the demo music,
building the packaged text tower, the tokenizer's saved copy, the project's bytecode, which the
children may write whatever ``PYTHONDONTWRITEBYTECODE`` says) is not counted.

    python benchmarks/startup.py [--runs 3] [--base DIR] [--skip-app]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support

# Through the public API only, so that any checkout since the embedded default can run it.
FIRST_SEARCH = """
import clamp3
from clamp3.assets import EMBEDDED, default_index
model = clamp3.load_model(EMBEDDED)
library = clamp3.Library.open(default_index(EMBEDDED), model=model, read_only=True)
hits = library.search(clamp3.Embedder(model).encode_texts(["a lively Irish jig"]), k=10)[0]
assert len(hits) == 10, hits
"""

COMMANDS = [
    ("`python -c \"import clamp3\"`", ["-c", "import clamp3"]),
    ("`python -m clamp3.cli --help`", ["-m", "clamp3.cli", "--help"]),
    ("`python -m clamp3.cli embed --help`", ["-m", "clamp3.cli", "embed", "--help"]),
    ("`python -m clamp3.cli embed x --out o --no-such-option` (an error)", ["-m", "clamp3.cli", "embed", "x", "--out", "o", "--no-such-option"]),
    ("`import clamp3`, load the embedded default, one text search in the demo library", ["-c", FIRST_SEARCH]),
    ("`python -c \"import torch, transformers\"` (baseline)", ["-c", "import torch, transformers"]),
    ("`import torch` + transformers' BERT code (`modeling_bert`: the floor of a model load before clamp3/models/bert.py)",
     ["-c", "import torch; from transformers.models.bert import modeling_bert"]),
    ("`python -c \"import clamp3.models\"` (the model code: the floor of any model load)", ["-c", "import clamp3.models"]),
]
APP = "`python app.py` -> first /search answer"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def environment(checkout: Path) -> dict[str, str]:
    """As a user's shell: offline, ``checkout`` first on the path, bytecode cached."""
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**inherited, "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(checkout), os.environ.get("PYTHONPATH")]))}


def timed(checkout: Path, args: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit status) of one fresh interpreter running ``args`` in ``checkout``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    status = subprocess.run([sys.executable, *args], cwd=checkout, env=environment(checkout),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), status


def process_cpu(pid: int) -> float:
    """User + system seconds of a running process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_app(checkout: Path, timeout: float) -> tuple[float, float, int]:
    """(seconds from starting ``python app.py`` to its first /search answer, the app's CPU seconds
    by then, 0) in ``checkout``; the app is stopped after."""
    from soak import wait_for_server

    from tests.support import serve_app

    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "app.log"
        started = time.perf_counter()
        with serve_app(log=log, env=environment(checkout), wait=False, root=checkout) as (url, server):
            wait_for_server(url, server, log, started + timeout)
            return time.perf_counter() - started, process_cpu(server.pid), 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds; the table gives medians (default: 3)")
    parser.add_argument("--base", type=Path, default=None, help="another checkout to time in the same rounds")
    parser.add_argument("--skip-app", action="store_true", help="leave out the app's first answer")
    parser.add_argument("--app-timeout", type=float, default=300, help="seconds the app may take to answer (default: 300)")
    args = parser.parse_args()

    checkouts = {"this checkout": ROOT} | ({"base": args.base.resolve()} if args.base else {})
    labels = [label for label, _ in COMMANDS] + ([] if args.skip_app else [APP])
    runs = {label: command for label, command in COMMANDS}

    def run(checkout: Path, label: str) -> tuple[float, float, int]:
        return timed_app(checkout, args.app_timeout) if label == APP else timed(checkout, runs[label])

    for checkout in checkouts.values():  # untimed: one-time work
        for label in labels:
            run(checkout, label)
    load_before = load_average()
    loads: list[float] = []
    results: dict[tuple[str, str], list[tuple[float, float, int]]] = {(n, label): [] for n in checkouts for label in labels}
    for _ in range(args.runs):
        for label in labels:
            for name, checkout in checkouts.items():
                loads.append(os.getloadavg()[0])
                results[name, label].append(run(checkout, label))
    load_after = load_average()

    print(f"{args.runs} rounds, medians; {os.cpu_count()} cores; load average (1, 5, 15 min) {load_before} before, "
          f"{load_after} after, 1-min load {min(loads):.2f}-{max(loads):.2f} (median {statistics.median(loads):.2f}) "
          f"as each command started; Python {sys.version.split()[0]}")
    for name, checkout in checkouts.items():
        print(f"{name}: {checkout}")
    print()
    names = list(checkouts)
    print("| command | " + " | ".join(f"{n}: wall s | {n}: CPU s" for n in names) + " | exit status |")
    print("|---|" + "---:|---:|" * len(names) + "---:|")
    for label in labels:
        cells, statuses = [], set()
        for name in names:
            walls, cpus, codes = zip(*results[name, label])
            cells += [f"{statistics.median(walls):.2f}", f"{statistics.median(cpus):.2f}"]
            statuses.update(map(str, codes))
        print(f"| {label} | " + " | ".join(cells) + f" | {'/'.join(sorted(statuses))} |")


if __name__ == "__main__":
    main()
