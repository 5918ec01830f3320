"""Support for the tests and benchmarks (not installed with the package): deterministic random
weights, training pairs from the test data, the real app in a subprocess, and children that
cannot write what the permission bits forbid (even as root).

The same seed gives the same tensors on any machine with the same torch version, so a test can
rebuild a full-size checkpoint instead of shipping 1.8 GB of it. ``serve_app`` runs
``python app.py`` on a free loopback port.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch

from clamp3.config import CLaMP3Config
from clamp3.models.clamp3 import CLaMP3Model
from clamp3.models.loading import export_official

ROOT = Path(__file__).resolve().parent.parent

# FacebookAI/xlm-roberta-base's config.json, the text tower of the official checkpoints.
XLMR_BASE_CONFIG = {
    "model_type": "xlm-roberta",
    "vocab_size": 250002,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "layer_norm_eps": 1e-05,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}


def randomize_(model: torch.nn.Module, seed: int = 0, std: float = 0.02) -> torch.nn.Module:
    """Fill every parameter with seeded noise: N(0, std), and N(1, std) for LayerNorm scales."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            noise = torch.randn(param.shape, generator=generator) * std
            param.copy_(noise + 1.0 if name.endswith("LayerNorm.weight") else noise)
    return model


def saas_shaped_config() -> CLaMP3Config:
    """The released SAAS / C2 architecture (about 458M parameters)."""
    return CLaMP3Config(text_config=dict(XLMR_BASE_CONFIG))


def random_official_checkpoint(path: str | Path, config: CLaMP3Config, seed: int = 0) -> CLaMP3Model:
    """Build ``config`` with seeded random weights and save it in the official .pth layout."""
    model = randomize_(CLaMP3Model(config), seed)
    export_official(model, path)
    return model


# --- training data -------------------------------------------------------------------------------
PAIR_TEXTS = [
    "A lively Irish jig in 6/8 for fiddle.", "A slow air from Scotland, played on the pipes.",
    "Ein deutsches Volkslied aus dem Elsass.", "Chanson populaire lorraine, gaie et dansante.",
    "Una canción popular española con guitarra.", "Un madrigale italiano a cinque voci.",
    "Piano sonata by Mozart in C major, allegro.", "String quartet by Haydn, minuet and trio.",
]


def official_scores(folder: str | Path, count: int) -> list[Path]:
    """The first ``count`` interleaved ABC scores written by the official pipeline (the golden
    conversions), copied into ``folder``, in name order."""
    folder = Path(folder)
    source = Path(__file__).parent / "data" / "golden" / "convert" / "abc_official"
    for path in sorted(source.glob("*.abc"))[:count]:
        shutil.copy(path, folder / path.name)
    return sorted(folder.glob("*.abc"))


def write_pairs(folder: str | Path) -> Path:
    """Eight text-score pairs in ``folder``: eight Bach chorales of the conformance data copied
    as ``s0.abc`` ... ``s7.abc`` and ``train.jsonl`` (M4-RAG lines with a German translation)."""
    folder = Path(folder)
    scores = sorted((ROOT / "tests" / "data" / "golden" / "convert" / "abc_official").glob("bach__*.abc"))[:8]
    lines = []
    for i, (text, score) in enumerate(zip(PAIR_TEXTS, scores)):
        shutil.copy(score, folder / f"s{i}.abc")
        lines.append(json.dumps({"id": str(i), "filepaths": [f"s{i}.abc"], "analysis": text,
                                 "translations": {"language": "English", "German": text}}))
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "train.jsonl"


# --- read-only storage ---------------------------------------------------------------------------
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, PR_CAPBSET_DROP = 1, 2, 24


def without_write_rights() -> Callable[[], None] | None:
    """A ``preexec_fn`` after which the child is held to the permission bits, so a folder chmod'ed
    0o555 with files 0o444 is read-only storage to it; None when that holds already (not root).

    Root ignores the bits through two capabilities; the child drops them from its bounding set, so
    the program it runs has them no more. It stays root otherwise and can still run an interpreter
    under /root (a setuid to nobody could not; this machine's lives there). prctl is looked up
    here, not in the forked child, where loading a library could deadlock."""
    if os.geteuid() != 0:
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def drop() -> None:
        for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "cannot drop root's rights to write anywhere")

    return drop


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """``folder`` and the files in it made read-only (0o555, 0o444) for the block, then restored."""
    files = [p for p in folder.iterdir() if p.is_file()]
    modes = {p: p.stat().st_mode & 0o777 for p in [folder, *files]}
    for path in files:
        path.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


# --- the app in a subprocess ------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve_app(
    options: Sequence[str] = (),
    log: str | Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
    wait: bool = True,
    preexec_fn: Callable[[], None] | None = None,
    root: Path = ROOT,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start ``python app.py --port P *options`` from the project folder (or the checkout ``root``);
    yields its URL and process.

    With ``wait``, returns once the port accepts connections (the app has loaded its model), or
    raises ``RuntimeError`` with the end of the log when the app exits first or ``timeout``
    passes. Output goes to ``log`` (default: discarded); ``preexec_fn`` runs in the child before
    the app (see :func:`without_write_rights`). The app is stopped on exit.
    """
    port = free_port()
    environment = dict(os.environ if env is None else env, GRADIO_ANALYTICS_ENABLED="False")
    output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port), *options], cwd=root, env=environment,
            stdout=output, stderr=subprocess.STDOUT, preexec_fn=preexec_fn,
        )
    finally:
        if log:
            output.close()  # the child holds its own copy
    try:
        if wait:
            _wait_for_port(port, process, log, time.monotonic() + timeout)
        yield f"http://127.0.0.1:{port}/", process
    finally:
        _stop(process)


@contextlib.contextmanager
def serve_milvus_lite(data: Path, timeout: float = 120.0) -> Iterator[str]:
    """milvus-lite served from the folder ``data`` by a process of its own on a free loopback port,
    for several processes at once (a milvus-lite file opened by one process is locked to it);
    yields ``milvus://127.0.0.1:PORT`` (a collection's name goes after it). Stopped on exit."""
    port = free_port()
    log = Path(data).with_suffix(".log")
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
            stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, log, time.monotonic() + timeout)
        yield f"milvus://127.0.0.1:{port}"
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Terminate a served process, killed where it does not end within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def log_tail(log: str | Path | None, size: int = 3000) -> str:
    return Path(log).read_text(errors="replace")[-size:] if log and Path(log).exists() else "(no log)"


def _wait_for_port(port: int, process: subprocess.Popen, log: str | Path | None, deadline: float) -> None:
    name = " ".join(map(str, process.args[1:3]))  # app.py --port, -m milvus_lite
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with status {process.returncode} before serving:\n{log_tail(log)}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not open port {port} in time:\n{log_tail(log)}") from None
            time.sleep(0.5)


# --- a fresh interpreter ---------------------------------------------------------------------------

# What a command may not import before it needs a model: seconds of imports (torch pulls in most of them).
HEAVY_MODULES = ("torch", "transformers")


def run_fresh(code: str, *args: str) -> tuple[object, subprocess.CompletedProcess]:
    """Run ``code`` in a new interpreter at the repository root, ``args`` as its ``sys.argv[1:]``; the
    last line it prints is JSON, returned decoded with the finished process. What a command imports
    can only be seen in a process of its own: the test process has imported torch long before."""
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]), done


@contextlib.contextmanager
def benchmark_script(name: str):
    """``benchmarks/<name>.py`` imported as a module for the block (registered in ``sys.modules``
    meanwhile, where its dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]

