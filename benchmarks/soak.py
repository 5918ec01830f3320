"""Soak test of the app: `python app.py` on loopback under a bounded, mixed load from many
gradio_client users (text search in eight languages, file search with MIDI and ABC files,
zero-shot classification, the map with a pinned text or file), with the server's memory watched.

    python benchmarks/soak.py [--requests 3000] [--clients 10]                      # the embedded default
    python benchmarks/soak.py --tiny [--requests 300]                               # the tiny test model
    python benchmarks/soak.py --weights DIR --index LIBRARY [--requests N] [--clients N]

After the first answer, a warm-up (one request of each kind, the map both ways: UMAP when it is
not cached) is timed apart. Then the load is counted: per kind of request and overall, the count,
the errors and p50 / p99 latency; and the resident memory of the server process at the first
answer, after the warm-up, after the first 1,000 requests (a third of a shorter run), at the end,
and its peak. Targets: no error, and less than 10 % growth from the first to the last thousand
requests. Exits 1 on any failed or unsent request, or a traceback in the server's log.

``--tiny`` serves the tiny random model of the tests (tests/data/golden/embed_tiny) and a library
of 12 ABC scores and 6 MIDI files embedded by it, built in a scratch folder, as the fixtures do.
Every request waits at most ``--request-timeout`` seconds and the run stops after
``--max-seconds``; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support
DATA = ROOT / "tests" / "data"
GOLDEN = DATA / "golden"

QUERIES = [
    "Chinesisches Volkslied aus Shanxi", "a lively Irish jig", "une chanson populaire de Lorraine", "巴赫的四声部众赞歌",
    "una canción de amor", "a slow air", "ルクセンブルクの民謡", "народная песня из Польши", "a hornpipe in D major",
    "musica del Rinascimento a quattro voci", "ein Choral von Bach", "una giga irlandese vivace",
]
FILES = [
    GOLDEN / "convert" / "midi" / "bwv417.mid", GOLDEN / "convert" / "midi" / "bwv10.7.mid",
    GOLDEN / "convert" / "abc_official" / "bach__bwv1.6.abc", DATA / "scores" / "essen_book.abc",
]
CLASS_SETS = [
    ("jig\nreel\nhornpipe\nair", "{}, a fiddle tune\n{}"),
    ("Germany\nChina\nLorraine\nPoland", "a folk song from {}"),
    ("Baroque\nClassical\nRomantic", "music from the {} era\nMusik der {}"),
]
# Share of each kind of request in the load.
MIX = {"text search": 0.4, "file search": 0.2, "classify": 0.2, "map": 0.2}
MARK = 1000  # memory is read after this many requests (a third of a shorter run)


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MiB (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS in /proc/{pid}/status") from None
    return psutil.Process(pid).memory_info().rss / 2**20


def tiny_model():
    """The tests' tiny official-format checkpoint (tests/conftest.py ``tiny_model``)."""
    from clamp3.models import load_model

    model = load_model(GOLDEN / "embed_tiny" / "tiny_official.pth", text_model=str(DATA / "tiny-xlmr"))
    model.config.max_text_length = 16  # the preprocessing the tiny checkpoint was made with
    return model


def build_tiny(folder: Path) -> tuple[Path, Path]:
    """The tiny model saved in the project's format, and a library of real scores it embedded."""
    from clamp3 import Embedder, Library
    from clamp3.models import save_pretrained

    model = tiny_model()
    weights = save_pretrained(model, folder / "model")
    scores = sorted((GOLDEN / "convert" / "abc_official").glob("*.abc"))[:12] + sorted((GOLDEN / "convert" / "midi").glob("*.mid"))[:6]
    report = Library(folder / "library", create=True).add(scores, Embedder(model), progress=False)
    if report.failures:
        raise SystemExit(f"the tiny library failed on {report.failures}")
    return weights, folder / "library"


def map_field(client) -> str:
    """'region' when the library has that field, else 'modality' (the map's dropdown refuses others)."""
    for component in client.config.get("components", []):
        props = component.get("props", {})
        if props.get("label") == "colour by":
            choices = [c[1] if isinstance(c, (list, tuple)) else c for c in props.get("choices", [])]
            return "region" if "region" in choices else "modality"
    return "modality"


def make_plan(requests: int, seed: int = 0) -> list[tuple[str, int]]:
    """(kind, variant) for every request, in a seeded order; the variant picks the query, file and classes."""
    rng = random.Random(seed)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=requests)
    return [(kind, rng.randrange(1 << 16)) for kind in kinds]


