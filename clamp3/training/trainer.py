"""Training CLaMP 3 (contrastive stages) and M3 (masked patch reconstruction), resumable to the batch.

``train(config)`` runs on one CPU or GPU, or on several under ``torchrun`` (each rank on the GPU
of its ``LOCAL_RANK``, from rank 0's weights, takes its share of every global batch; gradients
are averaged across ranks in flat buckets; only rank 0 logs and writes). A checkpoint holds the
model, optimiser, scheduler, every rank's RNG states and the position in the data, so a resumed
run continues exactly, in one process or several. Progress goes to a callback as events (step, loss, learning
rate, ETA, eval metrics) and to ``metrics.jsonl``; ``stop`` (a threading.Event) ends a run
cleanly with a checkpoint and a usable model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn import functional as F

from clamp3.embedding import pad_batch
from clamp3.errors import INPUT_ERRORS, CheckpointError, ConfigError
from clamp3.io import atomic_write
from clamp3.models import export_official, load_m3, load_model, masked_mean, save_pretrained
from clamp3.models.loading import load_failure_reason
from clamp3.models.patchilizer import Patchilizer
from clamp3.retrieval import retrieval_metrics, retrieval_ranks
from clamp3.training.data import PairDataset, collate, read_pairs
from clamp3.training.loss import contrastive_loss

logger = logging.getLogger(__name__)

FREEZE = {  # the official stages: the other music tower stays as it is
    "symbolic": ["audio_model", "audio_proj"],
    "audio": ["symbolic_model", "symbolic_proj"],
}
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class TrainConfig:
    objective: str = "clamp3"  # or "m3"
    train_data: str = ""  # clamp3: a JSONL/CSV of pairs; m3: folders or files, comma-separated
    eval_data: str = ""
    output_dir: str = "runs/clamp3"
    weights: str = "default"  # clamp3: weights to start from (the embedded model, a preset, a path); m3: an M3 .pth, or "new"
    text_model: str | None = None
    init_m3: str = ""  # clamp3: start the symbolic tower from this M3 checkpoint
    stage: str = "symbolic"
    epochs: int = 10
    batch_size: int = 32  # per process
    learning_rate: float = 1e-5
    warmup_steps: int = 1000
    lr_schedule: str = "constant"  # after warm-up: "constant" (the official) or "cosine" (to 0 at the last step)
    max_grad_norm: float = 0.0  # > 0: clip the gradient norm
    weight_decay: float = 0.01
    accumulation: int = 1
    logit_scale: float = 1.0
    learnable_temperature: bool = False
    normalize: bool = False  # True: cosine logits (CLIP); False: the official raw dot products
    freeze_text: bool = False  # the text tower and its projection
    freeze_text_model: bool = False  # the text tower only; its pooled outputs are computed once per text
    text_cache: str = ""  # with a frozen text tower: a file keeping its pooled outputs between runs and stages
    text_sampling: str = "official"  # or "one": one candidate text per example (see PairDataset)
    text_prior: bool = False  # with text_sampling=one: music -> text logits corrected by each text's log frequency (see contrastive_loss)
    freeze_music_model: bool = False  # the stage's music tower only; its pooled outputs are computed once per input
    whiten_text: int = 0  # > 0, with a frozen text tower: text_proj starts as the whitening of this many training texts
    whiten_music: int = 0  # > 0: the stage's music projection starts as the whitening of this many training inputs
    text_dropout: bool = True
    augment: bool = True  # random truncation and instrument-name removal of the music
    length_buckets: int = 0  # > 0: batches of similar length, sorted within windows of this many batches
    dropout: float | None = None  # None keeps the model's own
    eval_split: float = 0.0
    checkpoint_every: int = 500
    max_bad_fraction: float = 0.1
    seed: int = 0
    device: str = "cpu"
    precision: str = "float32"
    max_steps: int = 0  # 0: all epochs
    export_official: bool = False
    tensorboard: bool = True  # also write the metrics for TensorBoard under OUTPUT_DIR/tensorboard
    m3_hidden: int = 768
    m3_layers: int = 12
    m3_decoder_layers: int = 3
    m3_max_patches: int = 512
    patch_size: int = 64

    def __post_init__(self) -> None:
        from dataclasses import fields

        for spec in fields(self):  # YAML reads 1e-3 as a string; numbers given as text are numbers
            value = getattr(self, spec.name)
            if isinstance(value, str) and spec.type in ("float", "float | None", "int"):
                try:
                    setattr(self, spec.name, (float if spec.type.startswith("float") else int)(value))
                except ValueError as exc:
                    raise ConfigError(f"{spec.name} must be a number, got '{value}'") from exc
        if self.objective not in ("clamp3", "m3"):
            raise ConfigError(f"objective must be clamp3 or m3, got '{self.objective}'")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"lr_schedule must be constant or cosine, got '{self.lr_schedule}'")
        if self.text_sampling not in ("official", "one"):
            raise ConfigError(f"text_sampling must be official or one, got '{self.text_sampling}'")
        if self.stage not in FREEZE:
            raise ConfigError(f"stage must be one of {sorted(FREEZE)}, got '{self.stage}'")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {sorted(PRECISIONS)}, got '{self.precision}'")
        if self.text_prior and self.text_sampling != "one":
            raise ConfigError("text_prior needs text_sampling=one (the frequency of a text is that of one whole candidate)")
        if self.objective == "clamp3" and self.batch_size < 2:
            raise ConfigError(f"a contrastive batch needs at least 2 pairs, got batch_size={self.batch_size}")
        if not self.train_data:
            raise ConfigError("train_data is required")


@torch.no_grad()
def _whitening_init(proj: torch.nn.Linear, x: torch.Tensor) -> None:
    """Set ``proj`` to PCA whitening of the rows of ``x`` (samples, in_features), scaled so that
    outputs have unit expected norm; directions the sample does not span stay zero."""
    x = x.double()
    mean = x.mean(dim=0)
    values, vectors = torch.linalg.eigh(torch.cov((x - mean).T))  # ascending
    rank = int((values > values.max() * 1e-6).sum())
    k = min(proj.out_features, rank)
    top = vectors[:, -k:] / torch.sqrt(values[-k:])  # (in_features, k)
    weight = torch.zeros_like(proj.weight, dtype=torch.float64)
    weight[:k] = top.T / math.sqrt(k)
    proj.weight.copy_(weight.to(proj.weight.dtype))
    proj.bias.copy_((-weight @ mean).to(proj.bias.dtype))


def text_key(ids: torch.Tensor) -> bytes:
    """A text's token ids -> its key in the pooled-output cache."""
    return hashlib.sha1(ids.to(torch.int32).numpy().tobytes()).digest()


