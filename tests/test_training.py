"""Training on tiny configs: the loss falls, 8 pairs are learnt to MRR 1.0, a resumed run equals
an uninterrupted one, and bad data is counted by line."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil

import pytest
import torch
from conftest import DATA, GOLDEN, TINY_TEXT_MODEL
from support import write_pairs

from clamp3.cli import main
from clamp3.errors import ConfigError
from clamp3.models import load_model
from clamp3.training import TrainConfig, train
from clamp3.training.data import read_pairs, remove_instrument_names
from clamp3.training.loss import contrastive_loss


@pytest.fixture
def pairs_file(tmp_path):
    return write_pairs(tmp_path)


def config(pairs_file, out, **overrides):
    values = dict(train_data=str(pairs_file), eval_data=str(pairs_file), output_dir=str(out), weights=str(overrides.pop("weights")),
                  batch_size=8, learning_rate=2e-3, warmup_steps=1, epochs=40, text_dropout=False, checkpoint_every=1000)
    values.update(overrides)
    return TrainConfig(**values)


def test_overfits_eight_pairs_to_mrr_one(pairs_file, tmp_path, tiny_model_dir):
    events = []
    # No dropout and a rate at which every seed tried (0-5) ends at MRR 1.0: with dropout 0.1 and a rate of
    # 2e-3 the last evaluation swung between 0.875 and 1.0 with the random stream alone.
    run = config(pairs_file, tmp_path / "run", weights=tiny_model_dir, export_official=True, dropout=0.0, learning_rate=1e-3, epochs=80)
    final = train(run, on_event=events.append)
    losses = [e["loss"] for e in events if e["event"] == "step"]
    evals = [e for e in events if e["event"] == "eval"]
    assert losses[-1] < losses[0] * 0.5
    assert evals[-1]["mrr"] == 1.0
    assert (tmp_path / "run" / "best" / "model.safetensors").exists()
    assert "learning_rate: 0.001" in (tmp_path / "run" / "config.yaml").read_text()
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
    reloaded = load_model(final)  # the result is a model in the project's format
    assert reloaded.config.symbolic.hidden_size == 64
    official = load_model(final / "clamp3_official.pth", text_model=str(TINY_TEXT_MODEL))
    for (name, a), (_, b) in zip(official.state_dict().items(), reloaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_resume_gives_the_same_losses(pairs_file, tmp_path, tiny_model_dir):
    def losses(out, **extra):
        events = []
        train(config(pairs_file, out, weights=tiny_model_dir, text_dropout=True, batch_size=4, epochs=3, **extra), on_event=events.append)
        return [e["loss"] for e in events if e["event"] == "step"]

    whole = losses(tmp_path / "whole")
    first = losses(tmp_path / "split", max_steps=3)
    rest = losses(tmp_path / "split")  # picks up checkpoint.pt
    assert len(whole) == 6 and first + rest == pytest.approx(whole, rel=1e-5)


def test_pairs_can_be_confined_to_folders(tmp_path, pairs_file):
    """Issue 16: a pair's music path was joined to the data file's folder and followed anywhere
    ('../', absolute paths), and the log then told whether a file existed there."""
    secret = pairs_file.parent.parent / f"{pairs_file.parent.name}-secret"  # beside the data's folder, outside it
    secret.mkdir()
    shutil.copy(pairs_file.parent / "s0.abc", secret / "exists.abc")
    (pairs_file.parent / "link.abc").symlink_to(secret / "exists.abc")
    lines = pairs_file.read_text().splitlines()
    up = f"../{secret.name}"
    for name in (f"{up}/exists.abc", f"{up}/absent.abc", str(secret / "exists.abc"), "link.abc"):
        lines.append(json.dumps({"filepaths": [name], "analysis": "x"}))
    (pairs_file.parent / "escape.jsonl").write_text("\n".join(lines) + "\n")
    everything, _ = read_pairs(pairs_file.parent / "escape.jsonl")
    assert len(everything) == 11  # unconfined, as the official scripts: 8 good pairs and 3 existing files
    pairs, report = read_pairs(pairs_file.parent / "escape.jsonl", roots=[pairs_file.parent])
    assert len(pairs) == 8 and len(report.bad) == 4
    assert all(line.endswith("lies outside the allowed folders") for line in report.bad)
    assert not any("missing" in line for line in report.bad)  # no word on whether the file exists


def test_bad_data_is_counted_by_line(tmp_path, pairs_file, tiny_model_dir, caplog):
    lines = pairs_file.read_text().splitlines()
    lines += ["{not json", json.dumps({"filepaths": ["missing.abc"], "analysis": "x"}), json.dumps({"filepaths": ["s0.abc"], "analysis": ""})]
    shutil.copy(DATA / "bad" / "nobars.abc", pairs_file.parent / "bad.abc")
    lines.append(json.dumps({"filepaths": ["bad.abc"], "analysis": "no bars"}))
    (pairs_file.parent / "messy.jsonl").write_text("\n".join(lines) + "\n")
    pairs, report = read_pairs(pairs_file.parent / "messy.jsonl")
    assert [b.split(": ", 1)[0].rsplit(":", 1)[1] for b in report.bad] == ["9", "10", "11"]
    assert len(pairs) == 9
    with pytest.raises(ConfigError, match=r"33% of .*messy.jsonl is bad data, over max_bad_fraction=0.2"):
        train(config(pairs_file.parent / "messy.jsonl", tmp_path / "r", weights=tiny_model_dir, max_bad_fraction=0.2))
    events = []
    train(config(pairs_file.parent / "messy.jsonl", tmp_path / "r2", weights=tiny_model_dir, max_bad_fraction=0.5, max_steps=1), on_event=events.append)
    assert events[-1]["event"] == "done"


def test_training_data_with_no_music_that_reads_is_refused_in_one_line(tmp_path, pairs_file, tiny_model_dir):
    """Pairs whose music files are all missing (a pairs file copied away from its music: paths are
    read beside it) were read, then the music projection's whitening failed on an empty list
    (``torch.cat(): expected a non-empty list``); the data is judged before anything is spent on it."""
    moved = tmp_path / "elsewhere" / "moved.jsonl"
    moved.parent.mkdir()
    moved.write_text(pairs_file.read_text())
    with pytest.raises(ConfigError, match=r"100% of .*moved.jsonl is bad data, over max_bad_fraction=0.1; the first: .*moved.jsonl:1: missing"):
        train(config(moved, tmp_path / "r", weights=tiny_model_dir, eval_data="", whiten_music=4))
    with pytest.raises(ConfigError, match=r"moved.jsonl: no usable training example; the first: .*moved.jsonl:1: missing"):
        train(config(moved, tmp_path / "r", weights=tiny_model_dir, eval_data="", whiten_music=4, max_bad_fraction=1.0))
    assert not (tmp_path / "r" / "final").exists()


def test_cli_main_trains_with_overrides(pairs_file, tmp_path, tiny_model_dir):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"train_data: {pairs_file}\nweights: {tiny_model_dir}\nbatch_size: 4\nwarmup_steps: 1\n")
    assert main(["train", "clamp3", "--config", str(cfg), f"output_dir={tmp_path / 'cli'}", "max_steps=2", "-q"]) == 0
    steps = [json.loads(line) for line in (tmp_path / "cli" / "metrics.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps if s["event"] == "step"] == [1, 2]
    assert main(["train", "clamp3", "--config", str(cfg), "nonsense=1"]) == 2
    # the extractor the data's audio features came from is named by the model the run saves, for the app to extract alike
    assert json.loads((tmp_path / "cli" / "final" / "config.json").read_text())["audio_extractor"] != "spectral-v2"
    assert main(["train", "clamp3", "--config", str(cfg), f"output_dir={tmp_path / 'v2'}", "max_steps=1", "audio_extractor=spectral-v2", "-q"]) == 0
    assert json.loads((tmp_path / "v2" / "final" / "config.json").read_text())["audio_extractor"] == "spectral-v2"
    assert main(["train", "clamp3", "--config", str(cfg), "audio_extractor=spectral-v3"]) == 2


def test_settings_take_their_field_types_and_read_from_yaml_then_overrides(tmp_path):
    """Text as YAML, forms and overrides give it becomes the field's type; a value that is not
    one is an error naming the field and the value; a YAML file, then key=value, then fixed values."""
    import re

    import yaml

    cfg = TrainConfig(train_data="x", learning_rate="1e-3", epochs="3", normalize="true", augment="false", dropout="null",
                      text_model="None", logit_scale=14)
    assert (cfg.learning_rate, cfg.epochs, cfg.normalize, cfg.augment, cfg.dropout, cfg.text_model) == (1e-3, 3, True, False, None, None)
    assert isinstance(cfg.logit_scale, float) and TrainConfig(train_data="x", dropout="0.1").dropout == 0.1
    for field, value, message in [("epochs", "three", "epochs must be a whole number, got 'three'"),
                                  ("learning_rate", "fast", "learning_rate must be a number, got 'fast'"),
                                  ("normalize", "maybe", "normalize must be true or false, got 'maybe'"),
                                  ("dropout", [0.1], "dropout must be a number, got [0.1]"),
                                  ("weights", None, "weights must be text, got None")]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            TrainConfig(train_data="x", **{field: value})
    path = tmp_path / "cfg.yaml"
    path.write_text("objective: m3\ntrain_data: pairs.jsonl\nlearning_rate: 1e-3\nepochs: 2\n")  # YAML reads 1e-3 as text
    cfg = TrainConfig.from_yaml(path, ["epochs=5", "dropout=0.1", "text_model=null"], objective="clamp3")
    assert (cfg.learning_rate, cfg.epochs, cfg.dropout, cfg.text_model, cfg.objective) == (1e-3, 5, 0.1, None, "clamp3")
    assert TrainConfig.from_yaml(None, ["train_data=p"]) == TrainConfig(train_data="p")
    path.write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))  # as a run records its settings
    assert TrainConfig.from_yaml(path) == cfg


def test_loss_and_instrument_removal():
    text, music = torch.eye(4) * 10, torch.eye(4) * 10
    assert contrastive_loss(text, music) < 1e-3 < contrastive_loss(text, music.flip(0))
    abc = 'V:1 treble nm="Violin" snm="Vl"\nV:2 bass\n[V:1]c|[V:2]C|\n'
    assert remove_instrument_names(abc) == "V:1 treble\nV:2 bass\n[V:1]c|[V:2]C|\n"
    assert remove_instrument_names("ticks_per_beat 96\nprogram_change 0 0 41\nnote_on 0 0 60 80") == (
        "ticks_per_beat 96\nprogram_change 0 0 0\nnote_on 0 0 60 80")


def test_m3_pretraining_learns_and_its_checkpoint_starts_clamp3(pairs_file, tmp_path, tiny_model_dir):
    from clamp3.models import load_m3
    from clamp3.training.m3 import mask_patches

    folder = GOLDEN / "convert"
    events = []
    settings = dict(objective="m3", train_data=f"{folder / 'abc_official'},{folder / 'mtf_official'}", weights="new",
                    output_dir=str(tmp_path / "m3"), m3_hidden=64, m3_layers=2, m3_decoder_layers=1, m3_max_patches=32,
                    batch_size=8, learning_rate=3e-3, warmup_steps=1, epochs=2, max_steps=25, checkpoint_every=1000)
    final = train(TrainConfig(**settings), on_event=events.append)
    losses = [e["loss"] for e in events if e["event"] == "step"]
    assert len(losses) == 25 and sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5
    m3 = load_m3(final / "m3.pth")
    assert m3.encoder_config.hidden_size == 64 and m3.encoder_config.max_length == 32
    # a CLaMP 3 run starts its symbolic tower from it
    run = config(pairs_file, tmp_path / "c", weights=tiny_model_dir, init_m3=str(final / "m3.pth"), max_steps=1)
    from clamp3.training.contrastive import ContrastiveTask

    task = ContrastiveTask(run)
    for (name, a), (_, b) in zip(task.model.symbolic_model.state_dict().items(), m3.encoder.state_dict().items()):
        assert torch.equal(a, b), name
    # masking follows the official proportions and keeps the closing patch's many EOS codes intact
    import random

    patches = torch.arange(20 * 8).reshape(20, 8) % 100 + 4
    corrupted, selected = mask_patches(patches, random.Random(0), train=False)
    assert int(selected.sum()) == 9 and torch.equal(corrupted, patches)


def test_two_processes_under_torchrun_train_like_one(pairs_file, tmp_path, tiny_model_dir):
    """Two gloo ranks with 4 pairs each take the steps of one process with 8 (randomness off)."""
    import os
    import subprocess
    import sys

    common = [f"train_data={pairs_file}", f"weights={tiny_model_dir}", "warmup_steps=1", "learning_rate=1e-3",
              "text_dropout=false", "augment=false", "dropout=0.0", "max_steps=3", "epochs=3", "-q"]
    single = subprocess.run([sys.executable, "-m", "clamp3.cli", "train", "clamp3", f"output_dir={tmp_path / 'one'}", "batch_size=8", *common],
                            capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    double = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "clamp3.cli",
                             "train", "clamp3", f"output_dir={tmp_path / 'two'}", "batch_size=4", *common], capture_output=True, text=True, env=env)
    assert double.returncode == 0, double.stderr[-2000:]

    def losses(folder):
        events = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
        return [e["loss"] for e in events if e["event"] == "step"]

    assert losses(tmp_path / "two") == pytest.approx(losses(tmp_path / "one"), rel=1e-4)


def test_two_processes_resume_exactly_with_dropout_on(pairs_file, tmp_path, tiny_model_dir):
    """A 2-rank run stopped at step 2 and resumed equals an uninterrupted one with dropout, text
    dropout and augmentation on: every rank gets its own random states back from checkpoint.pt."""
    import os
    import subprocess
    import sys

    from safetensors.torch import load_file

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = [f"train_data={pairs_file}", f"weights={tiny_model_dir}", "warmup_steps=1", "learning_rate=2e-3", "batch_size=2",
              "epochs=2", "text_dropout=true", "tensorboard=false", "-q"]

    def run(out, *extra):
        done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "clamp3.cli",
                               "train", "clamp3", f"output_dir={out}", *common, *extra], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr[-2000:]

    run(tmp_path / "whole")
    run(tmp_path / "split", "max_steps=2")
    saved = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)
    states = [own["rng"]["torch"] for own in saved["rank_rng"]]
    assert len(states) == 2 and not torch.equal(*states)  # each rank's dropout stream
    # nodes that do not share output_dir: rank 0 finds the checkpoint, rank 1 none; both stop
    shutil.copytree(tmp_path / "split", tmp_path / "node0")
    apart = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "--no-python", "sh", "-c",
                            f'exec "{sys.executable}" -m clamp3.cli train clamp3 output_dir={tmp_path}/node$LOCAL_RANK "$@"', "sh", *common],
                           capture_output=True, text=True, env=env)
    assert apart.returncode != 0 and "the ranks found different checkpoints" in apart.stderr and "[2, None]" in apart.stderr
    run(tmp_path / "split")
    whole, split = (load_file(tmp_path / name / "final" / "model.safetensors") for name in ("whole", "split"))
    start = load_file(tiny_model_dir / "model.safetensors")
    assert any(not torch.equal(whole[k], start[k]) for k in whole)  # it trained
    for key in whole:
        assert torch.equal(whole[key], split[key]), key


def test_length_buckets_keep_every_example_once_and_group_lengths(pairs_file, tmp_path, tiny_model_dir):
    from clamp3.training.contrastive import ContrastiveTask
    from clamp3.training.task import epoch_order

    run = config(pairs_file, tmp_path / "b", weights=tiny_model_dir, batch_size=2, length_buckets=4)
    task = ContrastiveTask(run)
    order = epoch_order(task, run, 0, 2)
    assert sorted(order) == list(range(8))
    lengths = task.lengths()
    batches = [order[i : i + 2] for i in range(0, 8, 2)]
    spread = sum(abs(lengths[a] - lengths[b]) for a, b in batches)
    plain = epoch_order(task, config(pairs_file, tmp_path / "p", weights=tiny_model_dir, batch_size=2), 0, 2)
    assert spread <= sum(abs(lengths[a] - lengths[b]) for a, b in (plain[i : i + 2] for i in range(0, 8, 2)))


def test_frozen_text_tower_is_run_once_per_text_and_still_learns(pairs_file, tmp_path, tiny_model_dir):
    """freeze_text_model: the tower's pooled outputs are cached, its projection and the music tower train."""
    from clamp3.training.contrastive import ContrastiveTask

    cfg = config(pairs_file, tmp_path / "run", weights=tiny_model_dir, freeze_text_model=True, text_sampling="one",
                 text_dropout=True, augment=False, normalize=True, logit_scale=10.0, epochs=30)
    task = ContrastiveTask(cfg)
    tower_before = {k: v.clone() for k, v in task.model.text_model.state_dict().items()}
    calls = []
    original = task.model.text_hidden
    task.model.text_hidden = lambda ids, mask: calls.append(len(ids)) or original(ids, mask)
    first = float(task.loss(list(range(8))).detach())
    assert sum(calls) <= 16  # each pair has two candidate texts (analysis and its German copy)
    for _ in range(3):
        task.loss(list(range(8)))
    assert sum(calls) <= 16 and len(task.pooled_texts) <= 16
    reference = task.model.text_proj(task.pooled_texts(*_batch(task, range(8))))
    assert torch.allclose(reference, task.model.encode_text(*_batch(task, range(8))), atol=1e-5)
    events = []
    train(cfg, on_event=events.append)
    losses = [e["loss"] for e in events if e["event"] == "step"]
    assert losses[-1] < first * 0.5
    trained = load_model(tmp_path / "run" / "final")
    for key, value in trained.text_model.state_dict().items():
        assert torch.equal(value, tower_before[key]), key


