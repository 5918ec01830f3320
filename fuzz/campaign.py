"""A long mutation campaign over every reader, with a table of inputs, seconds and findings.

    python -m fuzz.campaign --inputs 100000                 # every target
    python -m fuzz.campaign --inputs 20000 midi abc_book    # some of them

Unlike libFuzzer, the campaign goes on after a finding: each distinct undeclared exception (its
type and the line that raised it) and each input over the time budget is kept once under
``--save`` (default: a temporary folder), replayable with ``python -m fuzz.fuzz_readers NAME PATH``.
An input that runs past ``--hang`` seconds is stopped by an alarm and counted as a hang.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from fuzz.targets import TARGETS, Hang, mutate, save_input, seeds_of


@dataclass
class Tally:
    name: str
    inputs: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    findings: dict[str, Path] = field(default_factory=dict)


def _where(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"


def run_target(name: str, inputs: int, seconds: float, seed: int, budget: float, hang: float, save: Path) -> Tally:
    """Feed ``inputs`` mutated seeds (or as many as fit in ``seconds``) to one target."""
    target, seeds = TARGETS[name], seeds_of(name)
    rng = random.Random(f"{seed}-{name}")
    tally = Tally(name)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as scratch:
        started = time.perf_counter()
        while tally.inputs < inputs and time.perf_counter() - started < seconds:
            data = mutate(rng.choice(seeds), rng, seeds)
            tally.inputs += 1
            begun = time.perf_counter()
            try:
                target.run(data, Path(scratch), hang)
                key = None
            except Hang:
                key = f"hang over {hang:g} s"
            except Exception as exc:  # the contract is broken: keep the input
                key = _where(exc)
            took = time.perf_counter() - begun
            tally.slowest = max(tally.slowest, took)
            if key is None and took > budget * target.items(target.cut(data)):
                key = f"over the {budget:g} s budget per item"
            if key is not None and key not in tally.findings:
                tally.findings[key] = save_input(name, data, save)
                print(f"{name}: {key}: {tally.findings[key]}", file=sys.stderr, flush=True)
        tally.seconds = time.perf_counter() - started
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help=f"default: all of {' '.join(TARGETS)}")
    parser.add_argument("--inputs", type=int, default=10_000, help="inputs per target")
    parser.add_argument("--seconds", type=float, default=float("inf"), help="time limit per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=5.0, help="seconds one input may take")
    parser.add_argument("--hang", type=float, default=60.0, help="seconds after which an input is stopped")
    parser.add_argument("--save", type=Path, default=Path(tempfile.gettempdir()) / "clamp3-fuzz")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; expected some of {' '.join(TARGETS)}")
    tallies = []
    for name in args.targets or TARGETS:
        tally = run_target(name, args.inputs, args.seconds, args.seed, args.budget, args.hang, args.save)
        tallies.append(tally)
        print(f"{name}: {tally.inputs} inputs in {tally.seconds:.0f} s, slowest {tally.slowest:.2f} s, {len(tally.findings)} findings", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n| reader | inputs | seconds | slowest input (s) | findings |\n| --- | ---: | ---: | ---: | --- |")
    for tally in tallies:
        found = "; ".join(f"{key} ({path.name})" for key, path in tally.findings.items()) or "none"
        print(f"| {tally.name} | {tally.inputs} | {tally.seconds:.0f} | {tally.slowest:.2f} | {found} |")
    print(f"\npeak memory of the process: {peak_mb:.0f} MB")
    return 1 if any(t.findings for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main())
