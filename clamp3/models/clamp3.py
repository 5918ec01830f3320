"""CLaMP 3: text, symbolic and audio encoders projected into one space."""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig

from clamp3.config import CLaMP3Config
from clamp3.models.bert import BertEncoder, build_encoder
from clamp3.models.m3 import M3PatchEncoder
from clamp3.models.packaged import PREFIX as PACKAGED_PREFIX


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(batch, length, hidden), (batch, length) -> (batch, hidden), the mean over unmasked steps."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1)


def build_text_model(config: CLaMP3Config) -> nn.Module:
    if config.text_config is None:
        raise ValueError("CLaMP3Config.text_config must be resolved before building the model")
    text_config = dict(config.text_config)
    model_type = text_config.pop("model_type")
    hf_config = AutoConfig.for_model(model_type, **text_config)
    # packaged towers carry no pooler (CLaMP 3 mean-pools)
    return build_encoder(hf_config, add_pooling_layer=not config.text_model.startswith(PACKAGED_PREFIX))


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
        self.audio_model = BertEncoder(config.audio.to_bert(), add_pooling_layer=True)
        self.audio_proj = nn.Linear(config.audio.hidden_size, config.projection_size)
        for proj in (self.text_proj, self.symbolic_proj, self.audio_proj):
            nn.init.normal_(proj.weight, std=0.02)
        self.tokenizer = None  # set by load_model; not a submodule

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
