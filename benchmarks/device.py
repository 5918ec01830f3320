"""One GPU run of at most 8 minutes, one table: full-size embedding against the official loop,
the app's text search on the GPU beside the CPU, and training throughput.

- embed: the full-size SAAS-shaped model (seeded random weights) over the two folders of
  ``benchmarks/embed.py`` (``large``: the golden conversions; ``sample``: music21 works drawn at
  random), clamp3's engine against that script's re-implementation of the official
  one-file-at-a-time loop: files/s both sides, the speed-up, and the largest difference of the
  global vectors (PASS when <= 1e-3); on a GPU also clamp3 in bfloat16, with its min cosine;
- search: the app's text search on the embedded default and the demo library, as the /search
  handler runs it for a text (``Context.encode_text`` then ``Context.search``; the handler's own
  module imports gradio, which this script does without): p50 / p95 ms over N queries with the
  model on the CPU, then in the same process on the GPU;
- train: pairs/s of clamp3's trainer (``benchmarks/train.py``'s run) on the full-size shape for a
  few steps, in bfloat16 on a GPU.

Each part has a budget in seconds, and the run one in all (``--budget-seconds``, 480): a part whose
budget no longer fits in what is left is reported as skipped (budget); one that overruns its own is
stopped there, and the table keeps the rows it had. Without a CUDA device it refuses in one line
(exit 2), unless given ``--device cpu --smoke``: every part at tiny sizes (a small model, a few
files, a couple of steps), to check the script end to end. Exit 1 when a check failed or a part
broke. The ``sample`` folder is built once under ``--cache`` with music21; give a folder built
elsewhere where music21 is not installed.

    python benchmarks/device.py [--budget-seconds 480] [--parts embed search train] [--out device.json]
    python benchmarks/device.py --device cpu --smoke
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
SMOKE_FILES = 2  # files of each kind per folder
SMOKE_HIDDEN, SMOKE_LAYERS = 128, 2  # the smoke's model, for embedding and training alike
SMOKE_SHAPE = f"smoke: hidden {SMOKE_HIDDEN}, {SMOKE_LAYERS} layers"

Add = Callable[[str, str], None]  # (measure, value) -> a row of the running part


class OverBudget(BaseException):
    """Raised in a part when its budget runs out; not an Exception, so that no part's own
    handling of errors swallows it."""


@dataclass
class Part:
    name: str
    budget: float  # seconds
    status: str = "not run"
    seconds: float = 0.0
    peak_gpu_mib: float | None = None


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="a CUDA device (default), or cpu with --smoke")
    parser.add_argument("--smoke", action="store_true", help="every part at tiny sizes, to check that the script works")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS), help="the parts to run (default: all)")
    parser.add_argument("--budget-seconds", type=float, default=480, help="the whole run (default: 480)")
    parser.add_argument("--embed-seconds", type=float, default=210, help="budget of the embedding part (default: 210)")
    parser.add_argument("--search-seconds", type=float, default=60, help="budget of the search part (default: 60)")
    parser.add_argument("--train-seconds", type=float, default=180, help="budget of the training part (default: 180)")
    # large first: it needs nothing built, and its long MTF files are where the speed-up is hardest won
    parser.add_argument("--folders", nargs="+", default=["large", "sample"], choices=["sample", "large"])
    parser.add_argument("--batch-size", type=int, default=16, help="clamp3's embedding batch (default: 16)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "clamp3-bench-sample",
                        help="where the sample folder is built once, or was built (needs music21 to build)")
    parser.add_argument("--queries", type=int, default=0, help="timed text queries per device (default: 200; smoke 5)")
    parser.add_argument("--train-steps", type=int, default=0, help="training steps, the first untimed (default: 12; smoke 3)")
    parser.add_argument("--train-batch-size", type=int, default=0, help="pairs per step (default: 32; smoke 4)")
    parser.add_argument("--precision", default=None, choices=["float32", "bfloat16", "float16"],
                        help="training precision (default: bfloat16 on a GPU, float32 on the CPU)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table as JSON here")
    args = parser.parse_args(argv)
    args.queries = args.queries or (5 if args.smoke else 200)
    args.train_steps = args.train_steps or (3 if args.smoke else 12)
    args.train_batch_size = args.train_batch_size or (4 if args.smoke else 32)
    args.precision = args.precision or ("float32" if args.device == "cpu" else "bfloat16")
    if args.train_steps < 2:
        parser.error(f"--train-steps must be at least 2 (the first is not timed), got {args.train_steps}")
    return args


def refusal(args: argparse.Namespace) -> str | None:
    """Why this run cannot measure what it is for, in one line; None when it can."""
    if args.device == "cpu":
        if args.smoke:
            return None
        return ("benchmarks/device.py: --device cpu measures nothing this script is for (its full sizes take hours "
                "on a CPU); give --smoke to check the script, or run it on a GPU")
    if not torch.cuda.is_available():
        return (f"benchmarks/device.py: no CUDA device (torch {torch.__version__} sees none); run it on a GPU machine, "
                "or check the script with --device cpu --smoke")
    return None


def environment(args: argparse.Namespace) -> dict:
    if args.device == "cpu":
        cpuinfo = Path("/proc/cpuinfo")
        models = [line.split(":", 1)[1].strip() for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
                  if line.startswith("model name")]
        name = models[0] if models else platform.machine()
    else:
        properties = torch.cuda.get_device_properties(args.device)
        name = f"{properties.name}, {properties.total_memory / 2**30:.0f} GiB"
    return {"device": args.device, "name": name, "torch": torch.__version__, "cuda": torch.version.cuda,
            "cpu_threads": torch.get_num_threads(), "smoke": args.smoke, "budget_s": args.budget_seconds}


# --- the parts ---------------------------------------------------------------------------------------
def small_config():
    from train import model_config

    return model_config(full=False, hidden=SMOKE_HIDDEN, layers=SMOKE_LAYERS)


def embed_part(args: argparse.Namespace, add: Add) -> bool:
    """benchmarks/embed.py's comparison, folder by folder; False when the outputs disagree or a folder broke."""
    from embed import TOLERANCE, build_model, compare, describe, folder_files

    from clamp3.embedding import Embedder
    from clamp3.formats import read_items

    model = build_model(args.device, small_config() if args.smoke else None)
    add("model", f"{SMOKE_SHAPE if args.smoke else 'SAAS shape'}, "
                 f"{sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters, random weights, float32")
    passed = True
    for name in args.folders:
        try:
            files = folder_files(name, args.cache, per_kind=SMOKE_FILES if args.smoke else 0)
            items = [read_items(f)[0] for f in files]
            embedder = Embedder(model, batch_size=args.batch_size)
            add(f"{name}: files", describe(files, embedder, items))
            print(f"embed: {name}, {len(files)} files", file=sys.stderr, flush=True)
            result = compare(model, embedder, items)
        except Exception as exc:  # noqa: BLE001 - one folder that cannot run (say, no music21 to build the sample) is a row
            traceback.print_exc()
            add(f"{name}: error", f"{type(exc).__name__}: {exc}")
            passed = False
            continue
        official, ours = len(files) / result.official_seconds, len(files) / result.clamp3_seconds
        add(f"{name}: official loop (1 file, padded to 512), files/s", f"{official:.2f} ({result.official_seconds:.1f} s)")
        add(f"{name}: clamp3 embed (float32), files/s", f"{ours:.2f} ({result.clamp3_seconds:.1f} s)")
        add(f"{name}: speed-up", f"{ours / official:.1f}x")
        if result.clamp3_warm_seconds is not None:
            warm = len(files) / result.clamp3_warm_seconds
            add(f"{name}: clamp3 embed (float32), second pass, files/s",
                f"{warm:.2f} ({result.clamp3_warm_seconds:.1f} s), {warm / official:.1f}x")
        if result.bfloat16_seconds is not None:
            low, again = len(files) / result.bfloat16_seconds, len(files) / result.bfloat16_warm_seconds
            add(f"{name}: clamp3 embed (bfloat16), first / second pass, files/s",
                f"{low:.2f} / {again:.2f} ({result.bfloat16_seconds:.1f} / {result.bfloat16_warm_seconds:.1f} s), "
                f"{low / official:.1f}x / {again / official:.1f}x, min cosine to float32 {result.bfloat16_cosine:.5f}")
        verdict = "PASS" if result.difference <= TOLERANCE else "FAIL"
        passed &= verdict == "PASS"
        add(f"{name}: max abs difference of the global vectors", f"{result.difference:.2e} {verdict} (<= {TOLERANCE:.0e})")
    return passed


