"""Model configuration as data. Defaults equal the released CLaMP 3 checkpoints (SAAS and C2)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clamp3.errors import ConfigError

PRESETS_DIR = Path(__file__).parent / "presets"


@dataclass
class EncoderConfig:
    """A BERT encoder over patches (symbolic) or feature frames (audio).

    Heads default to hidden / 64 and the feed-forward width to 4 x hidden, as the official
    configs build them.
    """

    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 0
    intermediate_size: int = 0
    max_length: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    def __post_init__(self) -> None:
        if self.hidden_size <= 0 or self.num_layers <= 0 or self.max_length <= 0:
            raise ConfigError(
                f"encoder sizes must be positive, got hidden_size={self.hidden_size} "
                f"num_layers={self.num_layers} max_length={self.max_length}"
            )
        self.num_heads = self.num_heads or max(1, self.hidden_size // 64)
        self.intermediate_size = self.intermediate_size or 4 * self.hidden_size
        if self.hidden_size % self.num_heads:
            raise ConfigError(f"hidden_size={self.hidden_size} is not divisible by num_heads={self.num_heads}")


@dataclass
class CLaMP3Config:
    """The whole model plus the preprocessing its weights expect.

    ``text_model`` names the tokenizer and text-tower config (a hub id or a directory);
    ``text_config`` holds that config once resolved, so a saved model needs no hub access.
    ``text_tuned_layers``: how many of a packaged text tower's top layers were trained with the
    model; their weights are saved with it, the rest of the tower comes from the package.
    """

    text_model: str = "FacebookAI/xlm-roberta-base"
    text_config: dict[str, Any] | None = None
    max_text_length: int = 128
    patch_size: int = 64
    symbolic: EncoderConfig = field(default_factory=lambda: EncoderConfig(max_length=512))
    audio: EncoderConfig = field(default_factory=lambda: EncoderConfig(max_length=128))
    projection_size: int = 768
    audio_extractor: str = "m-a-p/MERT-v1-95M"
    text_tuned_layers: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.symbolic, dict):
            self.symbolic = EncoderConfig(**self.symbolic)
        if isinstance(self.audio, dict):
            self.audio = EncoderConfig(**self.audio)
        if self.patch_size < 3:
            raise ConfigError(f"patch_size must be at least 3 (BOS, a character, EOS), got {self.patch_size}")
        if self.max_text_length < 2:
            raise ConfigError(f"max_text_length must be at least 2, got {self.max_text_length}")
        if self.projection_size <= 0:
            raise ConfigError(f"projection_size must be positive, got {self.projection_size}")
        layers = (self.text_config or {}).get("num_hidden_layers")
        if self.text_tuned_layers < 0 or (layers is not None and self.text_tuned_layers > layers):
            raise ConfigError(f"text_tuned_layers must be between 0 and the text tower's {layers or 'number of'} layers, "
                              f"got {self.text_tuned_layers}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.text_tuned_layers:  # a model without tuned text layers keeps the config earlier versions read
            del data["text_tuned_layers"]
        return data

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> CLaMP3Config:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"{path}: unknown config keys {sorted(unknown)}")
        return cls(**data)


def load_preset(name: str) -> dict[str, Any]:
    path = PRESETS_DIR / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))
