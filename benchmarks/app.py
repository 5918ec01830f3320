"""The app: time from `python app.py` to the first answer, /search latency (server-side in the
handler, and seen by a gradio_client), and many clients searching at once; with ``--weights``, the
embedded default and other weights side by side while the weights' space of the demo library fills.

    python benchmarks/app.py [--queries 50] [--clients 20] [--seconds 60] [--fresh]
                             [--weights PATH [--text-model DIR] [--mert DIR] [--random-saas] [--fill-seconds 60]]

Prints a table beside the targets (first answer <= 30 s, server-side p50 <= 300 ms on CPU,
no error under load), on the embedded default as installed. ``--clients 0`` or ``--seconds 0``
leaves out the many clients.

With ``--weights``, every app of the run and the handler timed in this process work on a scratch
copy of ``assets/`` with the demo music unpacked before the first start, so that nothing is written
into ``assets/`` and no start pays for the unpacking; and a second table follows, one column for
the embedded default and one for the weights. Every app in it starts with a ``CLAMP3_CACHE`` and
``--home`` of its own in a scratch folder, the maps' background computation held back
(``CLAMP3_MAP_START_DELAY``) so that it takes no CPU from what is measured:

- ``python app.py`` -> first /search answer: a gradio_client polling from the start until it is
  answered, from an empty cache; for the weights, with the filling of their space starting at once,
  as on a first start (and again on a copy of the cache that app left, filling held back);
- text search p50 / p95 seen by one gradio_client over ``--queries`` queries, no filling: the
  embedded default's app; for the weights, the app started on that copy of the cache (its space
  partly filled) with ``CLAMP3_FILL_START_DELAY=86400``;
- the same during filling: the weights' first app, once the filler has committed its first items
  (target: p95 <= 2 s);
- background filling, items per second: the rows of the space's ``items`` table counted before and
  after a window of ``--fill-seconds`` with the app idle (and around the queries above);
- an uploaded recording: a 60 s WAV (16-bit, 24 kHz; Bach chorales from tests/data synthesised by
  pretty_midi, as benchmarks/audio.py does) sent as a file query to /search, wall seconds per
  minute of audio, after a 3 s upload that pays the one-time costs (loading the audio model,
  compiling librosa's kernels); the embedded default's own audio path, and the weights' with
  ``--mert`` (random weights of MERT-v1-95M's shape in the scratch folder when not given), in the
  app with no filling.

``--random-saas`` first builds a checkpoint of the official SAAS shape with seeded random weights
at PATH when it is missing (``--text-model`` then defaults to tests/data/xlmr-base-shape). The
load average is printed before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import log_tail, serve_app  # noqa: E402

QUERIES = [
    "Chinesisches Volkslied aus Shanxi", "a lively Irish jig", "une chanson populaire de Lorraine", "巴赫的四声部众赞歌",
    "una canción de amor", "a slow air", "ルクセンブルクの民謡", "народная песня из Польши", "a hornpipe in D major",
    "musica del Rinascimento a quattro voci",
]
FILLER = b"clamp3.library.spaces"  # the module the app's space filler runs as
HELD_BACK = "86400"  # seconds: a day, longer than any measurement


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def p50_p95(times: list[float]) -> str:
    return f"{statistics.median(times):.0f} / {percentile(times, 95):.0f} ms"


def server_side(queries: int) -> list[float]:
    """The /search handler in this process, as the server runs it (ms per query)."""
    from explorers import search
    from explorers.context import Context

    context = Context.load()
    search.search(context, QUERIES[0], None)  # first call pays one-time costs
    times = []
    for i in range(queries):
        started = time.perf_counter()
        search.search(context, QUERIES[i % len(QUERIES)] + f" {i}", None, 10)
        times.append((time.perf_counter() - started) * 1000)
    return times


# --- an app, its answers ----------------------------------------------------------------------------
@dataclass
class App:
    url: str
    client: object  # gradio_client.Client
    first_answer: float  # seconds from the start of `python app.py` to the first /search answer
    pid: int


def fillers_of(pid: int) -> list[int]:
    """The space fillers (``python -m clamp3.library.spaces``) that the process ``pid`` started."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])  # "pid (name) state ppid ..."
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):  # ended meanwhile
            continue
        if parent == pid and FILLER in command:
            found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def end(pid: int, grace: float = 10.0) -> None:
    """Terminate ``pid``, killed when still running after ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if running(pid):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def started_app(options: list[str] | None = None, env: dict[str, str] | None = None, log: Path | None = None,
                timeout: float = 900.0) -> Iterator[App]:
    """``python app.py *options`` started and polled by a gradio_client until /search answers. On
    exit the app is stopped, and so is a space filler it started: a terminated app leaves its
    filler running (its child, reparented)."""
    from gradio_client import Client

    started = time.perf_counter()
    with serve_app(options or [], env=env, log=log, wait=False) as (url, server):
        try:
            while True:
                try:
                    client = Client(url, verbose=False)
                    client.predict(QUERIES[0], None, 10, "all", api_name="/search")
                    break
                except Exception:  # not up yet
                    if server.poll() is not None:
                        raise SystemExit(f"the app exited before answering:\n{log_tail(log)}") from None
                    if time.perf_counter() - started > timeout:
                        raise SystemExit(f"the app did not answer within {timeout:.0f} s:\n{log_tail(log)}") from None
                    time.sleep(0.25)
            yield App(url, client, time.perf_counter() - started, server.pid)
        finally:
            fillers = fillers_of(server.pid)
    for pid in fillers:
        end(pid)


def time_queries(client, count: int) -> list[float]:
    """``count`` text searches, one after the other (ms each)."""
    times = []
    for i in range(count):
        started = time.perf_counter()
        client.predict(QUERIES[i % len(QUERIES)] + f" {i}", None, 10, "all", api_name="/search")
        times.append((time.perf_counter() - started) * 1000)
    return times


def many_clients(url: str, clients: int, seconds: float) -> tuple[list[float], list[str]]:
    """``clients`` gradio_clients searching at once for ``seconds``: latencies (ms) and errors."""
    from gradio_client import Client

    errors, answers, lock = [], [], threading.Lock()
    stop_at = time.perf_counter() + seconds

    def user(number: int) -> None:
        own = Client(url, verbose=False)
        i = 0
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            try:
                page = own.predict(QUERIES[(number + i) % len(QUERIES)], None, 10, "all", api_name="/search")
                ok = "<table" in page
            except Exception as exc:  # any failure under load is counted
                ok, page = False, repr(exc)
            with lock:
                (answers if ok else errors).append((time.perf_counter() - t) * 1000 if ok else page)
            i += 1

    threads = [threading.Thread(target=user, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, errors


def time_upload(client, path: Path) -> float:
    """Seconds for /search to answer a file query of ``path`` (the upload included)."""
    from gradio_client import handle_file

    started = time.perf_counter()
    page = client.predict("", handle_file(str(path)), 10, "all", api_name="/search")
    if "<table" not in page:
        raise RuntimeError(f"no results for {path.name}: {page[:200]}")
    return time.perf_counter() - started


def upload_cell(client, warmup: Path, recording: Path, duration: float) -> str:
    """Wall seconds per minute of audio of ``recording``, after ``warmup`` (its time in brackets)."""
    try:
        first = time_upload(client, warmup)
        seconds = time_upload(client, recording)
    except Exception as exc:  # reported in the table; the other measurements stand
        print(f"upload failed: {exc}", file=sys.stderr)
        return f"failed ({type(exc).__name__})"
    return f"{seconds / (duration / 60):.1f} s (3 s upload first: {first:.1f} s)"


# --- what the comparison needs --------------------------------------------------------------------
def copy_assets(folder: Path) -> Path:
    """A copy of assets/ as installed, nothing unpacked."""
    shutil.copytree(ROOT / "assets", folder, ignore=shutil.ignore_patterns("music", "map-*", "*.sqlite3-*", "ann.faiss*"))
    return folder


def scratch_assets(folder: Path) -> Path:
    """A copy of assets/, made the one this process and the apps it starts use (``CLAMP3_ASSETS``),
    with the demo music unpacked in it as the app's first start would."""
    from clamp3.assets import library_dir

    os.environ["CLAMP3_ASSETS"] = str(copy_assets(folder))
    library_dir()
    return folder


