"""Deterministic random weights for conformance tests and benchmarks.

The same seed gives the same tensors on any machine with the same torch version, so a test can
rebuild a full-size checkpoint instead of shipping 1.8 GB of it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from clamp3.config import CLaMP3Config
from clamp3.models.clamp3 import CLaMP3Model
from clamp3.models.loading import export_official

# FacebookAI/xlm-roberta-base's config.json, the text tower of the official checkpoints.
XLMR_BASE_CONFIG = {
    "model_type": "xlm-roberta",
    "vocab_size": 250002,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "layer_norm_eps": 1e-05,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}


def randomize_(model: torch.nn.Module, seed: int = 0, std: float = 0.02) -> torch.nn.Module:
    """Fill every parameter with seeded noise: N(0, std), and N(1, std) for LayerNorm scales."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            noise = torch.randn(param.shape, generator=generator) * std
            param.copy_(noise + 1.0 if name.endswith("LayerNorm.weight") else noise)
    return model


def saas_shaped_config() -> CLaMP3Config:
    """The released SAAS / C2 architecture (about 458M parameters)."""
    return CLaMP3Config(text_config=dict(XLMR_BASE_CONFIG))


def random_official_checkpoint(path: str | Path, config: CLaMP3Config, seed: int = 0) -> CLaMP3Model:
    """Build ``config`` with seeded random weights and save it in the official .pth layout."""
    model = randomize_(CLaMP3Model(config), seed)
    export_official(model, path)
    return model