def test_text_cache_persists_the_frozen_tower_between_runs(pairs_file, tmp_path, tiny_model_dir):
    """text_cache: every training text is computed before the first step and saved; a second run
    (another stage, a rerun) reads them back and runs the text tower on nothing; a file of
    another tower is ignored."""
    from clamp3.training.contrastive import ContrastiveTask
    from clamp3.training.frozen import TextCache

    cache = tmp_path / "texts.safetensors"
    cfg = config(pairs_file, tmp_path / "a", weights=tiny_model_dir, freeze_text_model=True, text_sampling="one",
                 text_cache=str(cache), augment=False, normalize=True, logit_scale=10.0, epochs=2)
    first = ContrastiveTask(cfg)
    assert len(first.pooled_texts) == 8 and cache.exists()  # 8 analyses; the German copies are the same texts
    stored = TextCache(cache, first.model.text_model)
    assert set(stored.vectors) == set(first.pooled_texts)
    for key, vector in first.pooled_texts.items():
        assert torch.equal(stored.vectors[key], vector)
    second = ContrastiveTask(cfg)
    calls = []
    second.model.text_hidden = lambda ids, mask: calls.append(len(ids))
    second.loss(list(range(8)))
    assert calls == []
    other = torch.nn.Linear(3, 3)  # another tower: the cache starts empty
    assert TextCache(cache, other).vectors == {}


