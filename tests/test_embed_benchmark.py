"""benchmarks/embed.py's account: the FLOPs it counts from the config equal what torch's own FLOP
counter sees when the symbolic tower runs (a tiny config; attention on the math path, whose
products the counter sees), the official loop's one-hot patch embedding included."""

from __future__ import annotations

import pytest
import torch
from support import benchmark_script
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from clamp3.config import CLaMP3Config, EncoderConfig
from clamp3.models.m3 import NUM_CHARS, M3PatchEncoder


@pytest.fixture(scope="module")
def embed_script():
    with benchmark_script("embed") as module:
        yield module


def counted_flops(encoder: M3PatchEncoder, patches: torch.Tensor, one_hot: bool) -> int:
    """FLOPs torch counts for one forward pass: through clamp3's encoder, or as the official loop
    runs it (the dense product of the one-hot patch)."""
    mask = torch.ones(patches.shape[:2])
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        if one_hot:
            dense = torch.nn.functional.one_hot(patches, NUM_CHARS).reshape(*patches.shape[:2], -1).float()
            encoder.base(inputs_embeds=encoder.patch_embedding(dense), attention_mask=mask)
        else:
            encoder(patches, mask)
    return counter.get_total_flops()


@pytest.mark.parametrize("one_hot", [False, True])
@pytest.mark.parametrize("length", [5, 32])
def test_patch_flops_equal_the_counted_flops(embed_script, one_hot, length):
    config = CLaMP3Config(text_config={}, patch_size=8, symbolic=EncoderConfig(hidden_size=64, num_layers=2, max_length=32))
    encoder = M3PatchEncoder(config.symbolic, config.patch_size).eval()
    batch = 3
    patches = torch.randint(0, NUM_CHARS, (batch, length, config.patch_size))
    expected = batch * length * embed_script.patch_flops(config, length, one_hot)
    pooler = batch * 2 * config.symbolic.hidden_size**2  # per segment, left out of the account
    if not one_hot:  # the sum of weight rows is no product: the counter does not see it
        expected -= batch * length * config.patch_size * config.symbolic.hidden_size
    assert counted_flops(encoder, patches, one_hot) == expected + pooler