class TextCache:
    """Pooled outputs of a frozen text tower kept in a safetensors file between runs, keyed by
    token ids and tied to the tower's weights (a file of another tower is ignored, with a warning)."""

    def __init__(self, path: Path, text_model: torch.nn.Module):
        digest = hashlib.sha256()
        for name, tensor in sorted(text_model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes()[: 1 << 16])
        self.path, self.tower = path, digest.hexdigest()[:16]
        self.vectors: dict[bytes, torch.Tensor] = {}
        self._saved = 0
        if path.exists():
            from safetensors import safe_open

            with safe_open(str(path), "pt") as handle:
                if handle.metadata().get("tower") != self.tower:
                    logger.warning("%s holds another text tower's outputs; starting a new cache", path)
                    return
                keys, vectors = handle.get_tensor("keys"), handle.get_tensor("vectors")
            self.vectors = {bytes(k.tolist()): v for k, v in zip(keys, vectors)}
            self._saved = len(self.vectors)
            logger.info("text cache %s: %d texts", path, len(self.vectors))

    def save(self) -> None:
        if len(self.vectors) == self._saved:
            return
        from safetensors.torch import save

        keys = torch.tensor([list(k) for k in self.vectors], dtype=torch.uint8)
        blob = save({"keys": keys, "vectors": torch.stack(list(self.vectors.values())).float()}, metadata={"tower": self.tower})
        atomic_write(self.path, lambda handle: handle.write(blob))
        self._saved = len(self.vectors)