def test_cosine_schedule_and_clipping_reach_the_end(pairs_file, tmp_path, tiny_model_dir):
    events = []
    train(config(pairs_file, tmp_path / "run", weights=tiny_model_dir, epochs=6, warmup_steps=2, lr_schedule="cosine",
                 max_grad_norm=1.0, learnable_temperature=True, logit_scale=50.0), on_event=events.append)
    rates = [e["lr"] for e in events if e["event"] == "step"]
    assert rates[1] == pytest.approx(2e-3 * 0.5 * (1 + math.cos(math.pi * 2 / 6)))
    assert max(rates) <= 2e-3 and rates[-1] < 1e-9
    with pytest.raises(ConfigError, match="lr_schedule"):
        TrainConfig(train_data="x", lr_schedule="linear")


def test_text_prior_adjusts_only_the_music_to_text_direction():
    """Logit adjustment against a loop: music -> text logits lose each text's log prior; a prior
    equal for every text changes nothing (softmax is shift-invariant)."""
    generator = torch.Generator().manual_seed(0)
    text, music = torch.randn(5, 4, generator=generator), torch.randn(5, 4, generator=generator)
    prior = torch.log(torch.tensor([0.5, 0.2, 0.1, 0.1, 0.1]))
    expected = 0.0
    for i in range(5):
        row = torch.tensor([2.0 * float(text[i] @ music[j]) for j in range(5)])
        column = torch.tensor([2.0 * float(text[j] @ music[i]) - float(prior[j]) for j in range(5)])
        expected += float(-torch.log_softmax(row, 0)[i] - torch.log_softmax(column, 0)[i]) / 10
    assert float(contrastive_loss(text, music, 2.0, prior)) == pytest.approx(expected, rel=1e-5)
    assert float(contrastive_loss(text, music, 2.0, torch.full((5,), -3.0))) == pytest.approx(float(contrastive_loss(text, music, 2.0)), rel=1e-6)


