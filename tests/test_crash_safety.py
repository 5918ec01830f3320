"""Crash safety: `index add`, training, `convert` and `embed` killed with SIGKILL at seeded points
leave a whole library and whole files, and the next run completes the rest.

Every killed run is the real CLI (``clamp3.cli.main``) in a child process that :func:`child` first
arms with one kill point: a moment after start-up, the n-th SQL statement of a kind, the n-th
call of a method (a model forward, a training step), the n-th temporary file about to be created
or half written, or the n-th rename. No observer outside can hit a window of microseconds (a commit, a rename), so the
child sends itself SIGKILL there, now or a few milliseconds on from a timer thread; nothing runs
after it, as when the kernel kills a process.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, GOLDEN

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="kill points read /proc and send SIGKILL")

TESTS = Path(__file__).parent
CONVERT = GOLDEN / "convert"
LAUNCH = "import sys; sys.path.insert(0, sys.argv.pop(1)); import test_crash_safety; test_crash_safety.child(sys.argv[1:])"


# --- the killed process ---------------------------------------------------------------------------
def child(argv: list[str]) -> None:
    """Arm the kill point ``argv[0]`` (JSON), then run ``clamp3 argv[1:]``."""
    plan = json.loads(argv[0])
    _arm(plan)
    if "journal" in plan:
        _journal_commits(plan["journal"])
    from clamp3.cli import main

    sys.exit(main(argv[1:]))


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill(plan: dict) -> None:
    # a timer thread is not a daemon: a process that finishes first still waits for its kill
    if plan.get("delay"):
        threading.Timer(plan["delay"], _die).start()
    else:
        _die()


def _nth(plan: dict):
    calls = itertools.count(1)
    return lambda: next(calls) == plan["nth"]


class _HalfWritten:
    """A file handle that keeps what is written and, when closed, writes half of it, then dies."""

    def __init__(self, handle):
        self.handle, self.buffer = handle, io.BytesIO()

    def write(self, data) -> int:
        return self.buffer.write(data)

    def __getattr__(self, name):
        return getattr(self.buffer, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        data = self.buffer.getvalue()
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        _die()


def _arm(plan: dict) -> None:
    at, nth, match = plan["at"], _nth(plan), plan.get("match", "")
    if at == "timer":
        threading.Timer(plan["delay"], _die).start()
    elif at == "sql":  # the n-th statement that starts with plan["sql"]
        import sqlite3

        connect = sqlite3.connect

        def traced(*args, **kwargs):
            db = connect(*args, **kwargs)
            db.set_trace_callback(lambda sql: " ".join(sql.split()).upper().startswith(plan["sql"]) and nth() and _kill(plan))
            return db

        sqlite3.connect = traced
    elif at == "call":  # the n-th call of module:Class.method
        import importlib

        module, _, attribute = plan["target"].partition(":")
        owner_name, _, name = attribute.partition(".")
        owner = getattr(importlib.import_module(module), owner_name)
        method = getattr(owner, name)

        def counted(*args, **kwargs):
            if nth():
                _kill(plan)
            return method(*args, **kwargs)

        setattr(owner, name, counted)
    elif at == "write":  # the n-th temporary file with ``match`` in its name: half written, then the kill
        fdopen = os.fdopen

        def opening(fd, *args, **kwargs):
            handle = fdopen(fd, *args, **kwargs)
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
            return _HalfWritten(handle) if name.endswith(".tmp") and match in name and nth() else handle

        os.fdopen = opening
    elif at == "create":  # just before the n-th temporary file with ``match`` in its name is created
        import tempfile

        mkstemp = tempfile.mkstemp

        def creating(*args, **kwargs):
            if match in kwargs.get("prefix", "") and nth():
                _die()
            return mkstemp(*args, **kwargs)

        tempfile.mkstemp = creating
    elif at == "rename":  # just before the n-th rename of a finished temporary file with ``match`` in its name
        replace = os.replace

        def renaming(source, target, *args, **kwargs):
            name = os.path.basename(source)
            if name.endswith(".tmp") and match in name and nth():
                _die()
            return replace(source, target, *args, **kwargs)

        os.replace = renaming
    else:
        raise ValueError(f"unknown kill point {plan}")


def _journal_commits(path: str) -> None:
    """Append (path, name, hash) of every item to ``path`` once its transaction has returned."""
    from clamp3.library import Library

    commit = Library._commit_chunk

    def journaled(self, *args, **kwargs):
        written, replaced = commit(self, *args, **kwargs)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(list(row[:3])) + "\n" for row in written))
        return written, replaced

    Library._commit_chunk = journaled


def run_killed(plan: dict, args: list[str]) -> None:
    """Run ``clamp3 args`` armed with ``plan``; it must die by SIGKILL."""
    done = subprocess.run([sys.executable, "-c", LAUNCH, str(TESTS), json.dumps(plan), *map(str, args)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == -signal.SIGKILL, f"kill point {plan} not reached (exit {done.returncode}): {done.stderr[-3000:]}"


def temporary_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".*.tmp"))


def outputs(folder: Path) -> dict[str, Path]:
    """Finished outputs under ``folder`` by relative path (temporary files left out)."""
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


# --- index add ------------------------------------------------------------------------------------
TRIALS, NEW_FILES, CHUNK = 20, 5, 2
# (first words of a statement, how many times an add runs it): opening, then each chunk's transaction
START_UP = {"PRAGMA JOURNAL_MODE": 1, "PRAGMA SYNCHRONOUS": 1, "CREATE TABLE": 3, "CREATE INDEX": 2,
            "SELECT KEY, VALUE FROM META": 1, "SELECT DISTINCT PATH": 1}
COMMIT = ["BEGIN IMMEDIATE", "INSERT OR IGNORE INTO META", "DELETE FROM ITEMS", "INSERT OR REPLACE INTO ITEMS",
          "INSERT INTO META VALUES ('VERSION'", "COMMIT"]


def add_kill_points(rng: random.Random) -> list[str]:
    """What kills each add after the first: 4 at start-up, 6 mid-embedding, 9 mid-commit, every kind of statement at least once."""
    points = rng.sample(["timer", *START_UP], 4) + ["forward"] * 6 + COMMIT + rng.sample(COMMIT, 3)
    rng.shuffle(points)
    return points


def add_plan(rng: random.Random, point: str, changed: bool) -> dict:
    """The kill point of an ``index add`` of NEW_FILES new files and ``changed`` changed ones."""
    files = NEW_FILES + changed
    chunks = -(-files // CHUNK)
    delay = rng.choice([0.0, round(rng.uniform(0.0, 0.003), 4)])  # before the statement, or inside it
    if point == "timer":  # importing, loading the model
        return {"at": "timer", "delay": round(rng.uniform(0.05, 2.0), 3)}
    if point == "forward":
        return {"at": "call", "target": "clamp3.models.clamp3:CLaMP3Model.hidden", "nth": rng.randint(1, chunks),
                "delay": round(rng.uniform(0.0, 0.02), 4)}
    if point == "DELETE FROM ITEMS" and not changed:
        point = "COMMIT"
    most = START_UP.get(point) or {"INSERT OR IGNORE INTO META": 3 * chunks, "DELETE FROM ITEMS": 1,
                                   "INSERT OR REPLACE INTO ITEMS": files}.get(point, chunks)
    return {"at": "sql", "sql": point, "nth": rng.randint(1, most), "delay": delay}


def test_index_add_killed_twenty_times_keeps_every_commit(tmp_path, tiny_model_dir, tiny_model):
    """Twenty kills of `clamp3 index add` over a growing library (5 new files each time, and one
    changed file after the first): after each, the library opens, passes integrity_check, holds every item a returned
    transaction wrote and only whole files at a version they had, finds every item by its own
    vector, and the next add completes."""
    from clamp3.embedding import Embedder
    from clamp3.io import file_digest
    from clamp3.library import DB_NAME, Library

    rng = random.Random(20260508)
    pool = sorted(CONVERT.glob("abc_official/*.abc")) + sorted(CONVERT.glob("mtf_official/*.mtf"))
    rng.shuffle(pool)
    assert len(pool) >= TRIALS * NEW_FILES
    points = add_kill_points(rng)
    plans = [{"at": "sql", "sql": "CREATE TABLE", "nth": 2, "delay": 0.0}]  # between the two tables of a new library
    music, lib, journal = tmp_path / "music", tmp_path / "lib", tmp_path / "journal.jsonl"
    music.mkdir()
    embedder = Embedder(tiny_model)
    reference: dict[tuple[str, str], np.ndarray] = {}  # (content hash, item name) -> vector
    versions: dict[str, set[str]] = {}  # stored path -> every content hash the file had
    whole: set[tuple[str, str]] = set()  # (path, name) the last completed add left
    for trial in range(TRIALS):
        added = []
        for source in pool[trial * NEW_FILES : (trial + 1) * NEW_FILES]:
            target = music / source.parent.name / source.name
            target.parent.mkdir(exist_ok=True)
            shutil.copy(source, target)
            added.append(target)
        earlier = sorted(p for p in music.rglob("*.abc") if p not in added)
        changed = rng.choice(earlier) if earlier else None
        if changed:
            changed.write_text(changed.read_text(encoding="utf-8") + f"\n% revised in trial {trial}\n", encoding="utf-8")
        for path in [*added, changed] if changed else added:
            versions.setdefault(str(path.resolve()), set()).add(file_digest(path))
        if trial:
            plans.append(add_plan(rng, points[trial - 1], changed is not None))
        plan = {**plans[trial], "journal": str(journal)}
        journal.unlink(missing_ok=True)
        run_killed(plan, ["index", "add", music, "--index", lib, "--weights", tiny_model_dir, "--chunk-files", CHUNK, "-q"])

        committed = {tuple(json.loads(line)) for line in journal.read_text().splitlines()} if journal.exists() else set()
        if not (lib / DB_NAME).exists():
            assert not whole and not committed, plan
        else:
            library = Library(lib)
            assert library.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", plan
            rows = library.db.execute("SELECT id, path, name, content_hash, vector FROM items ORDER BY id").fetchall()
            stored = {(path, name): (item_id, digest) for item_id, path, name, digest, _ in rows}
            assert len(stored) == len(rows), plan
            missing = (whole | {(path, name) for path, name, _ in committed}) - set(stored)
            assert not missing, (plan, missing)
            assert all(stored[(path, name)][1] == digest for path, name, digest in committed), plan
            by_path: dict[str, set[str]] = {}
            for _, path, _, digest, _ in rows:
                assert digest in versions[path], (plan, path)  # a version the file had, never a mix
                by_path.setdefault(path, set()).add(digest)
            assert all(len(digests) == 1 for digests in by_path.values()), plan
            new = sorted({path for _, path, name, digest, _ in rows if (digest, name) not in reference})
            for result in embedder.encode_files(new, progress=False):
                reference[(file_digest(result.source), result.item.name)] = result.embedding.reshape(-1)
            for _, _, name, digest, blob in rows:
                np.testing.assert_allclose(np.frombuffer(blob, np.float32), reference[(digest, name)], atol=1e-5, err_msg=str(plan))
            if rows:
                ids, matrix = library.matrix()
                for item_id, hits in zip(ids, library.search(matrix, k=3, exact=True)):
                    best = [h.id for h in hits if h.score >= hits[0].score - 1e-5]
                    assert item_id in best, (plan, item_id)
            library.close()

        library = Library(lib, create=True)
        report = library.add([music], embedder, chunk_files=CHUNK, progress=False)
        assert not report.failures, (plan, report.failures)
        rows = library.db.execute("SELECT path, name, content_hash, vector FROM items").fetchall()
        current = {str(p.resolve()): file_digest(p) for p in music.rglob("*") if p.is_file()}
        assert {path: digest for path, _, digest, _ in rows} == current and len(rows) == len(current), plan
        for _, name, digest, blob in rows:
            reference.setdefault((digest, name), np.frombuffer(blob, np.float32).copy())
        whole = {(path, name) for path, name, _, _ in rows}
        assert library.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        library.close()
    assert len(whole) == TRIALS * NEW_FILES


# --- training -------------------------------------------------------------------------------------
TEXTS = ["A lively Irish jig in 6/8 for fiddle.", "A slow air from Scotland, played on the pipes.",
         "Ein deutsches Volkslied aus dem Elsass.", "Chanson populaire lorraine, gaie et dansante.",
         "Una canción popular española con guitarra.", "Un madrigale italiano a cinque voci.",
         "Piano sonata by Mozart in C major, allegro.", "String quartet by Haydn, minuet and trio."]


@pytest.fixture
def training(tmp_path, tiny_model_dir) -> dict:
    """Settings of a run of 8 steps (4 epochs of 2) with a checkpoint every 2 steps, randomness on."""
    scores = sorted((CONVERT / "abc_official").glob("bach__*.abc"))[:8]
    lines = []
    for i, (text, score) in enumerate(zip(TEXTS, scores)):
        shutil.copy(score, tmp_path / f"s{i}.abc")
        lines.append(json.dumps({"id": str(i), "filepaths": [f"s{i}.abc"], "analysis": text, "translations": {"German": text}}))
    (tmp_path / "train.jsonl").write_text("\n".join(lines) + "\n")
    return dict(train_data=str(tmp_path / "train.jsonl"), eval_data=str(tmp_path / "train.jsonl"), weights=str(tiny_model_dir),
                batch_size=4, epochs=4, learning_rate=2e-3, warmup_steps=1, checkpoint_every=2, text_dropout=True)


def _train(settings: dict, out: Path) -> list[float]:
    from clamp3.training import TrainConfig, train

    events = []
    train(TrainConfig(**settings, output_dir=str(out)), on_event=events.append)
    return [e["loss"] for e in events if e["event"] == "step"]


def _train_cli(settings: dict, out: Path) -> list[str]:
    return ["train", "clamp3", *(f"{k}={v}" for k, v in settings.items()), f"output_dir={out}", "-q"]


def _checkpoint_step(out: Path) -> int:
    import torch

    # the plain safe loader reads it: RNG states are tensors and plain types
    return torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)["state"]["global_step"]


def test_training_killed_while_writing_a_checkpoint_resumes_like_an_uninterrupted_run(tmp_path, training):
    """A run killed half-way through writing a checkpoint keeps the one before (the torn file is a
    temporary never read); resumed, killed again mid-step, and resumed to the end, it takes the
    losses of an uninterrupted run and ends with its weights; metrics.jsonl holds each step once."""
    import torch
    from safetensors.torch import load_file

    rng = random.Random(8)
    whole = _train(training, tmp_path / "whole")
    assert len(whole) == 8
    out = tmp_path / "killed"
    torn = rng.choice([2, 3])  # the checkpoint of step 4 or 6
    run_killed({"at": "write", "match": ".checkpoint.pt.", "nth": torn}, _train_cli(training, out))
    assert len(list(out.glob(".checkpoint.pt.*.tmp"))) == 1
    start = _checkpoint_step(out)
    assert start == 2 * (torn - 1)
    steps = rng.randint(start // 2 + 1, 3)  # killed inside step 2 * steps + 1, after a later checkpoint
    run_killed({"at": "call", "target": "clamp3.training.contrastive:ContrastiveTask.loss", "nth": 2 * steps - start + 1,
                "delay": round(rng.uniform(0.0, 0.005), 4)}, _train_cli(training, out))
    last = _checkpoint_step(out)
    assert start < last == 2 * steps
    rest = _train(training, out)
    assert rest == pytest.approx(whole[last:], rel=1e-5)
    events = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["event"] == "step"] == list(range(1, 9))
    assert [e["loss"] for e in events if e["event"] == "step"] == pytest.approx(whole, rel=1e-5)
    expected, got = load_file(tmp_path / "whole" / "final" / "model.safetensors"), load_file(out / "final" / "model.safetensors")
    for name, tensor in expected.items():
        torch.testing.assert_close(got[name], tensor, rtol=1e-4, atol=1e-6, msg=name)


def test_a_damaged_checkpoint_is_refused_and_an_older_format_still_resumes(tmp_path, training):
    """A checkpoint that cannot be read stops the run with its name (it is never a silent fresh
    start); one of the earlier format (numpy's RNG state as an array) resumes under weights_only."""
    import torch

    from clamp3.errors import CheckpointError

    whole = _train({**training, "epochs": 2}, tmp_path / "whole")
    first = _train({**training, "epochs": 2, "max_steps": 2}, tmp_path / "old")
    saved = torch.load(tmp_path / "old" / "checkpoint.pt", weights_only=True)
    own = saved.pop("rank_rng")[0]  # the earlier format: one process's states, numpy's as an array; no scaler
    name, keys, *rest = own["rng"]["numpy"]
    saved["rng"] = {**own["rng"], "numpy": (name, np.asarray(keys, dtype=np.uint32), *rest)}
    saved["data_rng"] = own["data_rng"]
    saved.pop("scaler")
    torch.save(saved, tmp_path / "old" / "checkpoint.pt")
    assert first + _train({**training, "epochs": 2}, tmp_path / "old") == pytest.approx(whole, rel=1e-5)

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    blob = (tmp_path / "old" / "checkpoint.pt").read_bytes()
    (damaged / "checkpoint.pt").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match=r"checkpoint.pt: not a readable training checkpoint"):
        _train(training, damaged)