def call(client, kind: str, variant: int, field: str, timeout: float) -> None:
    """One request; raises on an error or an answer of the wrong shape."""
    from gradio_client import handle_file

    file = handle_file(str(FILES[variant % len(FILES)]))
    if kind == "text search":
        job = client.submit(QUERIES[variant % len(QUERIES)], None, 10, "all", api_name="/search")
    elif kind == "file search":
        job = client.submit("", file, 10, "scores and MIDI", api_name="/search")
    elif kind == "classify":
        classes, templates = CLASS_SETS[variant % len(CLASS_SETS)]
        job = client.submit(file, classes, templates, 0.02, api_name="/classify")
    else:  # the map, with a text pinned on it, or a file every third time
        pin_text, pin_file = (QUERIES[variant % len(QUERIES)], None) if variant % 3 else ("", file)
        job = client.submit(field, bool(variant % 2), pin_text, pin_file, api_name="/map")
    answer = job.result(timeout=timeout)
    if kind.endswith("search"):
        ok = isinstance(answer, str) and "<table" in answer
    elif kind == "classify":
        ok = isinstance(answer, dict) and abs(sum(answer["probabilities"].values()) - 1) < 1e-3
    else:
        ok = isinstance(answer, (list, tuple)) and len(answer) == 2 and answer[0] is not None
    if not ok:
        raise ValueError(f"unexpected answer: {str(answer)[:200]}")


def wait_for_server(url: str, server: subprocess.Popen, log: Path, deadline: float):
    from gradio_client import Client

    while True:
        try:
            client = Client(url, verbose=False)
            client.predict(QUERIES[0], None, 10, "all", api_name="/search")
            return client
        except Exception as exc:  # not up yet
            if server.poll() is not None:
                raise SystemExit(f"the app exited before answering:\n{log.read_text()[-3000:]}") from None
            if time.perf_counter() > deadline:
                raise SystemExit(f"the app did not answer in time ({exc!r}):\n{log.read_text()[-3000:]}") from None
            time.sleep(0.5)


def run_load(url: str, plan: list[tuple[str, int]], clients: int, field: str, timeout: float, stop_at: float,
             on_done: Callable[[int], None]) -> tuple[dict[str, list[float]], dict[str, list[str]], int]:
    """Every request of ``plan`` from ``clients`` threads, each with its own client.

    Returns latencies (ms) and error messages by kind, and how many requests were not sent
    before ``stop_at``.
    """
    from gradio_client import Client

    latencies: dict[str, list[float]] = {kind: [] for kind in MIX}
    errors: dict[str, list[str]] = {kind: [] for kind in MIX}
    lock = threading.Lock()
    position = {"next": 0, "done": 0}

    def user() -> None:
        client = Client(url, verbose=False)
        while time.perf_counter() < stop_at:
            with lock:
                if position["next"] >= len(plan):
                    return
                kind, variant = plan[position["next"]]
                position["next"] += 1
            started = time.perf_counter()
            try:
                call(client, kind, variant, field, timeout)
                failure = None
            except Exception as exc:  # every failure under load is counted, none stops the run
                failure = f"{type(exc).__name__}: {exc}"
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if failure is None:
                    latencies[kind].append(elapsed)
                else:
                    errors[kind].append(failure)
                position["done"] += 1
                done = position["done"]
            on_done(done)

    threads = [threading.Thread(target=user, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, stop_at - time.perf_counter()) + timeout + 5)
    with lock:
        return latencies, errors, len(plan) - position["done"]