def test_text_prior_counts_each_text_by_how_often_it_is_drawn(tmp_path, tiny_model_dir):
    from clamp3.training.contrastive import ContrastiveTask
    from clamp3.training.frozen import text_key

    scores = sorted((GOLDEN / "convert" / "abc_official").glob("bach__*.abc"))[:4]
    lines = []
    own = ["a lively jig", "a slow air", "a sad reel", "an old hornpipe"]
    for i, score in enumerate(scores):  # every pair: the shared short text and a text of its own
        shutil.copy(score, tmp_path / f"s{i}.abc")
        lines.append(json.dumps({"id": str(i), "filepaths": [f"s{i}.abc"], "texts": ["a chorale", own[i]]}))
    (tmp_path / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    cfg = config(tmp_path / "pairs.jsonl", tmp_path / "run", weights=tiny_model_dir, text_sampling="one", text_prior=True)
    table, rarest = ContrastiveTask(cfg).text_log_prior
    tokenizer = load_model(tiny_model_dir).tokenizer
    shared = table[text_key(torch.tensor(tokenizer("a chorale")["input_ids"]))]
    assert shared == pytest.approx(math.log(0.5)) and rarest == pytest.approx(math.log(0.125))
    assert len(table) == 5
    with pytest.raises(ConfigError, match="text_prior"):
        TrainConfig(train_data="x", text_prior=True)


def _batch(task, indices):
    from clamp3.training.data import collate

    task.data.train = False  # the evaluation text of each pair, deterministic
    ids, mask, *_ = collate([task.data[i] for i in indices], task.tokenizer.pad_token_id)
    task.data.train = True
    return ids, mask


def test_whitened_text_projection_and_cached_frozen_music(pairs_file, tmp_path, tiny_model_dir):
    """whiten_text: projected training texts start centred with equal variance per direction;
    freeze_music_model: each music input goes through the frozen tower once."""
    from clamp3.training.contrastive import ContrastiveTask

    cfg = config(pairs_file, tmp_path / "run", weights=tiny_model_dir, freeze_text_model=True, freeze_music_model=True,
                 whiten_text=100, augment=False, normalize=True)
    task = ContrastiveTask(cfg)
    texts = list(task.pooled_texts.values())
    projected = task.model.text_proj(torch.stack(texts)).detach().double()
    assert torch.allclose(projected.mean(dim=0), torch.zeros(projected.shape[1], dtype=torch.double), atol=1e-4)
    calls = []
    original = task.model.hidden
    task.model.hidden = lambda *args: calls.append(len(args[1])) or original(*args)
    for _ in range(3):
        task.loss(list(range(8)))
    assert sum(calls) <= 8 and len(task.pooled_music) <= 8
    assert not any(p.requires_grad for p in task.model.symbolic_model.parameters())


def test_whitening_init_centres_and_equalises():
    """_whitening_init: rows with a large shared mean and unequal variances come out centred, with
    covariance I / k over the spanned directions."""
    from clamp3.training.contrastive import _whitening_init

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(500, 16, generator=generator, dtype=torch.double) * torch.linspace(0.1, 3.0, 16, dtype=torch.double) + 15.0
    proj = torch.nn.Linear(16, 8)
    _whitening_init(proj, x)
    y = proj(x.float()).double().detach()
    assert torch.allclose(y.mean(dim=0), torch.zeros(8, dtype=torch.double), atol=1e-4)
    assert torch.allclose(torch.cov(y.T), torch.eye(8, dtype=torch.double) / 8, atol=1e-4)


def test_whitened_music_projection_fills_the_frozen_cache(pairs_file, tmp_path, tiny_model_dir):
    """whiten_music with a frozen music tower: the sample's pooled outputs land in the cache, and
    projected they start centred."""
    from clamp3.training.contrastive import ContrastiveTask

    cfg = config(pairs_file, tmp_path / "run", weights=tiny_model_dir, freeze_music_model=True, whiten_music=100, augment=False)
    task = ContrastiveTask(cfg)
    assert task.pooled_music
    projected = task.model.symbolic_proj(torch.stack(list(task.pooled_music.values()))).detach().double()
    assert projected.abs().sum() > 0
    assert torch.allclose(projected.mean(dim=0), torch.zeros(projected.shape[1], dtype=torch.double), atol=1e-3)


def test_text_train_layers_train_the_top_of_the_text_tower_alone(pairs_file, tmp_path, tiny_model_dir):
    """text_train_layers=1: the top text layer and the projections learn at their own rates; the
    embeddings and the layers below stay as loaded and compute without dropout."""
    from clamp3.training.contrastive import ContrastiveTask

    cfg = config(pairs_file, tmp_path / "run", weights=tiny_model_dir, text_train_layers=1, text_learning_rate=1e-4,
                 normalize=True, logit_scale=10.0, epochs=4, dropout=0.5)
    task = ContrastiveTask(cfg)
    layers = task.model.text_model.encoder.layer
    groups = task.parameter_groups()
    assert [g.get("lr") for g in groups] == [None, 1e-4]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in layers[-1].parameters()}
    task.train_mode()
    assert layers[-1].training and not layers[0].training and not task.model.text_model.embeddings.training
    before = {k: v.clone() for k, v in task.model.text_model.state_dict().items()}
    train(cfg)
    trained = load_model(tmp_path / "run" / "final")
    assert trained.config.text_tuned_layers == 1
    top = f"encoder.layer.{len(layers) - 1}."
    changed = {k for k, v in trained.text_model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(top) for k in changed)
    with pytest.raises(ConfigError, match="text_train_layers"):
        TrainConfig(train_data="x", text_train_layers=1, freeze_text_model=True)
    with pytest.raises(ConfigError, match="text_learning_rate"):
        TrainConfig(train_data="x", text_learning_rate=1e-5)
    with pytest.raises(ConfigError, match="layers"):
        ContrastiveTask(dataclasses.replace(cfg, text_train_layers=99))


