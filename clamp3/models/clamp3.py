"""CLaMP 3: text, symbolic and audio encoders projected into one space."""

from __future__ import annotations

import threading

import torch
from torch import nn

from clamp3.config import CLaMP3Config
from clamp3.models.bert import BertEncoder, build_encoder, encoder_config, tower_settings
from clamp3.models.m3 import M3PatchEncoder
from clamp3.models.packaged import PREFIX as PACKAGED_PREFIX

# One load of a deferred tokenizer at a time (the app encodes from many threads).
_TOKENIZER_LOCK = threading.Lock()


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(batch, length, hidden), (batch, length) -> (batch, hidden), the mean over unmasked steps."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1)


def build_text_model(config: CLaMP3Config) -> nn.Module:
    if config.text_config is None:
        raise ValueError("CLaMP3Config.text_config must be resolved before building the model")
    # packaged towers carry no pooler (CLaMP 3 mean-pools)
    return build_encoder(encoder_config(config.text_config), add_pooling_layer=not config.text_model.startswith(PACKAGED_PREFIX))


class CLaMP3Model(nn.Module):
    """The three towers and their projections.

    Submodule names equal the official checkpoint's keys (``text_model``, ``text_proj``,
    ``symbolic_model``, ``symbolic_proj``, ``audio_model``, ``audio_proj``). The contrastive loss
    lives in training; this module only encodes.
    """

    def __init__(self, config: CLaMP3Config):
        super().__init__()
        self.config = config
        self.text_model = build_text_model(config)
        text_hidden = self.text_model.config.hidden_size
        self.text_proj = nn.Linear(text_hidden, config.projection_size)
        self.symbolic_model = M3PatchEncoder(config.symbolic, config.patch_size)
        self.symbolic_proj = nn.Linear(config.symbolic.hidden_size, config.projection_size)
        self.audio_model = BertEncoder(tower_settings(config.audio), add_pooling_layer=True)
        self.audio_proj = nn.Linear(config.audio.hidden_size, config.projection_size)
        for proj in (self.text_proj, self.symbolic_proj, self.audio_proj):
            nn.init.normal_(proj.weight, std=0.02)
        self._tokenizer = None  # not a submodule
        self._tokenizer_source: str | None = None

    @property
    def tokenizer(self):
        """The text tokenizer. One that :meth:`defer_tokenizer` named is loaded here, on first use
        (a second of CPU for XLM-R's: work on music alone never pays for it)."""
        if self._tokenizer is None and self._tokenizer_source is not None:
            from clamp3.models.tokenizer import load_tokenizer

            with _TOKENIZER_LOCK:
                if self._tokenizer is None:
                    self._tokenizer = load_tokenizer(self._tokenizer_source)
        return self._tokenizer

    @tokenizer.setter
    def tokenizer(self, tokenizer) -> None:
        self._tokenizer, self._tokenizer_source = tokenizer, None

    def defer_tokenizer(self, source: str) -> None:
        """Load the tokenizer of ``source`` (a directory or a name for ``load_tokenizer``) when it is first used."""
        self._tokenizer, self._tokenizer_source = None, source

    @property
    def has_tokenizer(self) -> bool:
        """Whether the model has a tokenizer, loaded or to be loaded (without loading it)."""
        return self._tokenizer is not None or self._tokenizer_source is not None

    @property
    def device(self) -> torch.device:
        return self.text_proj.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.text_proj.weight.dtype

    # Hidden states, (batch, length, hidden) -------------------------------------------------
    def text_hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.text_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def symbolic_hidden(self, patches: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.symbolic_model(patches, attention_mask)

    def audio_hidden(self, features: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        features = features.to(self.dtype)
        return self.audio_model(inputs_embeds=features, attention_mask=attention_mask).last_hidden_state

    # Global vectors in the shared space, (batch, projection_size) ---------------------------
    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.text_proj(masked_mean(self.text_hidden(input_ids, attention_mask), attention_mask))

    def encode_symbolic(self, patches: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.symbolic_proj(masked_mean(self.symbolic_hidden(patches, attention_mask), attention_mask))

    def encode_audio(self, features: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.audio_proj(masked_mean(self.audio_hidden(features, attention_mask), attention_mask))

    def hidden(self, modality: str, inputs: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return getattr(self, f"{modality}_hidden")(inputs, attention_mask)

    def project(self, modality: str, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return getattr(self, f"{modality}_proj")(masked_mean(hidden, attention_mask))
