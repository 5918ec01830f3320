"""Train tab: a form for the training engine, run as a subprocess of the ``clamp3 train`` CLI;
start / stop, a live loss and metric plot from its ``metrics.jsonl``, the log; when it ends, one
click loads the new model and re-embeds the library with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go
import yaml
from plotly.subplots import make_subplots

from clamp3 import Library
from clamp3.errors import Clamp3Error
from clamp3.training import TrainConfig
from explorers.common import TRACK_TQDM, file_input, session_of, shown_errors
from explorers.context import Context

DATA_TYPES = (".jsonl", ".csv")


@dataclass
class Job:
    process: subprocess.Popen
    output_dir: Path
    log: Path
    started: float
    session: str

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def final(self) -> Path | None:
        final = self.output_dir / "final"
        return final if (final / "config.json").exists() else None


class Trainer:
    """At most one training subprocess per app (the machine's cores are shared); a run belongs to
    the session that started it: only that session sees its state and log, stops it or loads it."""

    def __init__(self, context: Context):
        self.context = context
        self.runs: dict[str, Job] = {}  # session -> its latest run
        self.lock = threading.Lock()

    def running(self) -> Job | None:
        return next((job for job in self.runs.values() if job.running), None)

    def data_path(self, upload: str | None, server: str, session: str) -> Path:
        self.context.writable()  # a read-only app stores no training data: refused before anything is written
        if upload:
            if Path(upload).suffix.lower() not in DATA_TYPES:
                raise Clamp3Error(f"{Path(upload).name}: training data is a .jsonl or .csv of text-music pairs")
            # the session's own folder, a sanitised name and the upload size limit, as for music
            stored, failures = self.context.store_uploads([upload], session, DATA_TYPES)
            if failures:
                raise Clamp3Error(failures[0])
            return stored[0]
        if server and server.strip():
            return self.context.server_path(server)
        raise Clamp3Error("upload a .jsonl/.csv of pairs or give its server path")

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

    def start(self, config: TrainConfig, session: str = "anonymous") -> Job:
        """Write ``config.yaml`` into the run's folder and run ``clamp3 train`` on it for ``session``;
        refused, with nothing written, while another run goes on."""
        self.context.writable()
        output_dir = Path(config.output_dir)
        with self.lock:
            busy = self.running()
            if busy is not None:
                if busy.session == session:
                    raise Clamp3Error(f"a run is going on (yours, {busy.output_dir.name}): stop it first")
                raise Clamp3Error("a run is going on (another visitor's): one run at a time, try again when it ends")
            output_dir.mkdir(parents=True, exist_ok=True)
            settings = output_dir / "config.yaml"
            settings.write_text(yaml.safe_dump(asdict(config), sort_keys=False), encoding="utf-8")
            command = [sys.executable, "-m", "clamp3.cli", "train", config.objective, "--config", str(settings), "-q"]
            log = output_dir / "train.log"
            with open(log, "w", encoding="utf-8") as handle:
                handle.write(f"clamp3 train {config.objective} --config {settings.name}\n")  # the page shows the log: no server path
                handle.flush()
                process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                           env=dict(os.environ, PYTHONUNBUFFERED="1"))
            self.runs[session] = Job(process, output_dir, log, time.time(), session)
            return self.runs[session]

    def stop(self, session: str = "anonymous") -> str:
        with self.lock:
            job = self.runs.get(session)
            if job is None or not job.running:
                return "no run of yours is going on"
            os.killpg(job.process.pid, signal.SIGTERM)
            try:
                job.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(job.process.pid, signal.SIGKILL)
            return f"stopped run {job.output_dir.name}; its last checkpoint resumes it"

    def status(self, session: str = "anonymous") -> tuple[str, list[dict], str]:
        """The state, metrics and log of the session's own run, with no server folder in them."""
        job = self.runs.get(session)
        if job is None:
            return "no run yet", [], ""
        events = read_events(job.output_dir / "metrics.jsonl")
        log = job.log.read_text(encoding="utf-8", errors="replace")[-4000:] if job.log.exists() else ""
        for folder, shown in ((job.output_dir, job.output_dir.name), (self.context.home, "~")):
            log = log.replace(str(folder), shown)
        if job.running:
            state = f"running for {time.time() - job.started:.0f} s: run {job.output_dir.name}"
        elif job.final():
            state = f"finished: run {job.output_dir.name}"
        else:
            state = f"ended with exit code {job.process.returncode} (see the log): run {job.output_dir.name}"
        return state, events, log

    def finished(self, session: str = "anonymous") -> Job:
        """The session's own finished run, to load."""
        job = self.runs.get(session)
        if job is None or job.running or job.final() is None:
            raise Clamp3Error("no finished run of yours to load yet")
        return job


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


def reembed(context: Context, weights: Path, target: Path, progress: bool = True) -> Library:
    """A new library at ``target`` with the current library's files and metadata, embedded by ``weights``."""
    from clamp3 import Embedder, load_model

    return context.library.rebuild(Embedder(load_model(str(weights)), batch_size=16), target, progress=progress)


def build(context: Context) -> None:
    trainer = Trainer(context)
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with gr.Row():
        upload = file_input(label="pairs (.jsonl or .csv)", scale=2)
        server = gr.Textbox(label="...or a server path (under the allowed roots)", scale=2)
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
        load = gr.Button("Load the new model and re-embed the library", interactive=not context.read_only)
    state = gr.Textbox(label="state", interactive=False)
    plot = gr.Plot(elem_id="train-plot")
    log = gr.Textbox(label="log", lines=8, max_lines=8, interactive=False, autoscroll=True)
    timer = gr.Timer(2.0, active=False)

    @shown_errors
    def run_start(upload, server, stage, epochs, learning_rate, batch_size, device, eval_split, request: gr.Request):
        session = session_of(request)
        data = trainer.data_path(upload, server, session)
        output_dir = context.home / "runs" / time.strftime("%Y%m%d-%H%M%S")
        job = trainer.start(trainer.config(data, output_dir, stage, epochs, learning_rate, batch_size, device, eval_split), session)
        return f"started run {job.output_dir.name}", gr.Timer(active=True)

    def tick(request: gr.Request):
        session = session_of(request)
        text, events, tail = trainer.status(session)
        job = trainer.runs.get(session)
        return text, curves(events), tail, gr.Timer(active=job is not None and job.running)

    def run_stop(request: gr.Request):
        return trainer.stop(session_of(request))

    @shown_errors
    def run_load(request: gr.Request, progress=TRACK_TQDM):
        context.writable()
        if not context.allow_model_swap:
            raise Clamp3Error("serving a trained model to every visitor is the operator's choice: this app was not started "
                              "with --allow-model-swap (CLAMP3_ALLOW_MODEL_SWAP=1)")
        job = trainer.finished(session_of(request))
        target = context.home / "libraries" / job.output_dir.name
        library = reembed(context, job.final(), target)
        context.swap(str(job.final()), library)
        return f"serving run {job.output_dir.name} with {len(library)} items re-embedded"

    start.click(run_start, [upload, server, stage, epochs, learning_rate, batch_size, device, eval_split], [state, timer], api_name=False)
    stop.click(run_stop, None, state, api_name=False)
    timer.tick(tick, None, [state, plot, log, timer], api_name=False)
    load.click(run_load, None, state, api_name=False)
