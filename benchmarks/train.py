"""Training throughput of the symbolic stage: clamp3's trainer vs the official loop.

The official train_clamp3_symbolic.py pads every text to 128 tokens and every score to the
maximum patch length, batch after batch in random order. clamp3 pads each batch only to its
longest item, and with ``length_buckets`` groups items of similar length. Both run the same
model on the same pairs (real interleaved ABC and MTF files under tests/data/golden/convert with
generated descriptions) and report training samples per second.

On a CPU the model is a small one (``--hidden 256 --layers 4``: a full-size step takes minutes
on 2 cores); on a GPU pass ``--full`` for the SAAS shape and ``--precision bfloat16``.

    python benchmarks/train.py [--steps 10] [--batch-size 16] [--full] [--device cuda] [--precision bfloat16]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from clamp3.config import CLaMP3Config, EncoderConfig
from clamp3.models import CLaMP3Model, save_pretrained
from clamp3.models.loading import load_tokenizer
from clamp3.training import TrainConfig, train
from clamp3.training.contrastive import ContrastiveTask

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support import XLMR_BASE_CONFIG, randomize_  # noqa: E402

CONVERT = ROOT / "tests" / "data" / "golden" / "convert"
TOKENIZER = ROOT / "tests" / "data" / "xlmr-base-shape"


def make_pairs(folder: Path) -> Path:
    lines = []
    for i, path in enumerate(sorted(CONVERT.glob("*_official/*.*"))):
        shutil.copy(path, folder / path.name)
        kind = "score" if path.suffix == ".abc" else "MIDI performance"
        lines.append(json.dumps({"id": str(i), "filepaths": [path.name], "analysis": f"A {kind} of {path.stem.replace('__', ' ')}."}))
    (folder / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "pairs.jsonl"


def official_steps(task: ContrastiveTask, steps: int, batch_size: int, device: str, precision) -> float:
    """Every item padded to the maximum lengths, as the official collate does; seconds per step."""
    model, data = task.model, task.data
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    max_text, max_music = data.max_text, data.max_music
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0)).tolist()
    model.train()
    for step in range(steps):
        if step == 1:  # the first step warms up, as in the clamp3 rows
            start = time.perf_counter()
        items = [data[i] for i in order[step * batch_size : (step + 1) * batch_size]]
        ids = torch.full((len(items), max_text), task.tokenizer.pad_token_id, dtype=torch.long)
        text_mask = torch.zeros(len(items), max_text)
        music = torch.zeros(len(items), max_music, items[0][1].shape[1], dtype=torch.long)
        music_mask = torch.zeros(len(items), max_music)
        for row, (text, patches, _) in enumerate(items):
            ids[row, : len(text)], text_mask[row, : len(text)] = text, 1
            music[row, : len(patches)], music_mask[row, : len(patches)] = patches, 1
        context = torch.autocast(device.split(":")[0], dtype=precision) if precision else torch.autocast("cpu", enabled=False)
        with context:
            text_vectors = model.encode_text(ids.to(device), text_mask.to(device))
            music_vectors = model.encode_symbolic(music.to(device), music_mask.to(device))
            from clamp3.training.loss import contrastive_loss

            loss = contrastive_loss(text_vectors.float(), music_vectors.float())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / (steps - 1)


def model_config(full: bool, hidden: int = 256, layers: int = 4) -> CLaMP3Config:
    """The SAAS shape when ``full``, else a small model of ``hidden`` x ``layers`` (text tower too)."""
    if full:
        return CLaMP3Config(text_config=dict(XLMR_BASE_CONFIG))
    text = dict(XLMR_BASE_CONFIG, hidden_size=hidden, num_hidden_layers=layers,
                num_attention_heads=hidden // 64, intermediate_size=4 * hidden)
    encoder = EncoderConfig(hidden_size=hidden, num_layers=layers)
    return CLaMP3Config(text_config=text, symbolic=encoder, audio=EncoderConfig(hidden_size=hidden, num_layers=1, max_length=128),
                        projection_size=hidden)


def prepare_run(scratch: Path, config: CLaMP3Config, **settings) -> dict:
    """Pairs and seeded random weights of ``config`` written under ``scratch``; the TrainConfig
    settings of a run over them (``settings``: batch_size, max_steps, device, precision)."""
    pairs = make_pairs(scratch)
    model = randomize_(CLaMP3Model(config))
    model.tokenizer = load_tokenizer(TOKENIZER)
    weights = save_pretrained(model, scratch / "model")
    return dict(train_data=str(pairs), weights=str(weights), output_dir=str(scratch / "run"), epochs=100, warmup_steps=1,
                checkpoint_every=10**9, **settings)


def clamp3_step_seconds(settings: dict, **extra) -> float:
    """Seconds per step of clamp3's trainer, the first step (warm-up) left out."""
    events = []
    shutil.rmtree(settings["output_dir"], ignore_errors=True)
    train(TrainConfig(**settings, **extra), on_event=events.append)
    elapsed = [e["elapsed_s"] for e in events if e["event"] == "step"]
    return (elapsed[-1] - elapsed[0]) / (len(elapsed) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--full", action="store_true", help="the SAAS shape (458M parameters)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16", "float16"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        settings = prepare_run(Path(scratch), model_config(args.full, args.hidden, args.layers), batch_size=args.batch_size,
                               max_steps=args.steps, device=args.device, precision=args.precision)
        precision = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}[args.precision]
        task = ContrastiveTask(TrainConfig(**settings))
        official = official_steps(task, args.steps, args.batch_size, args.device, precision)
        rows = [("official loop (padded to 128 tokens / 512 patches)", official)]
        for label, extra in (("clamp3 train (padded to the batch)", {}), ("clamp3 train, length_buckets=8", {"length_buckets": 8})):
            rows.append((label, clamp3_step_seconds(settings, **extra)))

    shape = "SAAS shape" if args.full else f"hidden {args.hidden}, {args.layers} layers"
    print(f"\n{shape}, batch {args.batch_size}, {args.precision}, {args.device}, torch {torch.__version__}\n")
    print("| loop | s/step | samples/s | speed-up |\n|---|---:|---:|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} | {args.batch_size / seconds:.1f} | {official / seconds:.1f}x |")


if __name__ == "__main__":
    main()