def recordings(folder: Path, seconds: float = 60.0, warmup: float = 3.0) -> tuple[Path, Path, float]:
    """A ``warmup``-second and a ``seconds``-second WAV (16-bit, 24 kHz) of synthesised chorales;
    returns both and the long one's duration."""
    import soundfile

    from benchmarks.audio import synthesise

    parts = synthesise(folder, seconds / 60)
    audio = np.concatenate([soundfile.read(p, dtype="float32")[0] for p in parts])
    rate = soundfile.info(str(parts[0])).samplerate
    long, short = folder / "recording-60s.wav", folder / "recording-3s.wav"
    soundfile.write(long, audio[: int(seconds * rate)], rate, subtype="PCM_16")
    soundfile.write(short, audio[-int(warmup * rate) :], rate, subtype="PCM_16")  # other music than the long one's start
    return short, long, soundfile.info(str(long)).duration


def random_mert(folder: Path) -> Path:
    """Random weights of MERT-v1-95M's shape, as a folder ``--mert`` reads (config.json, model.safetensors)."""
    import torch
    from transformers import HubertModel

    from benchmarks.audio import MERT_95M
    from clamp3.features.mert import hubert_config

    torch.manual_seed(0)
    HubertModel(hubert_config(MERT_95M)).save_pretrained(folder)
    return folder


