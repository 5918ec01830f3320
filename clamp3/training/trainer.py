"""Contrastive training of CLaMP 3, resumable to the batch.

``train(config)`` runs one process (CPU or GPU); a checkpoint holds the model, optimiser,
scheduler, RNG states and the position in the data, so a resumed run continues exactly.
Progress is reported as events (step, loss, learning rate, eval metrics) to a callback and to
``metrics.jsonl``; ``stop`` (a threading.Event) ends a run cleanly with a checkpoint.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from clamp3.errors import INPUT_ERRORS, ConfigError
from clamp3.models import load_model, save_pretrained
from clamp3.models.patchilizer import Patchilizer
from clamp3.retrieval import retrieval_metrics, retrieval_ranks
from clamp3.training.data import PairDataset, collate, read_pairs
from clamp3.training.loss import contrastive_loss

logger = logging.getLogger(__name__)

FREEZE = {  # the official stages: the other music tower stays as it is
    "symbolic": ["audio_model", "audio_proj"],
    "audio": ["symbolic_model", "symbolic_proj"],
}


@dataclass
class TrainConfig:
    train_data: str = ""
    eval_data: str = ""
    output_dir: str = "runs/clamp3"
    weights: str = "saas"
    text_model: str | None = None
    stage: str = "symbolic"
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-5
    warmup_steps: int = 1000
    weight_decay: float = 0.01
    accumulation: int = 1
    logit_scale: float = 1.0
    learnable_temperature: bool = False
    freeze_text: bool = False
    text_dropout: bool = True
    eval_split: float = 0.0
    checkpoint_every: int = 500
    max_bad_fraction: float = 0.1
    seed: int = 0
    device: str = "cpu"
    max_steps: int = 0  # 0: all epochs
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.stage not in FREEZE:
            raise ConfigError(f"stage must be one of {sorted(FREEZE)}, got '{self.stage}'")
        if self.batch_size < 2:
            raise ConfigError(f"a contrastive batch needs at least 2 pairs, got batch_size={self.batch_size}")
        if not self.train_data:
            raise ConfigError("train_data is required (a JSONL or CSV of text-music pairs)")


def _rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def train(config: TrainConfig, on_event: Callable[[dict], None] | None = None, stop=None) -> Path:
    """Train; returns the folder of the final model (project format)."""
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(config.weights, text_model=config.text_model, device=config.device)
    tokenizer = model.tokenizer
    pairs, report = read_pairs(config.train_data)
    eval_pairs = read_pairs(config.eval_data)[0] if config.eval_data else []
    if not eval_pairs and config.eval_split > 0:
        cut = max(1, int(len(pairs) * config.eval_split))
        eval_pairs, pairs = pairs[:cut], pairs[cut:]
    patchilizer = Patchilizer(model.config.patch_size)
    max_music = model.config.symbolic.max_length if config.stage == "symbolic" else model.config.audio.max_length
    dataset = PairDataset(pairs, tokenizer, patchilizer, model.config.max_text_length, max_music, train=True, text_dropout=config.text_dropout)
    usable = []
    for pair in pairs:  # convert every music file once; a file the converter rejects is bad data
        try:
            for file in pair.files:
                dataset.music(file)
            usable.append(pair)
        except INPUT_ERRORS as exc:
            report.bad.append(f"{config.train_data}:{pair.line}: {exc}")
            logger.warning("%s:%d: %s", config.train_data, pair.line, exc)
    dataset.pairs = usable
    if report.bad_fraction > config.max_bad_fraction:
        raise ConfigError(f"{len(report.bad)} bad lines in {config.train_data} ({report.bad_fraction:.0%}), over max_bad_fraction={config.max_bad_fraction}")
    if len(usable) < 2:
        raise ConfigError(f"{config.train_data}: fewer than 2 usable pairs")
    evaluation = PairDataset(eval_pairs, tokenizer, patchilizer, model.config.max_text_length, max_music, train=False) if eval_pairs else None

    for name in FREEZE[config.stage] + (["text_model", "text_proj"] if config.freeze_text else []):
        for param in getattr(model, name).parameters():
            param.requires_grad = False
    logit_scale = torch.nn.Parameter(torch.tensor(math.log(config.logit_scale)), requires_grad=config.learnable_temperature)
    params = [p for p in model.parameters() if p.requires_grad] + ([logit_scale] if config.learnable_temperature else [])
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / max(1, config.warmup_steps)))
    steps_per_epoch = len(dataset) // config.batch_size
    if steps_per_epoch == 0:
        raise ConfigError(f"batch_size={config.batch_size} is larger than the {len(dataset)} training pairs")
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best_mrr": -1.0}
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        logit_scale.data.copy_(saved["logit_scale"])
        state = saved["state"]
        _set_rng_state(saved["rng"])
        dataset.rng.setstate(saved["data_rng"])
        logger.info("resumed from step %d", state["global_step"])

    def save_checkpoint() -> None:
        from clamp3.io import _atomic_write

        blob = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "logit_scale": logit_scale.data, "state": dict(state), "rng": _rng_state(), "data_rng": dataset.rng.getstate(),
                "config": asdict(config)}
        _atomic_write(checkpoint, lambda handle: torch.save(blob, handle))

    metrics_file = open(out / "metrics.jsonl", "a", encoding="utf-8")

    def emit(event: dict) -> None:
        metrics_file.write(json.dumps(event) + "\n")
        metrics_file.flush()
        if on_event:
            on_event(event)

    started = time.time()
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    model.train()
    for name in FREEZE[config.stage]:
        getattr(model, name).eval()
    while state["global_step"] < total_steps and state["epoch"] < config.epochs:
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(config.seed + state["epoch"])).tolist()
        for step in range(state["step_in_epoch"], steps_per_epoch):
            batch = collate([dataset[i] for i in order[step * config.batch_size : (step + 1) * config.batch_size]], tokenizer.pad_token_id)
            ids, text_mask, music, music_mask, modality = [b.to(config.device) if torch.is_tensor(b) else b for b in batch]
            text_vectors = model.encode_text(ids, text_mask)
            music_vectors = getattr(model, f"encode_{modality}")(music, music_mask)
            loss = contrastive_loss(text_vectors, music_vectors, logit_scale.exp())
            (loss / config.accumulation).backward()
            if (step + 1) % config.accumulation == 0:
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            state["step_in_epoch"] = step + 1
            state["global_step"] += 1
            elapsed = time.time() - started
            emit({"event": "step", "step": state["global_step"], "epoch": state["epoch"], "loss": float(loss.detach()),
                  "lr": scheduler.get_last_lr()[0], "eta_s": elapsed / max(1, state["global_step"]) * (total_steps - state["global_step"])})
            if state["global_step"] % config.checkpoint_every == 0:
                save_checkpoint()
            if state["global_step"] >= total_steps or (stop is not None and stop.is_set()):
                break
        else:
            state["epoch"] += 1
            state["step_in_epoch"] = 0
            if evaluation is not None:
                metrics = evaluate(model, evaluation, tokenizer.pad_token_id, config.device)
                emit({"event": "eval", "epoch": state["epoch"], **metrics})
                if metrics["mrr"] > state["best_mrr"]:
                    state["best_mrr"] = metrics["mrr"]
                    save_pretrained(model, out / "best")
                model.train()
            continue
        break
    save_checkpoint()
    metrics_file.close()
    model.eval()
    final = save_pretrained(model, out / "final")
    emit_done = {"event": "done", "step": state["global_step"], "model": str(final)}
    if on_event:
        on_event(emit_done)
    return final


@torch.inference_mode()
def evaluate(model, dataset: PairDataset, pad_token_id: int, device: str, batch_size: int = 32) -> dict:
    """Retrieval of each eval pair's music by its text, and the eval loss."""
    model.eval()
    texts, musics = [], []
    for start in range(0, len(dataset), batch_size):
        ids, text_mask, music, music_mask, modality = collate([dataset[i] for i in range(start, min(len(dataset), start + batch_size))], pad_token_id)
        texts.append(model.encode_text(ids.to(device), text_mask.to(device)).float().cpu())
        musics.append(getattr(model, f"encode_{modality}")(music.to(device), music_mask.to(device)).float().cpu())
    text, music = torch.cat(texts), torch.cat(musics)
    loss = float(contrastive_loss(text, music))
    ranks = retrieval_ranks(text.numpy(), music.numpy(), np.arange(len(text)))
    return {"loss": loss, **{k: v for k, v in retrieval_metrics(ranks).items() if k in ("mrr", "hit@1", "hit@10")}}
