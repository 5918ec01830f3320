"""Batch jobs in parts: ``--shard I/N`` (a shell loop, a job array) and ``--shard auto`` under
torchrun split the files of convert / embed / index add into disjoint parts that together do
what one run does; reading ahead of the model is bounded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, GOLDEN

from clamp3 import formats
from clamp3.cli import main
from clamp3.errors import ConfigError
from clamp3.io import Shard

INPUTS = GOLDEN / "embed_tiny" / "inputs"


def test_shard_specs(monkeypatch):
    assert Shard.parse("2/3") == Shard(2, 3)
    for bad in ("3/3", "-1/2", "1", "a/b", "1/0"):
        with pytest.raises(ConfigError, match="expected I/N with 0 <= I < N"):
            Shard.parse(bad)
    monkeypatch.setenv("RANK", "5")
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert Shard.parse("auto") == Shard(5, 8)
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert Shard.parse("auto") == Shard(0, 1)


def test_parts_are_disjoint_cover_every_file_and_follow_the_relative_path():
    files = [(Path("/a/corpus") / f"folder{i % 7}" / f"piece{i}.mid", Path("/a/corpus")) for i in range(1000)]
    parts = [Shard(i, 4).select(files) for i in range(4)]
    assert sorted(f for part in parts for f, _ in part) == sorted(f for f, _ in files)
    assert all(150 < len(part) < 350 for part in parts)  # a hash spreads them
    # the same tree under another mount point splits the same way (a job across machines)
    moved = [(Path("/mnt/x") / f.relative_to(base), Path("/mnt/x")) for f, base in files]
    assert [f.name for f, _ in Shard(1, 4).select(moved)] == [f.name for f, _ in parts[1]]


def test_embed_in_two_parts_writes_what_one_run_writes(tiny_model_dir, tmp_path, capsys):
    common = ["--global", "--weights", str(tiny_model_dir), "-q"]
    assert main(["embed", str(INPUTS), "--out", str(tmp_path / "one"), *common]) == 0
    counts = []
    for part in ("0/2", "1/2"):
        assert main(["embed", str(INPUTS), "--out", str(tmp_path / "parts"), "--shard", part, *common]) == 0
        summary = capsys.readouterr().err.strip().splitlines()[-1]
        counts.append(int(summary.split()[1].rstrip(",")))
    one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.npy"))
    parts = sorted(p.relative_to(tmp_path / "parts") for p in (tmp_path / "parts").rglob("*.npy"))
    assert parts == one and sum(counts) == len(one) and min(counts) > 0
    for name in one:  # batched with other segments: equal to float rounding
        np.testing.assert_allclose(np.load(tmp_path / "parts" / name), np.load(tmp_path / "one" / name), atol=1e-6)


def test_convert_in_parts(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("bwv10.7.mxl", "bwv277.krn", "essen_book.abc"):
        shutil.copy(DATA / "scores" / name, src / name)
    shutil.copy(GOLDEN / "convert" / "midi" / "bwv323.mid", src / "bwv323.mid")
    for part in ("0/3", "1/3", "2/3"):
        assert main(["convert", str(src), "--out", str(tmp_path / "out"), "--shard", part, "-q"]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["bwv10.7.abc", "bwv277.abc", "bwv323.mtf", "essen_book#1.abc", "essen_book#2.abc", "essen_book#3.abc"]


@pytest.mark.parametrize("command", ["embed", "convert", "index"])
def test_several_processes_without_shard_are_refused(command, tmp_path, monkeypatch, capsys, tiny_model_dir):
    monkeypatch.setenv("WORLD_SIZE", "2")
    args = {
        "embed": ["embed", str(INPUTS), "--out", str(tmp_path / "out"), "--weights", str(tiny_model_dir)],
        "convert": ["convert", str(INPUTS), "--out", str(tmp_path / "out")],
        "index": ["index", "add", str(INPUTS), "--index", str(tmp_path / "lib"), "--weights", str(tiny_model_dir)],
    }[command]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "runs in 2 processes (WORLD_SIZE=2) without --shard" in err and "--shard auto" in err
    assert not (tmp_path / "out").exists()


def test_torchrun_fills_one_library_from_two_processes(tiny_model_dir, tmp_path):
    """``torchrun --nproc_per_node=2 -m clamp3.cli index add ... --shard auto``: two writers, one
    library, every file once; the same items as one process adds."""
    from clamp3.library import Library

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "clamp3.cli",
         "index", "add", str(INPUTS), "--index", str(tmp_path / "two"), "--shard", "auto", "--chunk-files", "2",
         "--weights", str(tiny_model_dir), "-q"],
        capture_output=True, text=True, env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("added ") == 2  # one summary per process
    assert main(["index", "add", str(INPUTS), "--index", str(tmp_path / "one"), "--weights", str(tiny_model_dir), "-q"]) == 0

    def items(folder):
        library = Library(folder)
        return {(item.name, item.modality): library.vectors_of([item.id])[0] for item in library.items()}

    two, one = items(tmp_path / "two"), items(tmp_path / "one")
    assert sorted(two) == sorted(one) and len(one) == len(list(INPUTS.iterdir()))
    for key in one:
        np.testing.assert_allclose(two[key], one[key], atol=1e-6)


class _CountingPool(formats.ProcessPoolExecutor):
    submitted = 0

    def submit(self, *args, **kwargs):
        type(self).submitted += 1
        return super().submit(*args, **kwargs)


def test_reading_ahead_of_the_caller_is_bounded(monkeypatch):
    paths = sorted(INPUTS.glob("*.abc")) * 8 + sorted(INPUTS.glob("*.mtf")) * 8  # 40 files
    monkeypatch.setattr(formats, "ProcessPoolExecutor", _CountingPool)
    reader = formats.read_many(paths, workers=2, ahead=5)
    first = next(reader)
    assert _CountingPool.submitted == 6  # the five ahead, and one more as the first is taken
    rest = list(reader)
    assert _CountingPool.submitted == 40
    sequential = list(formats.read_many(paths, workers=0))
    assert [(p, [i.data for i in items]) for p, items, _ in [first, *rest]] == [(p, [i.data for i in items]) for p, items, _ in sequential]