def test_a_packaged_text_tower_saves_only_its_tuned_layers(pairs_file, tmp_path):
    """The embedded default (text tower from a package) trained with its top text layer: the saved
    weights hold that layer and none below it, and load back to the trained model; a weights
    file holding text layers its config does not name as tuned is refused."""
    from safetensors.torch import load_file

    from clamp3.errors import CheckpointError
    from clamp3.models import load_model as load

    cfg = config(pairs_file, tmp_path / "run", weights="default", text_train_layers=1, text_learning_rate=1e-3,
                 normalize=True, logit_scale=10.0, epochs=1, batch_size=4)
    final = train(cfg)
    saved = load_file(final / "model.safetensors")
    text_keys = {k for k in saved if k.startswith("text_model.")}
    assert text_keys and all(k.startswith("text_model.encoder.layer.11.") for k in text_keys)
    default, trained = load("default"), load(final)
    assert not torch.equal(default.text_model.encoder.layer[11].output.dense.weight, trained.text_model.encoder.layer[11].output.dense.weight)
    assert torch.equal(default.text_model.encoder.layer[10].output.dense.weight, trained.text_model.encoder.layer[10].output.dense.weight)
    for key, value in saved.items():
        assert torch.equal(trained.state_dict()[key], value), key
    config_file = json.loads((final / "config.json").read_text())
    assert config_file["text_tuned_layers"] == 1
    config_file["text_tuned_layers"] = 0
    (final / "config.json").write_text(json.dumps(config_file))
    with pytest.raises(CheckpointError, match="text_tuned_layers=0"):
        load(final)
    # a model without tuned layers keeps the config earlier versions read (the default itself has one since 2026-12-06)
    dataclasses.replace(default.config, text_tuned_layers=0).save(tmp_path / "untuned.json")
    assert "text_tuned_layers" not in json.loads((tmp_path / "untuned.json").read_text())