class ContrastiveTask:
    """Text-music pairs through CLaMP 3, one music stage at a time."""

    def __init__(self, config: TrainConfig):
        self.config = config
        model = load_model(config.weights, text_model=config.text_model, device=config.device)
        if config.init_m3:
            model.symbolic_model.load_state_dict(load_m3(config.init_m3).encoder.state_dict())
        self.tokenizer = model.tokenizer
        pairs, report = read_pairs(config.train_data)
        eval_pairs = []
        if config.eval_data:  # its bad lines are bad data too
            eval_pairs, eval_report = read_pairs(config.eval_data)
            report.bad += eval_report.bad
        if not eval_pairs and config.eval_split > 0:
            cut = max(1, int(len(pairs) * config.eval_split))
            eval_pairs, pairs = pairs[:cut], pairs[cut:]
        patchilizer = Patchilizer(model.config.patch_size)
        max_music = model.config.symbolic.max_length if config.stage == "symbolic" else model.config.audio.max_length
        self.data = PairDataset(
            pairs, self.tokenizer, patchilizer, model.config.max_text_length, max_music, True, config.text_dropout, config.augment,
            config.text_sampling,
        )
        usable = self._readable(self.data, pairs, config.train_data, report.bad)
        self.data.pairs = usable
        self.eval_data = None
        if eval_pairs:
            self.eval_data = PairDataset(eval_pairs, self.tokenizer, patchilizer, model.config.max_text_length, max_music, False)
            self.eval_data.pairs = self._readable(self.eval_data, eval_pairs, config.eval_data or config.train_data, report.bad)
            if not self.eval_data.pairs:
                self.eval_data = None
        self.bad_fraction = len(report.bad) / max(1, len(report.bad) + len(usable) + len(self.eval_data or []))
        frozen = FREEZE[config.stage] + (["text_model", "text_proj"] if config.freeze_text else [])
        frozen += ["text_model"] if config.freeze_text_model and not config.freeze_text else []
        frozen += [f"{config.stage}_model"] if config.freeze_music_model else []
        self.pooled_texts: dict[bytes, torch.Tensor] | None = {} if "text_model" in frozen else None
        self.pooled_music: dict[bytes, torch.Tensor] | None = {} if config.freeze_music_model else None
        for name in frozen:
            for param in getattr(model, name).parameters():
                param.requires_grad = False
        self.frozen = frozen
        self.model = model
        self.text_cache = TextCache(Path(config.text_cache), model.text_model) if config.text_cache else None
        if self.text_cache is not None:
            if self.pooled_texts is None:
                raise ConfigError("text_cache needs a frozen text tower (freeze_text_model=true or freeze_text=true)")
            self.pooled_texts = self.text_cache.vectors
            self._precompute_texts(pairs)
        if config.whiten_text > 0:
            self._whiten_text_proj(pairs, config.whiten_text)
        if config.whiten_music > 0:
            self._whiten_music_proj(config.whiten_music)
        self.logit_scale = torch.nn.Parameter(torch.tensor(math.log(config.logit_scale)), requires_grad=config.learnable_temperature)
        self.rng = self.data.rng
        self.text_log_prior = self._text_log_prior(usable) if config.text_prior else None

    @staticmethod
    def _readable(dataset: PairDataset, pairs: list, source: str, bad: list[str]) -> list:
        """The pairs whose music files all convert (each is converted once, here); the others are
        bad data, a warning line each with the line number in ``source``."""
        kept = []
        for pair in pairs:
            try:
                for file in pair.files:
                    dataset.music(file)
                kept.append(pair)
            except INPUT_ERRORS as exc:
                bad.append(f"{source}:{pair.line}: {exc}")
                logger.warning("%s:%d: %s", source, pair.line, exc)
        return kept

    def __len__(self) -> int:
        return len(self.data)

    def lengths(self) -> list[int]:
        """Music length of each example (patches or frames), for length-bucketed batches."""
        lengths = []
        for pair in self.data.pairs:
            music = self.data.music(pair.files[0])
            # patches with the two special ones, or frames with the two zero frames
            lengths.append((len(self.data.patchilizer.units(music)) if isinstance(music, str) else len(music)) + 2)
        return lengths

    def parameters(self):
        return [p for p in self.model.parameters() if p.requires_grad] + ([self.logit_scale] if self.config.learnable_temperature else [])

    def train_mode(self) -> None:
        self.model.train()
        for name in self.frozen:
            getattr(self.model, name).eval()

    def _text_log_prior(self, pairs) -> tuple[dict[bytes, float], float]:
        """Log probability that a training example draws each text (one candidate of its pair,
        uniformly), keyed by token ids; and the value for a text not seen here (the rarest)."""
        frequency: dict[bytes, float] = {}
        for pair in pairs:
            candidates = pair.texts + pair.translations
            for text in candidates:
                key = text_key(torch.tensor(self.tokenizer(text)["input_ids"][: self.data.max_text]))
                frequency[key] = frequency.get(key, 0.0) + 1.0 / len(candidates) / len(pairs)
        return {k: math.log(v) for k, v in frequency.items()}, math.log(min(frequency.values()))

    def loss(self, indices: list[int]) -> torch.Tensor:
        ids, text_mask, music, music_mask, modality = collate([self.data[i] for i in indices], self.tokenizer.pad_token_id)
        device = self.config.device
        if self.pooled_texts is None:
            text = self.model.encode_text(ids.to(device), text_mask.to(device))
        else:
            text = self.model.text_proj(self._pooled(ids, text_mask).to(device))
        if self.pooled_music is None:
            music_vectors = getattr(self.model, f"encode_{modality}")(music.to(device), music_mask.to(device))
        else:
            music_vectors = getattr(self.model, f"{modality}_proj")(self._pooled_music(music, music_mask, modality).to(device))
        text, music_vectors = text.float(), music_vectors.float()
        if self.config.normalize:
            text, music_vectors = F.normalize(text, dim=-1), F.normalize(music_vectors, dim=-1)
        prior = None
        if self.text_log_prior is not None:
            table, rarest = self.text_log_prior
            keys = [text_key(row[: int(m.sum())]) for row, m in zip(ids, text_mask)]
            prior = torch.tensor([table.get(k, rarest) for k in keys], device=text.device)
        return contrastive_loss(text, music_vectors, self.logit_scale.exp(), prior)

    def _pooled_music(self, music: torch.Tensor, mask: torch.Tensor, modality: str) -> torch.Tensor:
        """Mean-pooled outputs of the frozen music tower, (batch, hidden); each input computed once."""
        keys = [row[: int(m.sum())].numpy().tobytes() for row, m in zip(music, mask)]
        new = list(dict.fromkeys(k for k in keys if k not in self.pooled_music))
        if new:
            rows = [keys.index(k) for k in new]
            sub, sub_mask = music[rows].to(self.config.device), mask[rows].to(self.config.device)
            with torch.no_grad():
                pooled = masked_mean(self.model.hidden(modality, sub, sub_mask).float(), sub_mask).cpu()
            for key, vector in zip(new, pooled):
                self.pooled_music[key] = vector
        return torch.stack([self.pooled_music[k] for k in keys]).to(self.model.text_proj.weight.dtype)

    @torch.no_grad()
    def _whiten_text_proj(self, pairs, count: int) -> None:
        """Start text_proj as PCA whitening of the frozen tower's pooled outputs: a frozen tower's
        texts share one dominant direction (cosines near 0.9), which leaves the music tower no
        signal and lets it collapse; whitened, different texts start nearly orthogonal."""
        if self.pooled_texts is None:
            raise ConfigError("whiten_text needs a frozen text tower (freeze_text_model=true)")
        texts = list(dict.fromkeys(t for pair in pairs for t in pair.texts + pair.translations))
        texts = self.data.rng.sample(texts, min(count, len(texts)))
        vectors = []
        for start in range(0, len(texts), 64):
            encoded = [torch.tensor(self.tokenizer(t)["input_ids"][: self.data.max_text]) for t in texts[start : start + 64]]
            ids, mask = pad_batch(encoded, self.tokenizer.pad_token_id)
            vectors.append(self._pooled(ids, mask).double())
        _whitening_init(self.model.text_proj, torch.cat(vectors))
        logger.info("text_proj initialised as the whitening of %d texts", len(texts))

    @torch.no_grad()
    def _whiten_music_proj(self, count: int) -> None:
        """The music projection starts as the whitening of the tower's pooled outputs: those of a
        new or briefly pretrained encoder share one large mean vector (norm ~15 against ~1 of
        variation between inputs), which a randomly initialised projection trained with Adam
        does not get past. With a frozen tower the outputs land in its cache."""
        modality = self.config.stage
        indices = self.data.rng.sample(range(len(self.data)), min(count, len(self.data)))
        was_training = self.model.training
        self.model.eval()
        vectors = []
        for start in range(0, len(indices), 32):
            _, _, music, mask, _ = collate([self.data[i] for i in indices[start : start + 32]], self.tokenizer.pad_token_id)
            if self.pooled_music is not None:
                vectors.append(self._pooled_music(music, mask, modality).double())
            else:
                device = self.config.device
                hidden = self.model.hidden(modality, music.to(device), mask.to(device)).float()
                vectors.append(masked_mean(hidden, mask.to(device)).cpu().double())
        self.model.train(was_training)
        _whitening_init(getattr(self.model, f"{modality}_proj"), torch.cat(vectors))
        logger.info("%s_proj initialised as the whitening of %d inputs", modality, len(indices))

    @torch.no_grad()
    def _precompute_texts(self, pairs) -> None:
        """Pooled outputs of every text of the training pairs, in batches of similar length (a
        quarter of the cost of computing them batch by batch as training meets them), saved to
        the text cache."""
        texts = list(dict.fromkeys(t for pair in pairs for t in pair.texts + pair.translations))
        encoded = [torch.tensor(self.tokenizer(t)["input_ids"][: self.data.max_text]) for t in texts]
        todo = sorted((e for e in encoded if text_key(e) not in self.pooled_texts), key=len)
        if not todo:
            return
        from tqdm.auto import tqdm

        for start in tqdm(range(0, len(todo), 128), desc="text tower", unit="batch", disable=None):
            self._pooled(*pad_batch(todo[start : start + 128], self.tokenizer.pad_token_id))
        self.text_cache.save()
        logger.info("text cache %s: %d texts computed, %d in all", self.text_cache.path, len(todo), len(self.pooled_texts))

    def _pooled(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled outputs of the frozen text tower, (batch, hidden); each text computed once."""
        keys = [text_key(row[: int(m.sum())]) for row, m in zip(ids, mask)]
        new = list(dict.fromkeys(k for k in keys if k not in self.pooled_texts))
        if new:
            rows = [keys.index(k) for k in new]
            sub_ids, sub_mask = ids[rows], mask[rows]
            length = int(sub_mask.sum(dim=1).max())
            sub_ids, sub_mask = sub_ids[:, :length].to(self.config.device), sub_mask[:, :length].to(self.config.device)
            with torch.no_grad(), torch.autocast(sub_ids.device.type, enabled=False):
                hidden = self.model.text_hidden(sub_ids, sub_mask)
                pooled = masked_mean(hidden.float(), sub_mask).cpu()
            for key, vector in zip(new, pooled):
                self.pooled_texts[key] = vector
        return torch.stack([self.pooled_texts[k] for k in keys]).to(self.model.text_proj.weight.dtype)

    @torch.inference_mode()
    def evaluate(self) -> dict | None:
        """Retrieval of each eval pair's music by its text, and the eval loss."""
        if self.eval_data is None:
            return None
        self.model.eval()
        texts, musics, device = [], [], self.config.device
        for start in range(0, len(self.eval_data), 32):
            batch = [self.eval_data[i] for i in range(start, min(len(self.eval_data), start + 32))]
            ids, text_mask, music, music_mask, modality = collate(batch, self.tokenizer.pad_token_id)
            texts.append(self.model.encode_text(ids.to(device), text_mask.to(device)).float().cpu())
            musics.append(getattr(self.model, f"encode_{modality}")(music.to(device), music_mask.to(device)).float().cpu())
        text, music = torch.cat(texts), torch.cat(musics)
        ranks = retrieval_ranks(text.numpy(), music.numpy(), np.arange(len(text)))
        metrics = retrieval_metrics(ranks)
        scored = (F.normalize(text, dim=-1), F.normalize(music, dim=-1)) if self.config.normalize else (text, music)
        loss = contrastive_loss(*scored, float(self.logit_scale.exp()))
        return {"loss": float(loss), "mrr": metrics["mrr"], "hit@1": metrics["hit@1"], "hit@10": metrics["hit@10"]}

    def save(self, folder: Path) -> Path:
        self.model.eval()
        if self.text_cache is not None:
            self.text_cache.save()
        save_pretrained(self.model, folder)
        if self.config.export_official:
            export_official(self.model, folder / "clamp3_official.pth")
        return folder


class M3Task:
    """Masked patch reconstruction of the symbolic encoder with its character decoder."""

    def __init__(self, config: TrainConfig):
        from clamp3.config import EncoderConfig
        from clamp3.models import M3Model
        from clamp3.training.m3 import M3Data

        self.config = config
        if config.weights in ("", "new"):
            encoder = EncoderConfig(hidden_size=config.m3_hidden, num_layers=config.m3_layers, max_length=config.m3_max_patches)
            self.model = M3Model(encoder, config.m3_decoder_layers, config.patch_size)
        else:
            self.model = load_m3(config.weights)
        self.model.to(config.device)
        max_patches = self.model.encoder_config.max_length
        self.data = M3Data(config.train_data.split(","), self.model.patch_size, max_patches)
        self.eval = M3Data(config.eval_data.split(","), self.model.patch_size, max_patches) if config.eval_data else None
        for line in self.data.bad:
            logger.warning("%s", line)
        self.bad_fraction = len(self.data.bad) / max(1, len(self.data.bad) + len(self.data))
        self.rng = random.Random(config.seed)

    def __len__(self) -> int:
        return len(self.data)

    def lengths(self) -> list[int]:
        return [len(item) for item in self.data.items]

    def parameters(self):
        return list(self.model.parameters())

    def train_mode(self) -> None:
        self.model.train()

    def _loss(self, data, indices, rng, train: bool) -> torch.Tensor:
        from clamp3.training.m3 import collate_m3

        inputs, mask, selected, targets = collate_m3([data.example(i, rng, train) for i in indices])
        device = self.config.device
        return self.model(inputs.to(device), mask.to(device), selected.to(device), targets.to(device)).loss

    def loss(self, indices: list[int]) -> torch.Tensor:
        return self._loss(self.data, indices, self.rng, True)

    @torch.inference_mode()
    def evaluate(self) -> dict | None:
        if self.eval is None or not len(self.eval):
            return None
        self.model.eval()
        rng = random.Random(0)  # the same selection every epoch
        losses = [float(self._loss(self.eval, list(range(s, min(len(self.eval), s + 16))), rng, False)) for s in range(0, len(self.eval), 16)]
        return {"loss": float(np.mean(losses)), "mrr": -float(np.mean(losses))}  # keep-best on the lowest loss

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        atomic_write(folder / "m3.pth", lambda handle: torch.save({"model": state, "epoch": 0, "min_eval_loss": 0.0}, handle))
        return folder


def epoch_order(task, config: TrainConfig, epoch: int, global_batch: int) -> list[int]:
    """The examples of one epoch in batch order: a seeded permutation, or with ``length_buckets``
    windows of that many batches sorted by length, their batches then shuffled (less padding)."""
    generator = torch.Generator().manual_seed(config.seed + epoch)
    order = torch.randperm(len(task), generator=generator).tolist()
    if config.length_buckets <= 0:
        return order
    lengths = task.lengths()
    window = config.length_buckets * global_batch
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + global_batch] for i in range(0, len(chunk), global_batch)]
    full = [b for b in batches if len(b) == global_batch]
    shuffled = torch.randperm(len(full), generator=generator).tolist()
    return [i for b in shuffled for i in full[b]]


