"""The settings of a training run: one dataclass, read from a flat YAML mapping and ``key=value`` overrides.

One flat dataclass, not a sub-config per objective: its field names are at once the YAML keys of
the run files (``demo/configs/*.yaml``, the ``config.yaml`` each run writes beside its results),
the ``key=value`` overrides of ``clamp3 train`` and the record in every checkpoint. Nested
sub-configs would need a mapping from those flat names and back at each of these places, for
six M3 fields; the fields are grouped below by the objective that reads them instead.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from clamp3.errors import ConfigError
from clamp3.features.extractors import SPECTRAL_VERSIONS

OBJECTIVES = ("clamp3", "m3")
STAGES = ("symbolic", "audio")
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
_NULL = ("null", "none", "~")


@dataclass
class TrainConfig:
    # --- both objectives
    objective: str = "clamp3"  # or "m3"
    train_data: str = ""  # clamp3: a JSONL/CSV of pairs; m3: folders or files, comma-separated
    eval_data: str = ""
    # clamp3: the pairs' music files must lie (links resolved) under one of these folders, separated by
    # os.pathsep; "" allows any path, as the official scripts do. The app confines its runs with it.
    data_roots: str = ""
    output_dir: str = "runs/clamp3"
    weights: str = "default"  # clamp3: weights to start from (the embedded model, a preset, a path); m3: an M3 .pth, or "new"
    epochs: int = 10
    batch_size: int = 32  # per process
    learning_rate: float = 1e-5
    warmup_steps: int = 1000
    lr_schedule: str = "constant"  # after warm-up: "constant" (the official) or "cosine" (to 0 at the last step)
    max_grad_norm: float = 0.0  # > 0: clip the gradient norm
    weight_decay: float = 0.01
    accumulation: int = 1
    length_buckets: int = 0  # > 0: batches of similar length, sorted within windows of this many batches
    dropout: float | None = None  # None keeps the model's own
    checkpoint_every: int = 500
    max_bad_fraction: float = 0.1
    seed: int = 0
    device: str = "cpu"
    precision: str = "float32"
    max_steps: int = 0  # 0: all epochs
    tensorboard: bool = True  # also write the metrics for TensorBoard under OUTPUT_DIR/tensorboard
    # --- clamp3: contrastive text-music stages
    text_model: str | None = None
    init_m3: str = ""  # start the symbolic tower from this M3 checkpoint
    stage: str = "symbolic"
    logit_scale: float = 1.0
    learnable_temperature: bool = False
    normalize: bool = False  # True: cosine logits (CLIP); False: the official raw dot products
    freeze_text: bool = False  # the text tower and its projection
    freeze_text_model: bool = False  # the text tower only; its pooled outputs are computed once per text
    text_cache: str = ""  # with a frozen text tower: a file keeping its pooled outputs between runs and stages
    text_train_layers: int = 0  # > 0: only the text tower's top N layers are trained (below them it runs frozen, in eval mode)
    text_learning_rate: float = 0.0  # > 0: the learning rate of those layers (pretrained weights take a smaller one)
    text_sampling: str = "official"  # or "one": one candidate text per example (see PairDataset)
    text_prior: bool = False  # with text_sampling=one: music -> text logits corrected by each text's log frequency (see contrastive_loss)
    freeze_music_model: bool = False  # the stage's music tower only; its pooled outputs are computed once per input
    whiten_text: int = 0  # > 0, with a frozen text tower: text_proj starts as the whitening of this many training texts
    whiten_music: int = 0  # > 0: the stage's music projection starts as the whitening of this many training inputs
    audio_extractor: str = ""  # the extractor of the training data's audio features, when not the one the weights name: the trained model names it
    text_dropout: bool = True
    augment: bool = True  # random truncation and instrument-name removal of the music
    eval_split: float = 0.0
    export_official: bool = False
    # --- m3: masked patch reconstruction (a new model's shape, with weights="new")
    m3_hidden: int = 768
    m3_layers: int = 12
    m3_decoder_layers: int = 3
    m3_max_patches: int = 512
    patch_size: int = 64

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for spec in dataclasses.fields(self):
            setattr(self, spec.name, _coerce(spec.name, getattr(self, spec.name), hints[spec.name]))
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be clamp3 or m3, got '{self.objective}'")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"lr_schedule must be constant or cosine, got '{self.lr_schedule}'")
        if self.text_sampling not in ("official", "one"):
            raise ConfigError(f"text_sampling must be official or one, got '{self.text_sampling}'")
        if self.stage not in STAGES:
            raise ConfigError(f"stage must be one of {sorted(STAGES)}, got '{self.stage}'")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {sorted(PRECISIONS)}, got '{self.precision}'")
        if self.text_train_layers < 0 or self.text_learning_rate < 0:
            raise ConfigError(f"text_train_layers and text_learning_rate must not be negative, got "
                              f"{self.text_train_layers} and {self.text_learning_rate}")
        if self.text_train_layers and (self.freeze_text or self.freeze_text_model or self.text_cache):
            raise ConfigError("text_train_layers trains part of the text tower: it cannot go with freeze_text, "
                              "freeze_text_model or text_cache")
        if self.text_learning_rate and not self.text_train_layers:
            raise ConfigError("text_learning_rate is the learning rate of text_train_layers; set those too")
        if self.text_prior and self.text_sampling != "one":
            raise ConfigError("text_prior needs text_sampling=one (the frequency of a text is that of one whole candidate)")
        if self.objective == "clamp3" and self.batch_size < 2:
            raise ConfigError(f"a contrastive batch needs at least 2 pairs, got batch_size={self.batch_size}")
        if not self.train_data:
            raise ConfigError("train_data is required")
        if self.audio_extractor.startswith("spectral") and self.audio_extractor not in SPECTRAL_VERSIONS:
            raise ConfigError(f"audio_extractor '{self.audio_extractor}' is no extractor; the weight-free ones are "
                              f"{' and '.join(SPECTRAL_VERSIONS)} (or a MERT hub id or folder)")

    @classmethod
    def from_yaml(cls, path: str | Path | None, overrides: Sequence[str] = (), **fixed) -> TrainConfig:
        """The settings of a YAML mapping at ``path`` (none: the defaults), then ``key=value``
        ``overrides`` (each value read as YAML), then ``fixed`` (e.g. ``objective``)."""
        import yaml

        values: dict = {}
        if path:
            try:
                values = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())
                raise ConfigError(f"{path}: not a readable YAML file of training settings ({reason})") from exc
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: expected a mapping of training settings (key: value lines)")
        names = [spec.name for spec in dataclasses.fields(cls)]
        for override in overrides:
            key, sep, raw = override.partition("=")
            if not sep or key not in names:
                raise ConfigError(f"override '{override}' is not key=value with a key of {sorted(names)}")
            values[key] = yaml.safe_load(raw)
        unknown = set(values) - set(names)
        if unknown:
            raise ConfigError(f"unknown training settings {sorted(unknown)}")
        return cls(**{**values, **fixed})


def _coerce(name: str, value, hint):
    """``value`` as the type ``hint`` of field ``name``: YAML reads 1e-3 as text, overrides and
    forms give text; a value that is not of the type is a ConfigError naming the field and the value."""
    kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else (hint,)
    if type(None) in kinds:
        if value is None or (isinstance(value, str) and value.strip().lower() in _NULL):
            return None
        (hint,) = [kind for kind in kinds if kind is not type(None)]
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # YAML reads a folder named 2024 as a number
            return str(value)
        raise ConfigError(f"{name} must be text, got {value!r}")
    raise TypeError(f"TrainConfig.{name}: no coercion to {hint}")
