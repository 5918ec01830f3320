"""The CLaMP 3 objective on text-music pairs, one music stage at a time: the data and its
split, which towers are frozen, their frozen outputs, whitened projections, the text prior, the
loss, the evaluation by retrieval and the saved model."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from clamp3.errors import INPUT_ERRORS, ConfigError
from clamp3.models import export_official, load_m3, load_model, masked_mean, save_pretrained
from clamp3.preprocess import Preprocess, pad_batch
from clamp3.retrieval import retrieval_metrics, retrieval_ranks
from clamp3.training.config import TrainConfig
from clamp3.training.data import PairDataset, collate, read_pairs
from clamp3.training.frozen import FrozenOutputs, TextCache, music_key, text_key
from clamp3.training.loss import contrastive_loss
from clamp3.training.task import Evaluation, check_bad_data

logger = logging.getLogger(__name__)

FREEZE = {  # the official stages (config.STAGES): the other music tower stays as it is
    "symbolic": ["audio_model", "audio_proj"],
    "audio": ["symbolic_model", "symbolic_proj"],
}


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


def held_out(count: int, split: float) -> int:
    """How many of ``count`` pairs a run holds out for evaluation at ``eval_split=split``: at least one when the split is not 0."""
    return max(1, int(count * split)) if split > 0 else 0


class ContrastiveTask:
    """Text-music pairs through CLaMP 3, one music stage at a time."""

    def __init__(self, config: TrainConfig):
        self.config = config
        model = load_model(config.weights, text_model=config.text_model, device=config.device)
        if config.audio_extractor:  # what the app must extract from an upload for the model trained here
            model.config.audio_extractor = config.audio_extractor
        if config.init_m3:
            model.symbolic_model.load_state_dict(load_m3(config.init_m3).encoder.state_dict())
        self.tokenizer = model.tokenizer
        roots = [r for r in config.data_roots.split(os.pathsep) if r]
        pairs, report = read_pairs(config.train_data, roots)
        eval_pairs = []
        if config.eval_data:  # its bad lines are bad data too
            eval_pairs, eval_report = read_pairs(config.eval_data, roots)
            report.bad += eval_report.bad
        if not eval_pairs and config.eval_split > 0:
            cut = held_out(len(pairs), config.eval_split)
            eval_pairs, pairs = pairs[:cut], pairs[cut:]
        inputs = Preprocess.from_model(model)  # the embedder's tokenizer, patchilizer and segment lengths
        patchilizer, max_text, max_music = inputs.patchilizer, inputs.max_lengths["text"], inputs.max_lengths[config.stage]
        self.data = PairDataset(
            pairs, self.tokenizer, patchilizer, max_text, max_music, True, config.text_dropout, config.augment, config.text_sampling,
        )
        usable = self._readable(self.data, pairs, config.train_data, report.bad)
        self.data.pairs = usable
        self.eval_data = None
        if eval_pairs:
            self.eval_data = PairDataset(eval_pairs, self.tokenizer, patchilizer, max_text, max_music, False)
            self.eval_data.pairs = self._readable(self.eval_data, eval_pairs, config.eval_data or config.train_data, report.bad)
            if not self.eval_data.pairs:
                self.eval_data = None
        check_bad_data(report.bad, len(usable), config, len(self.eval_data or []))
        frozen = FREEZE[config.stage] + (["text_model", "text_proj"] if config.freeze_text else [])
        frozen += ["text_model"] if config.freeze_text_model and not config.freeze_text else []
        frozen += [f"{config.stage}_model"] if config.freeze_music_model else []
        for name in frozen:
            for param in getattr(model, name).parameters():
                param.requires_grad = False
        self.frozen = frozen
        self.model = model
        self.tuned_text_layers = self._tune_text_layers(config.text_train_layers) if config.text_train_layers else []
        self.text_cache = TextCache(Path(config.text_cache), model.text_model) if config.text_cache else None
        if self.text_cache is not None and "text_model" not in frozen:
            raise ConfigError("text_cache needs a frozen text tower (freeze_text_model=true or freeze_text=true)")
        # the frozen towers' outputs; the towers are looked up at each call (a test may wrap them)
        self.pooled_texts: FrozenOutputs | None = None
        if "text_model" in frozen:
            self.pooled_texts = FrozenOutputs(lambda ids, mask: self.model.text_hidden(ids, mask), text_key, config.device,
                                              self.text_cache.vectors if self.text_cache is not None else None)
        self.pooled_music: FrozenOutputs | None = None
        if config.freeze_music_model:
            self.pooled_music = FrozenOutputs(lambda music, mask: self.model.hidden(config.stage, music, mask), music_key,
                                              config.device)
        if self.text_cache is not None:
            self._precompute_texts(pairs)
        if config.whiten_text > 0:
            self._whiten_text_proj(pairs, config.whiten_text)
        if config.whiten_music > 0:
            self._whiten_music_proj(config.whiten_music)
        # on the model's device: DistributedDataParallel wraps it with the model and refuses mixed devices
        self.logit_scale = torch.nn.Parameter(torch.tensor(math.log(config.logit_scale), device=config.device),
                                              requires_grad=config.learnable_temperature)
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

    def _tune_text_layers(self, count: int) -> list[torch.nn.Module]:
        """Freeze the text tower but its top ``count`` layers; the model's config then names them as
        tuned, so that a packaged tower's saved model holds their weights."""
        text, config = self.model.text_model, self.model.config
        layers = list(text.encoder.layer) if hasattr(text, "encoder") and hasattr(text.encoder, "layer") else []
        if count > len(layers):
            raise ConfigError(f"text_train_layers={count}, but the text tower has {len(layers)} layers")
        tuned = layers[len(layers) - count:]
        kept = {id(p) for layer in tuned for p in layer.parameters()}
        for param in text.parameters():
            param.requires_grad = id(param) in kept
        config.text_tuned_layers = max(config.text_tuned_layers, count)
        return tuned

    def parameters(self):
        return [p for p in self.model.parameters() if p.requires_grad] + ([self.logit_scale] if self.config.learnable_temperature else [])

    def parameter_groups(self) -> list[dict]:
        """What the optimiser trains, by learning rate: the tuned text layers at ``text_learning_rate`` when set."""
        rate = self.config.text_learning_rate
        if not rate:
            return [{"params": self.parameters()}]
        tuned = {id(p) for layer in self.tuned_text_layers for p in layer.parameters()}
        return [{"params": [p for p in self.parameters() if id(p) not in tuned]},
                {"params": [p for p in self.parameters() if id(p) in tuned], "lr": rate}]

    def train_mode(self) -> None:
        self.model.train()
        for name in self.frozen:
            getattr(self.model, name).eval()
        if self.tuned_text_layers:  # the frozen part of the text tower computes as at inference (no dropout)
            self.model.text_model.eval()
            for layer in self.tuned_text_layers:
                layer.train()

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
            text = self.model.text_proj(self.pooled_texts(ids, text_mask).to(device, self.model.text_proj.weight.dtype))
        if self.pooled_music is None:
            music_vectors = getattr(self.model, f"encode_{modality}")(music.to(device), music_mask.to(device))
        else:
            proj = getattr(self.model, f"{modality}_proj")
            music_vectors = proj(self.pooled_music(music, music_mask).to(device, proj.weight.dtype))
        text, music_vectors = text.float(), music_vectors.float()
        if self.config.normalize:
            text, music_vectors = F.normalize(text, dim=-1), F.normalize(music_vectors, dim=-1)
        prior = None
        if self.text_log_prior is not None:
            table, rarest = self.text_log_prior
            keys = [text_key(row[: int(m.sum())]) for row, m in zip(ids, text_mask)]
            prior = torch.tensor([table.get(k, rarest) for k in keys], device=text.device)
        return contrastive_loss(text, music_vectors, self.logit_scale.exp(), prior)

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
            vectors.append(self.pooled_texts(ids, mask).double())
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
                vectors.append(self.pooled_music(music, mask).double())
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
            self.pooled_texts(*pad_batch(todo[start : start + 128], self.tokenizer.pad_token_id))
        self.text_cache.save()
        logger.info("text cache %s: %d texts computed, %d in all", self.text_cache.path, len(todo), len(self.pooled_texts))

    @torch.inference_mode()
    def evaluate(self) -> Evaluation | None:
        """Retrieval of each eval pair's music by its text, and the eval loss; the best model has the highest MRR."""
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
        # the set's size goes with its metrics: an MRR of 1.0 on one pair means nothing
        scores = {"loss": float(loss), "mrr": metrics["mrr"], "hit@1": metrics["hit@1"], "hit@10": metrics["hit@10"], "pairs": len(text)}
        return Evaluation(scores, score=metrics["mrr"])

    def save(self, folder: Path) -> Path:
        self.model.eval()
        if self.text_cache is not None:
            self.text_cache.save()
        save_pretrained(self.model, folder)
        if self.config.export_official:
            export_official(self.model, folder / "clamp3_official.pth")
        return folder