# --- convert and embed ----------------------------------------------------------------------------
@pytest.fixture
def scores(tmp_path) -> Path:
    """A book of three tunes, a MusicXML score, MIDI files and interleaved ABC, in two folders."""
    source = tmp_path / "scores"
    (source / "midi").mkdir(parents=True)
    shutil.copy(DATA / "scores" / "essen_book.abc", source / "essen_book.abc")
    shutil.copy(DATA / "scores" / "bwv10.7.mxl", source / "bwv10.7.mxl")
    for midi in sorted((CONVERT / "midi").glob("*.mid"))[:5]:
        shutil.copy(midi, source / "midi" / midi.name)
    for abc in sorted((CONVERT / "abc_official").glob("*.abc"))[:3]:
        shutil.copy(abc, source / abc.name)
    return source


def _assert_finished_outputs_match(out: Path, expected: dict[str, Path], equal, plan) -> None:
    for name, path in outputs(out).items():
        assert name in expected, (plan, name)
        equal(path, expected[name], (plan, name))


def test_convert_killed_leaves_only_whole_files_and_a_rerun_completes(tmp_path, scores):
    from clamp3.convert import convert_files

    def same_text(path, reference, message):
        assert path.read_bytes() == reference.read_bytes(), message

    convert_files([scores], tmp_path / "reference", progress=False)
    expected = outputs(tmp_path / "reference")
    assert len(expected) == 12 and {"essen_book#1.abc", "essen_book#2.abc", "essen_book#3.abc"} <= set(expected)
    rng = random.Random(3)
    out = tmp_path / "out"
    plans = [{"at": "write", "nth": rng.randint(1, 3)},
             {"at": "create", "match": "essen_book#2", "nth": 1}, {"at": "rename", "match": "essen_book#2", "nth": 1},  # inside the book
             {"at": "rename", "nth": rng.randint(4, 7)}]
    for plan in plans:
        run_killed(plan, ["convert", scores, "--out", out, "-q"])
        _assert_finished_outputs_match(out, expected, same_text, plan)
    assert temporary_files(out)  # left by the kills; the next run finishes their files and removes them
    before = set(outputs(out))
    report = convert_files([scores], out, progress=False)
    assert not report.failures
    assert {p.relative_to(out).as_posix() for p in report.written} >= set(expected) - before
    assert set(outputs(out)) == set(expected) and not temporary_files(out)
    _assert_finished_outputs_match(out, expected, same_text, "after the rerun")
    assert not convert_files([scores], out, progress=False).written