def text_search_ms(context, queries: int, warm_up: int = 3) -> np.ndarray:
    """Milliseconds per text query end to end (encode, then search the library for 10 hits); the
    first ``warm_up`` queries pay one-time costs and are not counted. Each text is new (a number
    appended), as no cache may answer it."""
    from search import TEXTS

    times = []
    for i in range(warm_up + queries):
        started = time.perf_counter()
        hits = context.search(context.encode_text(f"{TEXTS[i % len(TEXTS)]} {i}"), 10)
        times.append((time.perf_counter() - started) * 1000)
        assert len(hits) == 10, hits
    return np.asarray(times[warm_up:])


def search_part(args: argparse.Namespace, add: Add) -> bool:
    from clamp3.assets import library_dir
    from explorers.context import Context

    with tempfile.TemporaryDirectory() as home:
        # The demo library as the app opens it (read-only), its music left packed: search needs the database only.
        context = Context.load(index=str(library_dir(unpack=False)), home=home, read_only=True)
        add("library", f"demo library, {len(context.library):,} items, embedded default model ({context.weights})")
        for device in dict.fromkeys(["cpu", args.device]):
            context.embedder.model.to(device)
            print(f"search: {args.queries} queries on {device}", file=sys.stderr, flush=True)
            p50, p95 = np.percentile(text_search_ms(context, args.queries), [50, 95])
            add(f"text search on {device}, p50 / p95 ms ({args.queries} queries)", f"{p50:.1f} / {p95:.1f}")
    return True