def percentiles(values: list[float]) -> str:
    if not values:
        return "- | -"
    p50, p99 = np.percentile(np.asarray(values), [50, 99])
    return f"{p50:.0f} | {p99:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=None, help="passed to app.py (default: the embedded default)")
    parser.add_argument("--index", default=None, help="passed to app.py (default: the demo library)")
    parser.add_argument("--tiny", action="store_true", help="serve the tests' tiny model and a library built from tests/data")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--request-timeout", type=float, default=120, help="seconds one request may take")
    parser.add_argument("--max-seconds", type=float, default=3600, help="the load stops after this many seconds")
    parser.add_argument("--start-timeout", type=float, default=600, help="seconds the app may take to answer first")
    args = parser.parse_args(argv)
    if args.tiny and (args.weights or args.index):
        parser.error("--tiny builds its own weights and library; leave out --weights and --index")
    if args.requests < 3 or args.clients < 1:
        parser.error("--requests must be at least 3 and --clients at least 1")

    scratch = tempfile.TemporaryDirectory(prefix="clamp3-soak-")
    folder = Path(scratch.name)
    options = []
    if args.tiny:
        weights, index = build_tiny(folder)
        options = ["--weights", str(weights), "--index", str(index)]
    else:
        options += ["--weights", args.weights] if args.weights else []
        options += ["--index", args.index] if args.index else []
    served = ("the tests' tiny model, a library of 18 files from tests/data" if args.tiny
              else " ".join(options[1::2]) if options else "the embedded default model and demo library")
    from tests.support import serve_app

    # Uploads and exports of this run go to the scratch folder, not the user's cache.
    env = dict(os.environ, HF_HUB_OFFLINE="1", CLAMP3_HOME=str(folder / "home"), GRADIO_TEMP_DIR=str(folder / "gradio"))
    log = folder / "app.log"
    mark = min(MARK, args.requests // 3)
    memory: dict[str, float] = {}
    samples: list[float] = []
    every_mark: list[tuple[int, float]] = []  # (requests done, MiB) at each multiple of the mark
    with serve_app(options, log=log, env=env, wait=False) as (url, server):
        started = time.perf_counter()
        client = wait_for_server(url, server, log, started + args.start_timeout)
        first_answer = time.perf_counter() - started
        memory["start"] = rss_mb(server.pid)
        field = map_field(client)
        warm_started = time.perf_counter()
        # One-time costs before the count: first uploads, the map of each centring (UMAP when not cached).
        for kind, variant in [*((kind, number) for number, kind in enumerate(MIX)), ("map", 0)]:
            call(client, kind, variant, field, args.request_timeout)
        warm_up = time.perf_counter() - warm_started
        memory["warm"] = rss_mb(server.pid)
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(1.0):
                samples.append(rss_mb(server.pid))

        def on_done(done: int) -> None:
            if done == mark:
                memory["mark"] = rss_mb(server.pid)
            if done % mark == 0:
                every_mark.append((done, rss_mb(server.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        load_started = time.perf_counter()
        latencies, errors, missed = run_load(url, make_plan(args.requests), args.clients, field, args.request_timeout,
                                             load_started + args.max_seconds, on_done)
        seconds = time.perf_counter() - load_started
        memory["end"] = rss_mb(server.pid)
        sampling.set()
        sampler.join()
    tracebacks = log.read_text(errors="replace").count("Traceback")
    scratch.cleanup()

    every = [t for values in latencies.values() for t in values]
    failed = sum(len(e) for e in errors.values())
    print(f"`{' '.join(['python', 'app.py', *options])}` ({served}); {args.clients} clients, {args.requests:,} requests, "
          f"map coloured by {field}; first answer {first_answer:.1f} s after start, then a warm-up (one request of each "
          f"kind, the map both ways) in {warm_up:.1f} s, not counted below\n")
    print("| requests | count | errors | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|")
    for kind in MIX:
        print(f"| {kind} | {len(latencies[kind]) + len(errors[kind]):,} | {len(errors[kind])} | {percentiles(latencies[kind])} |")
    print(f"| all | {len(every) + failed:,} | {failed} | {percentiles(every)} |")
    print(f"\n{len(every) + failed:,} requests in {seconds:.0f} s ({(len(every) + failed) / seconds:.1f} requests/s)"
          + (f"; {missed:,} not sent before --max-seconds" if missed else "")
          + f"; {tracebacks} tracebacks in the server log\n")
    growth = (memory["end"] - memory["mark"]) / memory["mark"] * 100 if "mark" in memory else float("nan")
    print("| server resident memory | MiB |\n|---|---:|")
    print(f"| at the first answer | {memory['start']:.0f} |")
    print(f"| after the warm-up | {memory['warm']:.0f} |")
    if "mark" in memory:
        print(f"| after the first {mark:,} requests | {memory['mark']:.0f} |")
    print(f"| at the end ({len(every) + failed:,} requests) | {memory['end']:.0f} |")
    print(f"| peak (sampled each second) | {max(samples + [memory['end']]):.0f} |")
    print(f"| growth from request {mark:,} to the end (target < 10 %) | {growth:+.1f} % |")
    if len(every_mark) > 3:  # a long run: is the growth a plateau or a slope?
        print(f"\nresident memory every {mark:,} requests (MiB): " + ", ".join(f"{mb:.0f}" for _, mb in every_mark))
    for kind, messages in errors.items():
        for message in messages[:3]:
            print(f"error ({kind}): {message[:300]}", file=sys.stderr)
    return 1 if failed or missed or tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())
