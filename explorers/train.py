"""Train tab: a form for the training engine, run as a subprocess of the ``clamp3 train`` CLI;
start / stop, a live loss and metric plot from its ``metrics.jsonl``, the log; when it ends, one
click serves the new model, the library embedded in its space in the background (Context.serve)."""

from __future__ import annotations

import atexit
import contextlib
import csv
import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go
import yaml
from plotly.subplots import make_subplots

from clamp3 import SUPPORTED_EXTENSIONS
from clamp3.cli.train import PARENT_VARIABLE
from clamp3.errors import Clamp3Error
from clamp3.training import TrainConfig
from clamp3.training.contrastive import held_out
from clamp3.training.data import read_pairs
from explorers.common import file_input, shown_errors
from explorers.context import Context, upload_name

PAIR_TYPES = (".jsonl", ".csv")
ARCHIVE_TYPES = (".zip",)
MAX_ARCHIVE_MEMBERS = 10_000  # files in one .zip of training data
ARCHIVE_FACTOR = 4  # a .zip may unpack to this many times the upload limit, counted as it unpacks
MIN_EVAL_PAIRS = 20  # fewer held-out pairs than this and the metrics are noise: said next to them
TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")
FORMAT = f"""**What to upload.** A file of text-music pairs **and the music it names, selected together** (up to the
app's file limit), or **one `.zip` holding both** (unpacked up to {ARCHIVE_FACTOR}x the upload limit). The pairs file
is a `.jsonl`, one JSON object a line, `{{"path": "music/reel1.abc", "text": "a lively Irish reel"}}` (or the M4-RAG
layout: `"filepaths": [...]` and text fields), or a `.csv` with the header `path,text` (and optionally
`language`). Paths are relative to the pairs file; uploaded music is matched by its file name, so
`music/reel1.abc` finds an uploaded `reel1.abc`. Every pair is checked before a run starts: a missing or
unreadable music file is named and nothing runs. The evaluation holds out a share of the pairs: under
{MIN_EVAL_PAIRS} held-out pairs its MRR and hits are noise."""
EXAMPLE_TUNES = {
    "reel1.abc": "X:1\nT:Example reel\nM:4/4\nL:1/8\nR:reel\nK:D\n|:dAFA dAFA|BAFA BAFA|dAFA dAFA|BAFE D2D2:|\n",
    "jig1.abc": "X:1\nT:Example jig\nM:6/8\nL:1/8\nR:jig\nK:G\n|:GAG GAB|ABA ABd|edd gdd|edB dBA:|\n",
    "air1.abc": "X:1\nT:Example air\nM:3/4\nL:1/4\nK:Am\n|A2 B|c2 B|A2 G|E3|A2 B|c2 d|e2 d|c3|\n",
    "hornpipe1.abc": "X:1\nT:Example hornpipe\nM:4/4\nL:1/8\nR:hornpipe\nK:G\n|:(3DEF|G2BG AGFA|G2BG DGBd|cBAG FGAF|G2G2 G2:|\n",
}
EXAMPLE_TEXTS = {"reel1.abc": "a lively Irish reel in D major", "jig1.abc": "a jig in six-eight time, bright and bouncy",
                 "air1.abc": "a slow, sad air in A minor", "hornpipe1.abc": "a hornpipe with dotted rhythms"}