# numpy's RNG state as checkpoints written before plain RNG states hold it: rebuilding an array
# runs no code, so these stay within what ``weights_only`` allows.
_NUMPY_ARRAY_GLOBALS = [np.zeros(0).__reduce__()[0], np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def _rng_states() -> dict:
    """Every RNG state as tensors and plain types, so that ``torch.load(weights_only=True)`` reads it."""
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "python": random.getstate(), "numpy": (name, keys.tolist(), position, has_gauss, cached_gaussian),
        "torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def read_checkpoint(path: Path) -> dict:
    """A training checkpoint, loaded with ``weights_only=True``; one that cannot be read is an error,
    never a fresh start (it is written to a temporary name and renamed, so a killed run leaves the
    previous one whole: a damaged one was damaged outside training)."""
    try:
        with torch.serialization.safe_globals(_NUMPY_ARRAY_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch reports damage as RuntimeError, UnpicklingError, EOFError, ...
        reason = load_failure_reason(exc)
        raise CheckpointError(
            f"{path}: not a readable training checkpoint ({type(exc).__name__}: {reason}); move it away to train from the start"
        ) from exc


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop the events logged after the checkpoint of ``step``: a resumed run logs them again."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    keep = None
    for number, line in enumerate(lines):
        try:
            event = json.loads(line)
        except ValueError:  # a line cut short by the kill
            continue
        if event.get("event") == "step" and event.get("step") == step:
            keep = number + 1
    if keep is not None and keep < len(lines):
        atomic_write(path, lambda handle: handle.write("".join(lines[:keep]).encode("utf-8")))


def _distributed(device: str) -> tuple[int, int, str]:
    """(rank, world size, this rank's device). Under ``torchrun`` each rank of a machine takes the
    GPU of its ``LOCAL_RANK`` when the device is plain ``cuda``; NCCL for GPUs, gloo for the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    if device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))  # object collectives and NCCL use the current device
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def _broadcast_weights(task) -> None:
    """Rank 0's weights on every rank: a model built from random weights (M3 from scratch, new
    projections) differs between ranks that seed their RNGs by rank."""
    tensors = list(task.model.state_dict().values())
    if hasattr(task, "logit_scale"):
        tensors.append(task.logit_scale.data)
    with torch.no_grad():
        for tensor in tensors:
            dist.broadcast(tensor, 0)


def _all_reduce_gradients(params, world: int, bucket_bytes: int = 25 * 2**20) -> None:
    """Average the gradients across ranks in flat buckets of about ``bucket_bytes`` (a few
    collectives a step, not one a tensor), as DistributedDataParallel does."""
    buckets: dict[torch.dtype, list[torch.Tensor]] = {}
    sizes: dict[torch.dtype, int] = {}

    def flush(dtype: torch.dtype) -> None:
        grads = buckets.pop(dtype, [])
        sizes.pop(dtype, None)
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= world
        offset = 0
        for grad in grads:
            grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
            offset += grad.numel()

    for param in params:
        if param.grad is None:
            continue
        grad = param.grad
        buckets.setdefault(grad.dtype, []).append(grad)
        sizes[grad.dtype] = sizes.get(grad.dtype, 0) + grad.numel() * grad.element_size()
        if sizes[grad.dtype] >= bucket_bytes:
            flush(grad.dtype)
    for dtype in list(buckets):
        flush(dtype)


def train(config: TrainConfig, on_event: Callable[[dict], None] | None = None, stop=None) -> Path:
    """Train; returns the folder of the final model. Under ``torchrun`` the process group this
    call starts is shut down at its end, so that no rank leaves a live connection to exit with."""
    started_group = not dist.is_initialized()
    try:
        return _train(config, on_event, stop)
    finally:
        if started_group and dist.is_initialized():
            dist.destroy_process_group()


def _train(config: TrainConfig, on_event: Callable[[dict], None] | None, stop) -> Path:
    rank, world, device = _distributed(config.device)
    if device != config.device:
        config = replace(config, device=device)
    random.seed(config.seed + rank)
    np.random.seed(config.seed + rank)
    torch.manual_seed(config.seed + rank)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    task = ContrastiveTask(config) if config.objective == "clamp3" else M3Task(config)
    if task.bad_fraction > config.max_bad_fraction:
        raise ConfigError(f"{task.bad_fraction:.0%} of {config.train_data} is bad data, over max_bad_fraction={config.max_bad_fraction}")
    if config.dropout is not None:
        for module in task.model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = config.dropout
    global_batch = config.batch_size * world
    steps_per_epoch = len(task) // global_batch
    if steps_per_epoch == 0:
        raise ConfigError(f"a global batch of {global_batch} is larger than the {len(task)} training examples")
    optimizer = torch.optim.AdamW(task.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    total_steps = config.max_steps or steps_per_epoch * config.epochs

    def lr_factor(step: int) -> float:
        warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
        if config.lr_schedule == "cosine":
            return warm * 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, total_steps))))
        return warm

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    scaler = torch.amp.GradScaler(enabled=config.precision == "float16")
    autocast_dtype = PRECISIONS[config.precision]
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": -math.inf}
    checkpoint = out / "checkpoint.pt"
    resumed = checkpoint.exists()
    if resumed:
        saved = read_checkpoint(checkpoint)
        task.model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        if saved.get("scaler"):  # empty when saved without float16
            scaler.load_state_dict(saved["scaler"])
        if hasattr(task, "logit_scale"):
            task.logit_scale.data.copy_(saved["logit_scale"])
        state = saved["state"]
        # each rank's own random states (checkpoints before rank_rng hold one process's as rng and data_rng)
        ranks = saved.get("rank_rng") or [{"rng": saved["rng"], "data_rng": saved["data_rng"]}]
        if len(ranks) != world and world > 1:
            logger.warning("%s was written by %d process(es) and is resumed by %d: the ranks take rank 0's random states",
                           checkpoint, len(ranks), world)
        own = ranks[rank] if len(ranks) == world else ranks[0]
        random.setstate(own["rng"]["python"])
        np.random.set_state(own["rng"]["numpy"])
        torch.set_rng_state(own["rng"]["torch"])
        if own["rng"].get("cuda") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(own["rng"]["cuda"])
        task.rng.setstate(own["data_rng"])
        if rank == 0:
            _truncate_metrics(out / "metrics.jsonl", state["global_step"])
        logger.info("resumed from step %d", state["global_step"])

    if world > 1:
        # every rank must resume from the same step: nodes that do not share output_dir would not
        steps = [None] * world
        dist.all_gather_object(steps, state["global_step"] if resumed else None)
        if len(set(steps)) > 1:
            raise ConfigError(
                f"the ranks found different checkpoints in {out} (step by rank, None for none: {steps}); "
                "every node must see the same output_dir"
            )
        _broadcast_weights(task)

    def save_checkpoint() -> None:
        """Rank 0 writes; every rank's random states go in (a collective: every rank calls it)."""
        own = {"rng": _rng_states(), "data_rng": task.rng.getstate()}
        ranks = [own]
        if world > 1:
            ranks = [None] * world if rank == 0 else None
            dist.gather_object(own, ranks, dst=0)
        if rank != 0:
            return
        blob = {
            "model": task.model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(), "logit_scale": getattr(task, "logit_scale", torch.zeros(())).data, "state": dict(state),
            "rank_rng": ranks, "config": asdict(config),
        }
        atomic_write(checkpoint, lambda handle: torch.save(blob, handle))

    if rank == 0:  # the settings beside the results, for the record
        import yaml

        atomic_write(out / "config.yaml", lambda handle: handle.write(yaml.safe_dump(asdict(config), sort_keys=False).encode()))
    metrics_file = open(out / "metrics.jsonl", "a", encoding="utf-8") if rank == 0 else None
    board = None
    if rank == 0 and config.tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter

            # a resumed run drops the events it logged after its checkpoint, as it logs them again
            board = SummaryWriter(str(out / "tensorboard"), purge_step=state["global_step"] + 1 if resumed else None)
        except ImportError:
            logger.warning("tensorboard is not installed (pip install 'clamp3[train]'); metrics go to metrics.jsonl only")

    def emit(event: dict) -> None:
        if rank == 0:
            metrics_file.write(json.dumps(event) + "\n")
            metrics_file.flush()
            if board is not None and event["event"] in ("step", "eval"):
                for key, value in event.items():
                    if key not in ("event", "step", "epoch") and isinstance(value, (int, float)):
                        board.add_scalar(f"{event['event']}/{key}", value, state["global_step"])
            if on_event:
                on_event(event)

    started, first_step = time.time(), state["global_step"]
    task.train_mode()
    while state["global_step"] < total_steps and state["epoch"] < config.epochs:
        order = epoch_order(task, config, state["epoch"], global_batch)
        for step in range(state["step_in_epoch"], steps_per_epoch):
            start = step * global_batch + rank * config.batch_size
            device_type = "cuda" if str(config.device).startswith("cuda") else "cpu"
            precision = torch.autocast(device_type, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext()
            with precision:
                loss = task.loss(order[start : start + config.batch_size])
            scaler.scale(loss / config.accumulation).backward()
            if (step + 1) % config.accumulation == 0:
                if world > 1:
                    _all_reduce_gradients(task.parameters(), world)
                if config.max_grad_norm > 0:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(task.parameters(), config.max_grad_norm)
                scaler.step(optimizer)
                scaler.update()
                if getattr(task, "logit_scale", None) is not None and config.learnable_temperature:
                    with torch.no_grad():  # CLIP's bound: a temperature of at least 0.01
                        task.logit_scale.clamp_(0, math.log(100))
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            state["step_in_epoch"] = step + 1
            state["global_step"] += 1
            rate = (time.time() - started) / max(1, state["global_step"] - first_step)
            emit({"event": "step", "step": state["global_step"], "total": total_steps, "epoch": state["epoch"], "loss": float(loss.detach()),
                  "lr": scheduler.get_last_lr()[0], "elapsed_s": time.time() - started,
                  "eta_s": rate * (total_steps - state["global_step"])})
            if state["global_step"] % config.checkpoint_every == 0:
                save_checkpoint()
            if state["global_step"] >= total_steps or (stop is not None and stop.is_set()):
                break
        else:
            state["epoch"] += 1
            state["step_in_epoch"] = 0
            metrics = task.evaluate()
            if metrics is not None:
                emit({"event": "eval", "epoch": state["epoch"], **metrics})
                if metrics["mrr"] > state["best"] and rank == 0:
                    state["best"] = metrics["mrr"]
                    task.save(out / "best")
            task.train_mode()
            continue
        break
    save_checkpoint()
    final = task.save(out / "final") if rank == 0 else out / "final"
    emit({"event": "done", "step": state["global_step"], "model": str(final)})
    if metrics_file:
        metrics_file.close()
    if board is not None:
        board.close()
    return final
