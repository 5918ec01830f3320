"""Soak test of the app: `python app.py` on loopback under a bounded, mixed load from many
gradio_client users (text search in eight languages, file search with MIDI and ABC files,
zero-shot classification, the map with a pinned text or file), with the server's memory watched.

    python benchmarks/soak.py [--requests 3000] [--clients 10]                      # the embedded default
    python benchmarks/soak.py --tiny [--requests 300]                               # the tiny test model
    python benchmarks/soak.py --weights DIR --index LIBRARY [--requests N] [--clients N]
    python benchmarks/soak.py --hostile 0.1 [--memory-ceiling-mb 4096]             # 10 % hostile requests

After the first answer, a warm-up (one request of each kind, the map both ways: UMAP when it is
not cached) is timed apart. Then the load is counted: per kind of request and overall, the count,
the errors and p50 / p99 latency; and the resident memory of the server process at the first
answer, after the warm-up, after the first 1,000 requests (a third of a shorter run), at the end,
and its peak. Targets: no error, and less than 10 % growth from the first to the last thousand
requests. Exits 1 on any failed or unsent request, or a traceback in the server's log.

``--hostile F`` makes a share F of the requests the inputs of the attack on the app (issue 16),
scaled to the app's limits: a query text of 2 MB, a classification of 1,000 classes x 10
templates, an interleaved ABC of 40 voices x 1,000 bars, a zipped MusicXML of 100,000 measures, a
FLAC whose header says two hours; and, accepted but as costly as the limits allow, an interleaved
ABC of 19,000 bars and a MIDI file of 19,000 messages (answered, or refused at the read deadline or
while every reader is busy); a MIDI file of 500 KB (128,000 messages) is refused. A refusal with the expected words counts as a success; anything else (a
timeout among them) is an error. Memory is then counted over the server and its children (the
readers' processes) and checked against ``--memory-ceiling-mb``; the target for text search under
this load is p95 <= 3 s.

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
# The hostile requests (--hostile): the kind, and the words of the refusals expected. Those at the
# limits ("answer" among them) may be answered, or refused at the read deadline or while every
# reader is busy: a clear line within the deadline, never a wait without end.
AT_THE_LIMIT = ("answer", "took over", "every reader was busy")
HOSTILE = {
    "text of 2 MB": ("characters, over the",),
    "1,000 classes x 10 templates": ("prompts, over the limit",),
    "interleaved ABC, 40 voices x 1,000 bars": ("bars over all its voices, over the limit",),
    "MusicXML of 100,000 measures (.mxl)": ("bars over all its voices, over the limit",),
    "FLAC of 2 hours (header)": ("long, over the limit of",),
    # its messages are counted once mido has parsed it, which the read deadline may cut first under load
    "MIDI file of 500 KB": ("messages, over the limit", "took over", "every reader was busy"),
    "interleaved ABC of 19,000 bars": AT_THE_LIMIT,
    "MIDI file of 19,000 messages": AT_THE_LIMIT,
}
MARK = 1000  # memory is read after this many requests (a third of a shorter run)


def pss_mb(pid: int) -> float:
    """Proportional resident memory of one process in MiB: pages shared with others (the readers'
    children share their server's) count for their share only, so a sum over processes is fair."""
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def tree_pss_mb(pid: int) -> float:
    """Memory of a process and all its descendants in MiB (the app and its readers), by PSS."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # gone meanwhile
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += pss_mb(current)
        except (OSError, RuntimeError):
            continue
        todo += children.get(current, [])
    return total


def interleaved_abc(voices: int, bars_per_voice: int) -> str:
    header = "X:1\nL:1/8\nM:4/4\nK:C\n" + "".join(f"V:{v}\n" for v in range(1, voices + 1))
    return header + "".join("".join(f"[V:{v}]cdef gabc|" for v in range(1, voices + 1)) + "\n" for _ in range(bars_per_voice))


def hostile_files(folder: Path) -> dict[str, Path]:
    """The files of the hostile requests, written into ``folder``."""
    import zipfile

    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    files["interleaved ABC, 40 voices x 1,000 bars"] = folder / "wide.abc"
    files["interleaved ABC, 40 voices x 1,000 bars"].write_text(interleaved_abc(40, 1000))
    files["interleaved ABC of 19,000 bars"] = folder / "long.abc"
    files["interleaved ABC of 19,000 bars"].write_text(interleaved_abc(2, 9500))
    measure = '<measure number="{}"><note><pitch><step>C</step><octave>4</octave></pitch><duration>4</duration><type>whole</type></note></measure>'
    xml = ('<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1"><part-list><score-part id="P1">'
           '<part-name>x</part-name></score-part></part-list><part id="P1">'
           + "".join(measure.format(n) for n in range(1, 100_001)) + "</part></score-partwise>")
    files["MusicXML of 100,000 measures (.mxl)"] = folder / "measures.mxl"
    with zipfile.ZipFile(files["MusicXML of 100,000 measures (.mxl)"], "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/container.xml", '<?xml version="1.0"?><container><rootfiles>'
                         '<rootfile full-path="score.xml"/></rootfiles></container>')
        archive.writestr("score.xml", xml)
    files["FLAC of 2 hours (header)"] = folder / "two-hours.flac"
    with soundfile.SoundFile(str(files["FLAC of 2 hours (header)"]), "w", samplerate=8000, channels=1, format="FLAC") as audio:
        silence = np.zeros(8000 * 60, dtype=np.float32)
        for _ in range(120):
            audio.write(silence)
    files["MIDI file of 500 KB"] = folder / "dense.mid"
    _dense_midi(files["MIDI file of 500 KB"], 500 * 2**10)
    files["MIDI file of 19,000 messages"] = folder / "long.mid"
    _dense_midi(files["MIDI file of 19,000 messages"], 19_000 * 4)
    return files


def _dense_midi(path: Path, size: int) -> None:
    """A valid type-0 MIDI file of about ``size`` bytes: notes of a C major scale, one after another."""
    import mido

    track = mido.MidiTrack()
    note = 0
    while len(track) * 4 < size:  # about 4 bytes a message with running status
        pitch = 60 + (0, 2, 4, 5, 7, 9, 11, 12)[note % 8]
        track.append(mido.Message("note_on", note=pitch, velocity=64, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=120))
        note += 1
    midi = mido.MidiFile(type=0)
    midi.tracks.append(track)
    midi.save(str(path))


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


def make_plan(requests: int, seed: int = 0, hostile: float = 0.0) -> list[tuple[str, int]]:
    """(kind, variant) for every request, in a seeded order; the variant picks the query, file and
    classes. A share ``hostile`` of the requests are the hostile ones, in turn."""
    rng = random.Random(seed)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=requests)
    plan = [(kind, rng.randrange(1 << 16)) for kind in kinds]
    attacks = list(HOSTILE)
    for number, index in enumerate(sorted(rng.sample(range(requests), round(hostile * requests)))):
        plan[index] = (attacks[number % len(attacks)], 0)
    return plan


def call_hostile(client, kind: str, files: dict[str, Path], timeout: float) -> bool:
    """One hostile request: refused with the expected words (True), or answered where that is
    expected (False); raises otherwise."""
    from gradio_client import handle_file

    expected = HOSTILE[kind]
    if kind == "text of 2 MB":
        job = client.submit("a jig " * 350_000, None, 10, "all", api_name="/search")
    elif kind == "1,000 classes x 10 templates":
        classes = "\n".join(f"class {n}" for n in range(1000))
        templates = "\n".join(f"{{}} number {n}" for n in range(10))
        job = client.submit(handle_file(str(FILES[0])), classes, templates, 0.02, api_name="/classify")
    else:
        job = client.submit("", handle_file(str(files[kind])), 10, "all", api_name="/search")
    try:
        answer = job.result(timeout=timeout)
    except Exception as exc:
        if any(words in str(exc) for words in expected):
            return True
        raise
    if "answer" not in expected:
        raise ValueError(f"answered, where a refusal ({' or '.join(expected)}) was expected: {str(answer)[:200]}")
    if not (isinstance(answer, str) and "<table" in answer):
        raise ValueError(f"unexpected answer: {str(answer)[:200]}")
    return False


def call(client, kind: str, variant: int, field: str, timeout: float, files: dict[str, Path] | None = None) -> bool:
    """One request; whether it was refused as expected (hostile requests); raises on an error or
    an answer of the wrong shape."""
    from gradio_client import handle_file

    if kind in HOSTILE:
        return call_hostile(client, kind, files or {}, timeout)
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
        ok = isinstance(answer, (list, tuple)) and len(answer) == 3 and answer[0] is not None  # plot, colour values, status
    if not ok:
        raise ValueError(f"unexpected answer: {str(answer)[:200]}")
    return False


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
             on_done: Callable[[int], None], files: dict[str, Path] | None = None,
             ) -> tuple[dict[str, list[float]], dict[str, list[str]], int, dict[str, int]]:
    """Every request of ``plan`` from ``clients`` threads, each with its own client.

    Returns latencies (ms) and error messages by kind, how many requests were not sent before
    ``stop_at``, and how many of each kind were refused as expected.
    """
    from gradio_client import Client

    kinds = list(MIX) + [kind for kind in HOSTILE if any(k == kind for k, _ in plan)]
    latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
    errors: dict[str, list[str]] = {kind: [] for kind in kinds}
    refused: dict[str, int] = dict.fromkeys(kinds, 0)
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
            was_refused = False
            try:
                was_refused = call(client, kind, variant, field, timeout, files)
                failure = None
            except Exception as exc:  # every failure under load is counted, none stops the run
                failure = f"{type(exc).__name__}: {exc}"
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if failure is None:
                    latencies[kind].append(elapsed)
                    refused[kind] += was_refused
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
        return latencies, errors, len(plan) - position["done"], refused


def percentiles(values: list[float]) -> str:
    if not values:
        return "- | - | -"
    p50, p95, p99 = np.percentile(np.asarray(values), [50, 95, 99])
    return f"{p50:.0f} | {p95:.0f} | {p99:.0f}"


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
    parser.add_argument("--hostile", type=float, default=0.0, help="share of hostile requests (0.1: one in ten)")
    parser.add_argument("--memory-ceiling-mb", type=float, default=4096,
                        help="the server and its children together must stay under this (MiB)")
    args = parser.parse_args(argv)
    if args.tiny and (args.weights or args.index):
        parser.error("--tiny builds its own weights and library; leave out --weights and --index")
    if args.requests < 3 or args.clients < 1:
        parser.error("--requests must be at least 3 and --clients at least 1")
    if not 0 <= args.hostile <= 1:
        parser.error("--hostile is a share between 0 and 1")

    scratch = tempfile.TemporaryDirectory(prefix="clamp3-soak-")
    folder = Path(scratch.name)
    options = []
    if args.tiny:
        weights, index = build_tiny(folder)
        options = ["--weights", str(weights), "--index", str(index)]
    else:
        options += ["--weights", args.weights] if args.weights else []
        options += ["--index", args.index] if args.index else []
    files = hostile_files(folder / "hostile") if args.hostile else {}
    served = ("the tests' tiny model, a library of 18 files from tests/data" if args.tiny
              else " ".join(options[1::2]) if options else "the embedded default model and demo library")
    from tests.support import serve_app

    # Uploads and exports of this run go to the scratch folder, not the user's cache.
    env = dict(os.environ, HF_HUB_OFFLINE="1", CLAMP3_HOME=str(folder / "home"), GRADIO_TEMP_DIR=str(folder / "gradio"))
    log = folder / "app.log"
    mark = min(MARK, args.requests // 3)
    memory: dict[str, float] = {}
    samples: list[float] = []
    tree_samples: list[float] = []  # the server and its children (the readers)
    every_mark: list[tuple[int, float]] = []  # (requests done, MiB) at each multiple of the mark
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
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
                tree_samples.append(tree_pss_mb(server.pid))

        def on_done(done: int) -> None:
            if done == mark:
                memory["mark"] = rss_mb(server.pid)
            if done % mark == 0:
                every_mark.append((done, rss_mb(server.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        load_started = time.perf_counter()
        latencies, errors, missed, refused = run_load(url, make_plan(args.requests, hostile=args.hostile), args.clients, field,
                                             args.request_timeout, load_started + args.max_seconds, on_done, files)
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
          f"kind, the map both ways) in {warm_up:.1f} s, not counted below"
          + (f"; {args.hostile:.0%} of the requests hostile (a refusal with the expected words counts as an answer)" if args.hostile else "")
          + f"; machine load average before the run {load_before}\n")
    print("| requests | count | errors | refused as expected | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|")
    for kind in latencies:
        print(f"| {kind} | {len(latencies[kind]) + len(errors[kind]):,} | {len(errors[kind])} | {refused[kind]} | "
              f"{percentiles(latencies[kind])} |")
    print(f"| all | {len(every) + failed:,} | {failed} | {sum(refused.values())} | {percentiles(every)} |")
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
    peak_tree = max(tree_samples, default=0.0)
    print(f"| peak of the server and its children, by PSS (ceiling {args.memory_ceiling_mb:,.0f}) | {peak_tree:.0f} |")
    print(f"| growth from request {mark:,} to the end (target < 10 %) | {growth:+.1f} % |")
    if len(every_mark) > 3:  # a long run: is the growth a plateau or a slope?
        print(f"\nresident memory every {mark:,} requests (MiB): " + ", ".join(f"{mb:.0f}" for _, mb in every_mark))
    for kind, messages in errors.items():
        for message in messages[:3]:
            print(f"error ({kind}): {message[:300]}", file=sys.stderr)
    return 1 if failed or missed or tracebacks or peak_tree > args.memory_ceiling_mb else 0


if __name__ == "__main__":
    sys.exit(main())