def train_part(args: argparse.Namespace, add: Add) -> bool:
    from train import clamp3_step_seconds, model_config, prepare_run

    config = small_config() if args.smoke else model_config(full=True)
    shape = SMOKE_SHAPE if args.smoke else "SAAS shape"
    with tempfile.TemporaryDirectory() as scratch:
        settings = prepare_run(Path(scratch), config, batch_size=args.train_batch_size, max_steps=args.train_steps,
                               device=args.device, precision=args.precision, tensorboard=False)
        print(f"train: {args.train_steps} steps", file=sys.stderr, flush=True)
        seconds = clamp3_step_seconds(settings)
    add(f"clamp3 train, {shape}, batch {args.train_batch_size}, {args.precision}: pairs/s",
        f"{args.train_batch_size / seconds:.1f} ({seconds:.2f} s/step over {args.train_steps - 1} steps after the first)")
    return True


PARTS = {"embed": embed_part, "search": search_part, "train": train_part}  # in the order they run


# --- the run -----------------------------------------------------------------------------------------
def _over_budget(signum, frame):
    raise OverBudget


def run_part(part: Part, fn: Callable[[argparse.Namespace, Add], bool], args: argparse.Namespace,
             rows: list[dict], deadline: float) -> bool:
    """Run one part within its budget; its rows go into ``rows`` as they come. False when it failed."""
    left = deadline - time.monotonic()
    if part.budget > left:
        part.status = "skipped (budget)"
        rows.append({"part": part.name, "measure": "status", "value": f"skipped (budget): {part.budget:.0f} s needed, {left:.0f} s left"})
        return True
    cuda = args.device != "cpu"
    if cuda:
        torch.cuda.reset_peak_memory_stats(args.device)
    passed = False
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _over_budget)
    signal.setitimer(signal.ITIMER_REAL, part.budget)
    try:
        try:
            passed = fn(args, lambda measure, value: rows.append({"part": part.name, "measure": measure, "value": value}))
        finally:  # off before any handler runs, so that no alarm lands outside this try
            signal.setitimer(signal.ITIMER_REAL, 0)
        part.status = "ok" if passed else "FAIL"
    except OverBudget:
        part.status, passed = "stopped (budget)", True
    except Exception as exc:  # noqa: BLE001 - a broken part is a row of the table, and the other parts still run
        traceback.print_exc()
        part.status = f"error: {type(exc).__name__}: {exc}"
    part.seconds = time.monotonic() - started
    gc.collect()
    if cuda:
        torch.cuda.synchronize(args.device)
        part.peak_gpu_mib = torch.cuda.max_memory_allocated(args.device) / 2**20
        torch.cuda.empty_cache()
    peak = f", GPU memory peak {part.peak_gpu_mib:,.0f} MiB" if part.peak_gpu_mib is not None else ""
    kept = ": the rows above are what it had" if part.status == "stopped (budget)" else ""
    rows.append({"part": part.name, "measure": "status", "value": f"{part.status} in {part.seconds:.0f} s of {part.budget:.0f}{peak}{kept}"})
    return passed


def table(env: dict, parts: list[Part], rows: list[dict], seconds: float) -> str:
    peaks = [p.peak_gpu_mib for p in parts if p.peak_gpu_mib is not None]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    lines = [
        f"benchmarks/device.py{' --smoke' if env['smoke'] else ''} on {env['name']} ({env['device']}); torch {env['torch']}, "
        f"CUDA {env['cuda']}, {env['cpu_threads']} CPU threads; {seconds:.0f} s of a {env['budget_s']:.0f} s budget",
        "",
        "| part | measure | value |",
        "|---|---|---|",
        *(f"| {row['part']} | {row['measure']} | {row['value']} |" for row in rows),
        f"| run | GPU memory peak | {f'{max(peaks):,.0f} MiB' if peaks else 'none (no GPU part ran)'} |",
        f"| run | resident memory peak (this process) | {rss:,.0f} MiB |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    reason = refusal(args)
    if reason:
        print(reason, file=sys.stderr)
        return 2
    sys.path[:0] = [str(HERE), str(HERE.parent)]  # the other benchmarks; the project (tests.support, explorers)
    started = time.monotonic()
    deadline = started + args.budget_seconds
    env = environment(args)
    parts, rows, passed = [], [], True
    for name, fn in PARTS.items():
        if name not in args.parts:
            continue
        part = Part(name, getattr(args, f"{name}_seconds"))
        parts.append(part)
        passed &= run_part(part, fn, args, rows, deadline)
    seconds = time.monotonic() - started
    print(table(env, parts, rows, seconds))
    if args.out:
        args.out.write_text(json.dumps({"environment": env, "seconds": seconds, "parts": [asdict(p) for p in parts], "rows": rows},
                                       indent=1, ensure_ascii=False) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
