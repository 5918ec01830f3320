"""Training on tiny configs: the loss falls, 8 pairs are learnt to MRR 1.0, a resumed run equals
an uninterrupted one, and bad data is counted by line."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from conftest import DATA, GOLDEN

from clamp3.cli import main
from clamp3.errors import ConfigError
from clamp3.models import load_model
from clamp3.training import TrainConfig, train
from clamp3.training.data import read_pairs, remove_instrument_names
from clamp3.training.loss import contrastive_loss

TEXTS = [
    "A lively Irish jig in 6/8 for fiddle.", "A slow air from Scotland, played on the pipes.",
    "Ein deutsches Volkslied aus dem Elsass.", "Chanson populaire lorraine, gaie et dansante.",
    "Una canción popular española con guitarra.", "Un madrigale italiano a cinque voci.",
    "Piano sonata by Mozart in C major, allegro.", "String quartet by Haydn, minuet and trio.",
]


@pytest.fixture
def pairs_file(tmp_path):
    scores = sorted((GOLDEN / "convert" / "abc_official").glob("bach__*.abc"))[:8]
    lines = []
    for i, (text, score) in enumerate(zip(TEXTS, scores)):
        shutil.copy(score, tmp_path / f"s{i}.abc")
        lines.append(json.dumps({"id": str(i), "filepaths": [f"s{i}.abc"], "analysis": text,
                                 "translations": {"language": "English", "German": text}}))
    (tmp_path / "train.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "train.jsonl"


def config(pairs_file, out, **overrides):
    values = dict(train_data=str(pairs_file), eval_data=str(pairs_file), output_dir=str(out), weights=str(overrides.pop("weights")),
                  batch_size=8, learning_rate=2e-3, warmup_steps=1, epochs=40, text_dropout=False, checkpoint_every=1000)
    values.update(overrides)
    return TrainConfig(**values)


def test_overfits_eight_pairs_to_mrr_one(pairs_file, tmp_path, tiny_model_dir):
    events = []
    final = train(config(pairs_file, tmp_path / "run", weights=tiny_model_dir), on_event=events.append)
    losses = [e["loss"] for e in events if e["event"] == "step"]
    evals = [e for e in events if e["event"] == "eval"]
    assert losses[-1] < losses[0] * 0.5
    assert evals[-1]["mrr"] == 1.0
    assert (tmp_path / "run" / "best" / "model.safetensors").exists()
    reloaded = load_model(final)  # the result is a model in the project's format
    assert reloaded.config.symbolic.hidden_size == 64


def test_resume_gives_the_same_losses(pairs_file, tmp_path, tiny_model_dir):
    def losses(out, **extra):
        events = []
        train(config(pairs_file, out, weights=tiny_model_dir, text_dropout=True, batch_size=4, epochs=3, **extra), on_event=events.append)
        return [e["loss"] for e in events if e["event"] == "step"]

    whole = losses(tmp_path / "whole")
    first = losses(tmp_path / "split", max_steps=3)
    rest = losses(tmp_path / "split")  # picks up checkpoint.pt
    assert len(whole) == 6 and first + rest == pytest.approx(whole, rel=1e-5)


def test_bad_data_is_counted_by_line(tmp_path, pairs_file, tiny_model_dir, caplog):
    lines = pairs_file.read_text().splitlines()
    lines += ["{not json", json.dumps({"filepaths": ["missing.abc"], "analysis": "x"}), json.dumps({"filepaths": ["s0.abc"], "analysis": ""})]
    shutil.copy(DATA / "bad" / "nobars.abc", pairs_file.parent / "bad.abc")
    lines.append(json.dumps({"filepaths": ["bad.abc"], "analysis": "no bars"}))
    (pairs_file.parent / "messy.jsonl").write_text("\n".join(lines) + "\n")
    pairs, report = read_pairs(pairs_file.parent / "messy.jsonl")
    assert [b.split(": ", 1)[0].rsplit(":", 1)[1] for b in report.bad] == ["9", "10", "11"]
    assert len(pairs) == 9
    with pytest.raises(ConfigError, match="bad lines"):
        train(config(pairs_file.parent / "messy.jsonl", tmp_path / "r", weights=tiny_model_dir, max_bad_fraction=0.2))
    events = []
    train(config(pairs_file.parent / "messy.jsonl", tmp_path / "r2", weights=tiny_model_dir, max_bad_fraction=0.5, max_steps=1), on_event=events.append)
    assert events[-1]["event"] == "done"


def test_cli_main_trains_with_overrides(pairs_file, tmp_path, tiny_model_dir):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"train_data: {pairs_file}\nweights: {tiny_model_dir}\nbatch_size: 4\nwarmup_steps: 1\n")
    assert main(["train", "clamp3", "--config", str(cfg), f"output_dir={tmp_path / 'cli'}", "max_steps=2", "-q"]) == 0
    steps = [json.loads(line) for line in (tmp_path / "cli" / "metrics.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps if s["event"] == "step"] == [1, 2]
    assert main(["train", "clamp3", "--config", str(cfg), "nonsense=1"]) == 2


def test_loss_and_instrument_removal():
    text, music = torch.eye(4) * 10, torch.eye(4) * 10
    assert contrastive_loss(text, music) < 1e-3 < contrastive_loss(text, music.flip(0))
    abc = 'V:1 treble nm="Violin" snm="Vl"\nV:2 bass\n[V:1]c|[V:2]C|\n'
    assert remove_instrument_names(abc) == "V:1 treble\nV:2 bass\n[V:1]c|[V:2]C|\n"
    assert remove_instrument_names("ticks_per_beat 96\nprogram_change 0 0 41\nnote_on 0 0 60 80") == (
        "ticks_per_beat 96\nprogram_change 0 0 0\nnote_on 0 0 60 80")