def example_archive(folder: Path) -> Path:
    """A .zip of the layout the tab takes, to upload as it is: ``pairs.jsonl`` and its music under
    ``music/`` (a real run needs hundreds of pairs)."""
    target = folder / "clamp3-train-example.zip"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        rows = [{"path": f"music/{name}", "text": EXAMPLE_TEXTS[name]} for name in EXAMPLE_TUNES]
        with zipfile.ZipFile(target.with_suffix(".part"), "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("pairs.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
            for name, tune in EXAMPLE_TUNES.items():
                archive.writestr(f"music/{name}", tune)
        os.replace(target.with_suffix(".part"), target)
    return target


@dataclass
class Job:
    process: subprocess.Popen
    output_dir: Path
    log: Path
    started: float
    owner: str
    objective: str
    checkpoint_every: int
    pairs: int = 0  # how many, and how many of them held out: in every state line of the run (Start's own answer is soon replaced)
    held: int = 0
    stopped: bool = False

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def end(self, wait: float = 60.0) -> None:
        """SIGTERM to the run's process group (the CLI finishes its step and saves a checkpoint),
        SIGKILL where it has not ended ``wait`` seconds later."""
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile (a tick's poll may have reaped it): ended all the same
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.stopped = True

    def final(self) -> Path | None:
        final = self.output_dir / "final"
        return final if (final / "config.json").exists() else None


def checkpoint_step(output_dir: Path, events: list[dict], every: int) -> int | None:
    """The step the run's checkpoint holds (``None``: no checkpoint; 0: one of unknown step), read
    from its metrics: a run saves one every ``every`` steps and at its end (a stop is an end)."""
    if not (output_dir / "checkpoint.pt").exists():
        return None
    done = [e["step"] for e in events if e.get("event") == "done"]
    if done:
        return int(done[-1])
    saved = [e["step"] for e in events if e.get("event") == "step" and e["step"] % every == 0]
    return int(saved[-1]) if saved else 0


def complete(events: list[dict]) -> bool:
    """Whether the run did every step it was set (its last ``done`` at its total)."""
    steps = [e for e in events if e.get("event") == "step"]
    done = [e for e in events if e.get("event") == "done"]
    return bool(done and steps and done[-1]["step"] >= steps[-1]["total"])


def evaluation_note(events: list[dict]) -> str:
    """The last evaluation with the size of its set, and a warning when the set is too small to mean much."""
    evals = [e for e in events if e.get("event") == "eval"]
    if not evals:
        return ""
    last = evals[-1]
    size = last.get("pairs")
    note = f"; evaluation on {size if size is not None else 'an unknown number of'} held-out pairs: MRR {last.get('mrr', float('nan')):.3f}, " \
        f"hit@1 {last.get('hit@1', float('nan')):.3f}, hit@10 {last.get('hit@10', float('nan')):.3f}"
    if size is None or size < MIN_EVAL_PAIRS:
        note += f" (under {MIN_EVAL_PAIRS} pairs: these figures are noise, not a measure; hold out more pairs)"
    return note


class Trainer:
    """At most one training subprocess per app (the machine's cores are shared); a run belongs to
    the browser that started it, by a token the server minted and the browser keeps (a reload gets
    a new gradio session, so the session hash would lose it): only that token sees its state and
    log, stops, resumes or loads it."""

    def __init__(self, context: Context):
        self.context = context
        self.runs: dict[str, Job] = {}  # owner token -> its latest run
        self.tokens: set[str] = set()  # tokens this app minted; any other is replaced, not trusted
        self.lock = threading.Lock()
        TRAINERS.add(self)

    def owner(self, token: str | None) -> str:
        """The browser's token if this app minted it, else a new one."""
        with self.lock:
            if isinstance(token, str) and TOKEN.fullmatch(token) and token in self.tokens:
                return token
            token = secrets.token_urlsafe(24)
            self.tokens.add(token)
            return token

    def running(self) -> Job | None:
        return next((job for job in self.runs.values() if job.running), None)

    def data_path(self, uploads: list[str] | str | None, server: str, folder: Path) -> Path:
        """The pairs file to train on: the uploads (a pairs file and its music, or a .zip of both)
        copied flat into ``folder`` (the run's own, so a closed page takes nothing from the run),
        else a server file under the allowed roots, read in place."""
        self.context.writable()  # a read-only app stores no training data: refused before anything is written
        uploads = [uploads] if isinstance(uploads, str) else list(uploads or [])
        if uploads:
            return self.stage(uploads, folder)
        if server and server.strip():
            return self.context.server_path(server)
        raise Clamp3Error("upload a .jsonl/.csv of pairs with its music (or a .zip of both), or give its server path")

    def stage(self, uploads: list[str], folder: Path) -> Path:
        self.context.check_count(uploads)
        allowed = (*PAIR_TYPES, *ARCHIVE_TYPES, *SUPPORTED_EXTENSIONS)
        for path in uploads:  # every upload checked before anything is written
            self.context.check_upload(path, allowed)
        names = [Path(p).suffix.lower() for p in uploads]
        if not any(s in PAIR_TYPES or s in ARCHIVE_TYPES for s in names):
            raise Clamp3Error(f"{Path(uploads[0]).name}: training data is a .jsonl or .csv of text-music pairs "
                              "(with its music, or a .zip of both)")
        folder.mkdir(parents=True, exist_ok=True)
        for path in uploads:
            if Path(path).suffix.lower() in ARCHIVE_TYPES:
                self.unpack(Path(path), folder, allowed)
            else:
                self.place(folder / upload_name(Path(path).name), Path(path).name)
                shutil.copyfile(path, folder / upload_name(Path(path).name))
        tables = sorted(p for p in folder.iterdir() if p.suffix.lower() in PAIR_TYPES)
        if len(tables) != 1:
            found = ", ".join(p.name for p in tables) or "none"
            raise Clamp3Error(f"the uploads hold {len(tables)} pairs files ({found}); give exactly one .jsonl or .csv")
        return rewrite_pairs(tables[0], folder)

    def place(self, target: Path, name: str) -> None:
        if target.exists():
            raise Clamp3Error(f"{name}: two uploads have this file name; music is matched by name, so names must differ")

    def unpack(self, archive: Path, folder: Path, allowed: tuple[str, ...]) -> None:
        """The files of a .zip, flat, under safe names; sizes counted as they unpack (headers can lie)."""
        budget = self.context.max_upload_mb * 2**20 * ARCHIVE_FACTOR
        try:
            with zipfile.ZipFile(archive) as opened:
                members = [m for m in opened.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")
                           and not Path(m.filename).name.startswith(".")]
                if len(members) > MAX_ARCHIVE_MEMBERS:
                    raise Clamp3Error(f"{archive.name}: {len(members)} files, over the limit of {MAX_ARCHIVE_MEMBERS}")
                for member in members:
                    name = member.filename.replace("\\", "/").rsplit("/", 1)[-1]
                    if Path(name).suffix.lower() not in allowed:
                        continue
                    target = folder / upload_name(name)
                    self.place(target, name)
                    with opened.open(member) as source, open(target, "wb") as sink:
                        while chunk := source.read(1 << 20):
                            budget -= len(chunk)
                            if budget < 0:
                                raise Clamp3Error(f"{archive.name}: unpacks to more than {ARCHIVE_FACTOR} x the upload limit "
                                                  f"of {self.context.max_upload_mb:g} MB")
                            sink.write(chunk)
        except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
            raise Clamp3Error(f"{archive.name}: not a readable .zip ({exc})") from exc

    def check_pairs(self, data: Path, roots: list[Path], name: str = "") -> int:
        """Every pair of ``data`` usable, each music file present under ``roots`` and readable; else
        one line naming the first bad ones (the pairs file as ``name``, music by its path in the
        upload), before any run starts. Returns the number of pairs."""
        pairs, report = read_pairs(data, roots)
        unreadable = []
        for pair in pairs:
            for file in pair.files:
                try:
                    with open(file, "rb") as handle:
                        handle.read(1)
                except OSError as exc:
                    unreadable.append(f"{data}:{pair.line}: music file {file} cannot be read ({exc.strerror or exc})")
        bad = report.bad + unreadable
        if bad:
            text = f"{len(bad)} of {len(pairs) - len(unreadable) + len(bad)} pairs cannot be used, nothing started: " + "; ".join(bad[:3]) + \
                ("; ..." if len(bad) > 3 else "") + " (upload the music files together with the pairs file, or one .zip of both)"
            for folder, shown in ((str(data), name or data.name), (str(data.parent) + os.sep, ""), (str(self.context.home), "~")):
                text = text.replace(folder, shown)
            raise Clamp3Error(text)
        if len(pairs) < 2:
            raise Clamp3Error(f"{len(pairs)} pairs: training needs at least 2 (a batch of texts against their music)")
        return len(pairs)

    def begin(self, uploads: list[str] | str | None, server: str, owner: str, *settings) -> tuple[Job, int]:
        """The Start button: the data copied into a new run's folder and every pair checked, then
        the run started; the run and its number of pairs. Refused with nothing left behind."""
        with self.lock:
            self.refuse_if_busy(owner)  # before the uploads are copied
        output_dir = self.context.home / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        try:
            data = self.data_path(uploads, server, output_dir / "data")
            config = self.config(data, output_dir, *settings)
            listed = [uploads] if isinstance(uploads, str) else list(uploads or [])
            name = next((Path(u).name for u in listed if Path(u).suffix.lower() in PAIR_TYPES), data.name)
            count = self.check_pairs(data, [Path(r) for r in config.data_roots.split(os.pathsep) if r], name)
            return self.start(config, owner, pairs=count), count
        except BaseException:
            shutil.rmtree(output_dir, ignore_errors=True)  # a refused start leaves nothing behind
            raise

    def config(self, data: Path, output_dir: Path, stage: str, epochs: int, learning_rate: float, batch_size: int,
               device: str, eval_split: float) -> TrainConfig:
        """The run's settings as typed data: a bad value fails here, not in the subprocess."""
        return TrainConfig(
            train_data=str(data), output_dir=str(output_dir), weights=self.context.weights, stage=stage, epochs=int(epochs),
            learning_rate=float(learning_rate), batch_size=int(batch_size), device=device, eval_split=float(eval_split),
            warmup_steps=0, checkpoint_every=100,
            # the pairs' music only from the data file's own folder or the allowed roots
            data_roots=os.pathsep.join([str(Path(data).resolve().parent), *map(str, self.context.roots)]),
        )

    def refuse_if_busy(self, owner: str) -> None:
        busy = self.running()
        if busy is not None:
            if busy.owner == owner:
                raise Clamp3Error(f"a run is going on (yours, {busy.output_dir.name}): stop it first")
            raise Clamp3Error("a run is going on (another visitor's): one run at a time, try again when it ends")

    def start(self, config: TrainConfig, session: str = "anonymous", pairs: int = 0) -> Job:
        """Write ``config.yaml`` into the run's folder and run ``clamp3 train`` on it for ``session``
        (the owner token); refused, with nothing written, while another run goes on. ``pairs``
        (how many, how many held out) is said in the run's state lines."""
        self.context.writable()
        output_dir = Path(config.output_dir)
        with self.lock:
            self.refuse_if_busy(session)
            output_dir.mkdir(parents=True, exist_ok=True)
            settings = output_dir / "config.yaml"
            settings.write_text(yaml.safe_dump(asdict(config), sort_keys=False), encoding="utf-8")
            return self.launch(output_dir, config.objective, config.checkpoint_every, session, resumed=False, pairs=pairs,
                               held=held_out(pairs, config.eval_split))

    def launch(self, output_dir: Path, objective: str, every: int, owner: str, resumed: bool, pairs: int = 0, held: int = 0) -> Job:
        command = [sys.executable, "-m", "clamp3.cli", "train", objective, "--config", str(output_dir / "config.yaml"), "-q"]
        log = output_dir / "train.log"
        with open(log, "a" if resumed else "w", encoding="utf-8") as handle:
            # the page shows the log: no server path
            handle.write(f"{'resumed: ' if resumed else ''}clamp3 train {objective} --config config.yaml\n")
            handle.flush()
            # a session of its own: Stop ends the run's process group, and a Ctrl-C at the app's terminal does
            # not reach it; the run watches this process and stops itself once the app has gone (killed, crashed)
            process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                       env=dict(os.environ, PYTHONUNBUFFERED="1", **{PARENT_VARIABLE: str(os.getpid())}))
        self.runs[owner] = Job(process, output_dir, log, time.time(), owner, objective, every, pairs, held)
        return self.runs[owner]

    def stop(self, session: str = "anonymous") -> str:
        """End the owner's run: SIGTERM makes the CLI finish its step and save a checkpoint; the
        answer says whether one exists and of which step."""
        with self.lock:
            job = self.runs.get(session)
            if job is None or not job.running:
                return "no run of yours is going on"
            job.end()
        return f"stopped run {job.output_dir.name}; " + self.resumable(job)[1]

    def resumable(self, job: Job) -> tuple[bool, str]:
        """Whether Resume can continue ``job``, and the sentence that says so."""
        events = read_events(job.output_dir / "metrics.jsonl")
        steps = [e for e in events if e.get("event") == "step"]
        at = f"step {steps[-1]['step']} of {steps[-1]['total']}" if steps else "no step done"
        step = checkpoint_step(job.output_dir, events, job.checkpoint_every)
        if complete(events):
            return False, f"it did all its steps ({at}): nothing to resume"
        if step is None:
            return False, f"{at}, no checkpoint saved yet (one every {job.checkpoint_every} steps and at a stop): nothing to resume; Start begins again"
        return True, f"{at}; its checkpoint at {f'step {step}' if step else 'an unknown step'}: Resume continues from it"

    def resume(self, session: str = "anonymous") -> Job:
        """Continue the owner's stopped run from its checkpoint, in the same folder with the same settings."""
        self.context.writable()
        with self.lock:
            job = self.runs.get(session)
            if job is None:
                raise Clamp3Error("no run of yours to resume")
            self.refuse_if_busy(session)
            can, why = self.resumable(job)
            if not can:
                raise Clamp3Error(f"run {job.output_dir.name} cannot be resumed: {why}")
            return self.launch(job.output_dir, job.objective, job.checkpoint_every, session, resumed=True, pairs=job.pairs, held=job.held)

    def status(self, session: str = "anonymous") -> tuple[str, list[dict], str]:
        """The state, metrics and log of the owner's own run, with no server folder in them."""
        job = self.runs.get(session)
        if job is None:
            return "no run yet", [], ""
        events = read_events(job.output_dir / "metrics.jsonl")
        log = job.log.read_text(encoding="utf-8", errors="replace")[-4000:] if job.log.exists() else ""
        for folder, shown in ((job.output_dir, job.output_dir.name), (self.context.home, "~")):
            log = log.replace(str(folder), shown)
        if job.running:
            steps = [e for e in events if e.get("event") == "step"]
            at = f", step {steps[-1]['step']} of {steps[-1]['total']}" if steps else ", starting"
            state = f"running for {time.time() - job.started:.0f} s: run {job.output_dir.name}{at}" + (f" ({job.pairs} pairs, {job.held} held out)" if job.pairs else "")
        elif job.stopped:
            state = f"stopped: run {job.output_dir.name}; {self.resumable(job)[1]}"
        elif job.final():
            state = f"finished: run {job.output_dir.name}"
        else:
            state = f"ended with exit code {job.process.returncode} (see the log): run {job.output_dir.name}"
        return state + evaluation_note(events), events, log

    def finished(self, session: str = "anonymous") -> Job:
        """The owner's own finished (or stopped, with its model saved) run, to load."""
        job = self.runs.get(session)
        if job is None or job.running or job.final() is None:
            raise Clamp3Error("no finished run of yours to load yet")
        return job


TRAINERS: weakref.WeakSet[Trainer] = weakref.WeakSet()  # every Trainer of this process, for the exit hook


@atexit.register
def stop_every_run() -> int:
    """Stop the runs still going when the app ends (each saves a checkpoint): started in sessions of
    their own, they would otherwise go on using the cores with no page left to stop them. The number stopped."""
    jobs = [job for trainer in list(TRAINERS) for job in trainer.runs.values() if job.running]
    for job in jobs:
        job.end()
    return len(jobs)


def rewrite_pairs(table: Path, folder: Path) -> Path:
    """``folder/pairs.jsonl``: the records of ``table`` (JSONL or CSV) with each music path that is
    not in ``folder`` as written replaced by the upload of the same file name, when there is one.
    Line numbers stay those of ``table`` (a CSV's header line is kept as an empty line), so an
    error names the line the user wrote."""
    text = table.read_text(encoding="utf-8-sig")
    if table.suffix.lower() == ".csv":
        records: list[object] = [None, *csv.DictReader(io.StringIO(text))]
    else:
        records = []
        for line in text.splitlines():
            try:
                records.append(json.loads(line) if line.strip() else None)
            except ValueError:
                records.append(line)  # read_pairs reports it with its line number
    lines = []
    for record in records:
        if isinstance(record, dict):
            for key in ("filepaths", "path"):
                value = record.get(key)
                if isinstance(value, list):
                    record[key] = [uploaded(folder, v) if isinstance(v, str) else v for v in value]
                elif isinstance(value, str) and value:
                    record[key] = uploaded(folder, value)
            lines.append(json.dumps(record, ensure_ascii=False))
        else:
            lines.append("" if record is None else str(record))
    target = folder / "pairs.jsonl"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def uploaded(folder: Path, name: str) -> str:
    """``name`` if it lies in ``folder`` as written, else the upload of its file name if there is one."""
    if (folder / name).is_file():
        return name
    candidate = upload_name(name.replace("\\", "/").rsplit("/", 1)[-1])
    return candidate if (folder / candidate).is_file() else name


def read_events(path: Path) -> list[dict]:
    events = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:  # the line being written
                continue
    return events


def curves(events: list[dict]) -> go.Figure:
    steps = [e for e in events if e.get("event") == "step"]
    evals = [e for e in events if e.get("event") == "eval"]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "evaluation"))
    figure.add_trace(go.Scatter(x=[e["step"] for e in steps], y=[e["loss"] for e in steps], name="loss", mode="lines"), 1, 1)
    for key in ("mrr", "hit@10", "loss"):
        if any(key in e for e in evals):
            figure.add_trace(go.Scatter(x=[e["epoch"] for e in evals], y=[e.get(key) for e in evals], name=f"eval {key}",
                                        mode="lines+markers"), 1, 2)
    figure.update_layout(template="plotly_white", height=360, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


def build(context: Context, app: gr.Blocks) -> None:
    trainer = Trainer(context)
    import tempfile

    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    gr.Markdown(FORMAT, elem_id="train-format")
    with gr.Row():
        upload = file_input(label="pairs file + its music, or one .zip of both", file_count="multiple", scale=2)
        with gr.Column(scale=2):
            server = gr.Textbox(label="...or a server path (under the allowed roots)")
            gr.DownloadButton("Download an example (.zip)", value=str(example_archive(Path(tempfile.gettempdir()) / "clamp3-app")),
                              elem_id="train-example")
    with gr.Row():
        stage = gr.Dropdown(["symbolic", "audio"], value="symbolic", label="stage")
        epochs = gr.Number(3, label="epochs", precision=0, minimum=1)
        learning_rate = gr.Number(1e-4, label="learning rate")
        batch_size = gr.Number(16, label="batch size", precision=0, minimum=2)
        device = gr.Dropdown(devices, value=devices[-1], label="device")
        eval_split = gr.Slider(0.0, 0.5, value=0.1, step=0.05, label="held out for evaluation")
    with gr.Row():
        start = gr.Button("Start", variant="primary", interactive=not context.read_only)
        stop = gr.Button("Stop", variant="stop")
        resume = gr.Button("Resume", interactive=not context.read_only)
        load = gr.Button("Serve the new model (the library is embedded in the background)", interactive=not context.read_only)
        at_once = gr.Checkbox(False, label="answer with it at once (from the items embedded so far)")
    state = gr.Textbox(label="state", interactive=False, elem_id="train-state")
    plot = gr.Plot(elem_id="train-plot")
    log = gr.Textbox(label="log", lines=8, max_lines=8, interactive=False, autoscroll=True, elem_id="train-log")
    timer = gr.Timer(2.0, active=False)
    # the browser's own token (localStorage): a reload gets a new gradio session but finds its run again
    token = gr.BrowserState("", storage_key="clamp3-train-owner")

    def shown(owner: str):
        text, events, tail = trainer.status(owner)
        job = trainer.runs.get(owner)
        return text, curves(events), tail, gr.Timer(active=job is not None and job.running)

    @shown_errors
    def run_start(uploads, server, stage, epochs, learning_rate, batch_size, device, eval_split, token):
        owner = trainer.owner(token)
        job, count = trainer.begin(uploads, server, owner, stage, epochs, learning_rate, batch_size, device, eval_split)
        held = job.held  # as the run splits
        warning = f" (only {held} held out for evaluation: under {MIN_EVAL_PAIRS}, its figures are noise)" if 0 < held < MIN_EVAL_PAIRS else ""
        return f"started run {job.output_dir.name} on {count} pairs{warning}", gr.Timer(active=True), owner

    def tick(token):
        return shown(trainer.owner(token))

    def restore(token):
        # the token is minted by Start only: the page's load may run before the browser has read its
        # stored token, and minting one here would overwrite it; ``token.change`` runs once it is read
        return shown(trainer.owner(token))

    @shown_errors
    def run_stop(token):
        return trainer.stop(trainer.owner(token))

    @shown_errors
    def run_resume(token):
        owner = trainer.owner(token)
        job = trainer.resume(owner)
        return f"resumed run {job.output_dir.name} from its checkpoint", gr.Timer(active=True)

    @shown_errors
    def run_load(token, at_once):
        context.writable()
        if not context.allow_model_swap:
            raise Clamp3Error("serving a trained model to every visitor is the operator's choice: this app was not started "
                              "with --allow-model-swap (CLAMP3_ALLOW_MODEL_SWAP=1)")
        job = trainer.finished(trainer.owner(token))
        return f"run {job.output_dir.name}: " + context.serve(str(job.final()), bool(at_once))

    start.click(run_start, [upload, server, stage, epochs, learning_rate, batch_size, device, eval_split, token],
                [state, timer, token], api_name=False)
    stop.click(run_stop, token, state, api_name=False)
    resume.click(run_resume, token, [state, timer], api_name=False)
    timer.tick(tick, token, [state, plot, log, timer], api_name=False)
    load.click(run_load, [token, at_once], state, api_name=False)
    app.load(restore, token, [state, plot, log, timer], api_name=False)
    token.change(restore, token, [state, plot, log, timer], api_name=False)