def space_file(cache: Path) -> Path | None:
    found = sorted(cache.glob("spaces/*/*/library.sqlite3"))
    return found[0] if found else None


def items_in(space: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{space}?mode=ro", uri=True, timeout=30)) as db:
        return db.execute("SELECT COUNT(*) FROM items").fetchone()[0]


def first_commit(app: App, cache: Path, timeout: float = 900.0) -> tuple[Path | None, str]:
    """The space's file once the filler has committed items; (None, why) when it ends first or
    ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        space = space_file(cache)
        if space is not None and items_in(space) > 0:
            return space, ""
        if not fillers_of(app.pid):
            log = space.parent / "fill.log" if space is not None else None
            return None, f"the filler ended before committing anything; fill.log:\n{log_tail(log)}"
        time.sleep(1)
    return None, f"nothing committed within {timeout:.0f} s"


def default_column(env: dict[str, str], scratch: Path, queries: int, audio: tuple[Path, Path, float]) -> dict[str, str]:
    options = ["--home", str(scratch / "home-default")]
    with started_app(options, {**env, "CLAMP3_CACHE": str(scratch / "cache-default")}, scratch / "app-default.log") as app:
        times = time_queries(app.client, queries)
        upload = upload_cell(app.client, *audio)
    return {"first": f"{app.first_answer:.1f} s", "restart": "-", "quiet": p50_p95(times), "filling": "-", "rate": "-",
            "upload": f"{upload}, spectral features"}


def weights_column(options: list[str], env: dict[str, str], scratch: Path, queries: int, fill_seconds: float,
                   audio: tuple[Path, Path, float]) -> dict[str, str]:
    """The weights' app from an empty cache, filling from the start; then on a copy of the cache it
    left, filling held back."""
    filling_cache, held_cache = scratch / "cache-filling", scratch / "cache-held"
    row = {"filling": "-", "rate": "-"}
    fresh = {k: v for k, v in env.items() if k != "CLAMP3_FILL_START_DELAY"} | {"CLAMP3_CACHE": str(filling_cache)}
    with started_app([*options, "--home", str(scratch / "home-filling")], fresh, scratch / "app-filling.log") as app:
        row["first"] = f"{app.first_answer:.1f} s"
        space, why = first_commit(app, filling_cache)
        if space is None:
            print(why, file=sys.stderr)
            row["filling"] = f"not measured: {why.splitlines()[0]}"
        else:
            before, started = items_in(space), time.monotonic()
            times = time_queries(app.client, queries)
            during, answered = items_in(space), time.monotonic()
            time.sleep(fill_seconds)
            after, idle = items_in(space), time.monotonic()
            row["filling"] = f"{p50_p95(times)} (space of {before:,} -> {during:,} items)"
            row["rate"] = (f"{(after - during) / (idle - answered):.2f} /s ({during:,} -> {after:,} items in {idle - answered:.1f} s, "
                           f"app idle); {(during - before) / (answered - started):.2f} /s while answering the queries above "
                           f"({answered - started:.1f} s)")
    shutil.copytree(filling_cache, held_cache)  # its filler stopped: what it committed is there
    held = {**env, "CLAMP3_CACHE": str(held_cache), "CLAMP3_FILL_START_DELAY": HELD_BACK}
    with started_app([*options, "--home", str(scratch / "home-held")], held, scratch / "app-held.log") as app:
        space = space_file(held_cache)
        count = items_in(space) if space is not None else 0
        times = time_queries(app.client, queries)
        upload = upload_cell(app.client, *audio)
    return row | {"restart": f"{app.first_answer:.1f} s", "quiet": f"{p50_p95(times)} (space of {count:,} items)", "upload": upload}


def compare(args, scratch: Path) -> None:
    """The second table: the embedded default and ``args.weights`` side by side."""
    (scratch / "audio").mkdir()
    audio = recordings(scratch / "audio")
    mert, mert_name = (args.mert, Path(args.mert).name) if args.mert else (random_mert(scratch / "mert"), "MERT-v1-95M shape, random weights")
    options = ["--weights", str(args.weights), "--mert", str(mert)] + (["--text-model", args.text_model] if args.text_model else [])
    env = dict(os.environ, HF_HUB_OFFLINE="1", CLAMP3_MAP_START_DELAY=HELD_BACK)
    columns = [default_column(env, scratch, args.queries, audio),
               weights_column(options, env, scratch, args.queries, args.fill_seconds, audio)]
    columns[1]["upload"] += f", {mert_name}"
    rows = [
        ("first", "`python app.py` -> first /search answer (empty CLAMP3_CACHE; the weights' space filled from the start)", ""),
        ("restart", "... again, on a copy of the cache that app left (filling held back)", ""),
        ("quiet", f"text search seen by one gradio_client p50 / p95, {args.queries} queries, no filling", ""),
        ("filling", "... the same during filling", "p95 during filling <= 2 s"),
        ("rate", "background filling (niceness 10), items per second", ""),
        ("upload", f"uploaded {audio[2]:.0f} s WAV (16-bit, 24 kHz) as a file query, wall s per minute of audio", ""),
    ]
    print(f"\n| measure | embedded default | {Path(args.weights).name} | target |")
    print("|---|---|---|---|")
    for key, measure, target in rows:
        print(f"| {measure} | {columns[0][key]} | {columns[1][key]} | {target} |")


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--fresh", action="store_true",
                        help="start as on a fresh install: a copy of assets/ with nothing unpacked, an empty cache (the text tower is rebuilt)")
    parser.add_argument("--weights", default=None, help="also measure these weights beside the embedded default (a second table)")
    parser.add_argument("--text-model", default=None, help="the weights' text model folder (app.py --text-model)")
    parser.add_argument("--mert", default=None, help="the weights' MERT folder (default: random weights of MERT-v1-95M's shape)")
    parser.add_argument("--random-saas", action="store_true",
                        help="build a random checkpoint of the official SAAS shape at --weights first when it is missing")
    parser.add_argument("--fill-seconds", type=float, default=60, help="the window in which the filling rate is measured")
    args = parser.parse_args(argv)
    if args.random_saas and args.weights is None:
        parser.error("--random-saas needs --weights PATH")
    print(f"load average (1, 5, 15 min) before: {load_average()}")
    if args.random_saas:
        args.text_model = args.text_model or str(ROOT / "tests" / "data" / "xlmr-base-shape")
        if not Path(args.weights).exists():
            from tests.support import random_official_checkpoint, saas_shaped_config

            random_official_checkpoint(args.weights, saas_shaped_config(), seed=0)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        if args.weights is not None:
            scratch_assets(scratch / "assets")
        env = dict(os.environ, HF_HUB_OFFLINE="1")
        if args.fresh:
            env |= {"CLAMP3_ASSETS": str(copy_assets(scratch / "fresh-assets")), "CLAMP3_CACHE": str(scratch / "cache")}
        crowd = args.clients > 0 and args.seconds > 0
        with started_app(env=env) as app:
            first_answer = app.first_answer
            client_times = time_queries(app.client, args.queries)
            answers, errors = many_clients(app.url, args.clients, args.seconds) if crowd else ([], [])
        handler_times = server_side(args.queries)
        print("| measure | value | target |")
        print("|---|---|---|")
        print(f"| `python app.py` -> first /search answer{' (fresh install)' if args.fresh else ''} | {first_answer:.1f} s | <= 30 s |")
        print(f"| /search server-side (handler) p50 / p95, {args.queries} text queries | {p50_p95(handler_times)} | p50 <= 300 ms |")
        print(f"| /search seen by one gradio_client p50 / p95 | {p50_p95(client_times)} | |")
        if crowd:
            print(f"| {args.clients} clients for {args.seconds:.0f} s: answers, errors | {len(answers)}, {len(errors)} | 0 errors |")
            if answers:
                print(f"| ... latency under load p50 / p95 | {p50_p95(answers)} | |")
        for error in errors[:3]:
            print("error:", error[:200], file=sys.stderr)
        if args.weights is not None:
            compare(args, scratch)
    print(f"load average (1, 5, 15 min) after: {load_average()}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