def _same_vector(path, reference, message):
    np.testing.assert_allclose(np.load(path), np.load(reference), atol=1e-5, err_msg=str(message))


def _embed(source: Path, out: Path, weights: Path) -> list[str]:
    return ["embed", str(source), "--out", str(out), "--global", "--weights", str(weights), "-q"]


def test_embed_killed_leaves_only_whole_vectors_and_a_rerun_completes(tmp_path, scores, tiny_model_dir):
    from clamp3.cli import main

    source = tmp_path / "inputs"
    source.mkdir()
    for path in ("essen_book.abc", *(p.name for p in scores.glob("*.abc") if p.name != "essen_book.abc")):
        shutil.copy(scores / path, source / path)
    for mtf in sorted((CONVERT / "mtf_official").glob("*.mtf"))[:3]:
        shutil.copy(mtf, source / mtf.name)
    shutil.copy(GOLDEN / "embed_tiny" / "inputs" / "text_short.txt", source / "text_short.txt")
    assert main(_embed(source, tmp_path / "reference", tiny_model_dir)) == 0
    expected = outputs(tmp_path / "reference")
    assert len(expected) == 10
    rng = random.Random(5)
    out = tmp_path / "out"
    plans = [{"at": "call", "target": "clamp3.models.clamp3:CLaMP3Model.hidden", "nth": rng.randint(1, 2), "delay": 0.001},
             {"at": "write", "nth": rng.randint(1, 4)}, {"at": "rename", "nth": rng.randint(1, 3)}]
    for plan in plans:
        run_killed(plan, _embed(source, out, tiny_model_dir))
        _assert_finished_outputs_match(out, expected, _same_vector, plan)
    assert main(_embed(source, out, tiny_model_dir)) == 0
    assert set(outputs(out)) == set(expected)
    _assert_finished_outputs_match(out, expected, _same_vector, "after the rerun")


def test_embed_killed_between_the_tunes_of_a_book_writes_the_book_again(tmp_path, tiny_model_dir):
    from clamp3.cli import main

    source = tmp_path / "inputs"
    source.mkdir()
    shutil.copy(DATA / "scores" / "essen_book.abc", source / "essen_book.abc")
    out = tmp_path / "out"
    run_killed({"at": "create", "match": "essen_book#2", "nth": 1}, _embed(source, out, tiny_model_dir))
    assert main(_embed(source, out, tiny_model_dir)) == 0
    assert set(outputs(out)) == {"essen_book#1.npy", "essen_book#2.npy", "essen_book#3.npy"}
    assert not temporary_files(out)


# --- safe loading ---------------------------------------------------------------------------------
def test_the_package_loads_weights_only_safely():
    """Every torch.load in clamp3/ passes weights_only=True; no pickle.load, no np.load(allow_pickle=True)."""
    import ast

    import clamp3

    unsafe = []
    for path in sorted(Path(clamp3.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            function = ast.unparse(node.func)
            options = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            if (function == "torch.load" and options.get("weights_only") is not True) or function in ("pickle.load", "pickle.loads") or (
                function == "np.load" and options.get("allow_pickle") is True
            ):
                unsafe.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert not unsafe
