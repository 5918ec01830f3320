"""M3, the symbolic-music encoder: patches of characters -> BERT, and its pretraining decoder."""

from __future__ import annotations

import torch
from torch import nn

from clamp3.config import EncoderConfig
from clamp3.models.bert import BertEncoder, tower_settings

NUM_CHARS = 128  # patches hold 7-bit ASCII codes


class M3PatchEncoder(nn.Module):
    """Patches (batch, patches, patch_size) of character codes -> hidden states.

    The patch embedding is a linear map of the one-hot patch (patch_size x 128 -> hidden), kept
    as ``nn.Linear`` so that the weights are the official ones; it is computed as a sum of the
    patch_size weight columns the characters select, which is the same product without the
    (patch_size x 128)-wide one-hot matrix.
    """

    def __init__(self, config: EncoderConfig, patch_size: int = 64):
        super().__init__()
        self.patch_size = patch_size
        self.patch_embedding = nn.Linear(patch_size * NUM_CHARS, config.hidden_size)
        nn.init.normal_(self.patch_embedding.weight, std=0.02)
        self.base = BertEncoder(tower_settings(config), add_pooling_layer=True)
        # Made on the CPU even where loading builds on the meta device: arange and products there run
        # Python reference kernels whose first use imports torch._dynamo and sympy (0.5-1 s of CPU)
        self.register_buffer("_char_offsets", torch.arange(0, patch_size * NUM_CHARS, NUM_CHARS, device="cpu"), persistent=False)

    def _weight_rows(self) -> torch.Tensor:
        """The patch-embedding weight as contiguous rows (patch_size * 128, hidden).

        A lookup into the strided transpose is 100x slower than into a contiguous copy, so the
        copy is kept between calls while the weight does not change (not while training).
        """
        weight = self.patch_embedding.weight
        if torch.is_grad_enabled() and weight.requires_grad:
            return weight.t().contiguous()
        key = (weight.data_ptr(), weight._version, weight.dtype, weight.device)
        if getattr(self, "_rows_key", None) != key:
            with torch.no_grad(), torch.inference_mode(False):  # a normal tensor, usable in any mode
                self._rows = weight.t().contiguous()
            self._rows_key = key
        return self._rows

    def embed_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """(batch, patches, patch_size) int -> (batch, patches, hidden)."""
        columns = patches.clamp(0, NUM_CHARS - 1) + self._char_offsets  # (batch, patches, patch_size)
        flat = columns.reshape(-1, self.patch_size)
        summed = nn.functional.embedding_bag(flat, self._weight_rows(), mode="sum")  # (batch * patches, hidden)
        return (summed + self.patch_embedding.bias).view(*patches.shape[:2], -1)

    def forward(self, patches: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """-> last hidden state (batch, patches, hidden)."""
        embeds = self.embed_patches(patches).to(self.patch_embedding.weight.dtype)
        return self.base(inputs_embeds=embeds, attention_mask=attention_mask).last_hidden_state


class M3TokenDecoder(nn.Module):
    """GPT-2 over the characters of one patch, conditioned on that patch's encoder feature."""

    def __init__(self, hidden_size: int, num_layers: int, patch_size: int = 64):
        super().__init__()
        # transformers' model code is imported here only: its modeling utilities cost seconds of
        # imports that embedding never needs (see clamp3/models/bert.py)
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(
            vocab_size=NUM_CHARS,
            n_positions=patch_size,
            n_embd=hidden_size,
            n_layer=num_layers,
            n_head=max(1, hidden_size // 64),
            n_inner=hidden_size * 4,
            bos_token_id=1,
            eos_token_id=2,
            loss_type="ForCausalLM",
        )
        self.base = GPT2LMHeadModel(config)

    def forward(self, patch_features: torch.Tensor, target_patches: torch.Tensor):
        """patch_features (n, hidden), target_patches (n, patch_size) -> outputs with ``.loss``.

        The first input position is the patch feature instead of the BOS embedding; padding is
        neither attended to nor predicted.
        """
        embeds = self.base.transformer.wte(target_patches)
        embeds = torch.cat([patch_features.unsqueeze(1), embeds[:, 1:]], dim=1)
        padding = target_patches == 0
        labels = target_patches.masked_fill(padding, -100)
        return self.base(inputs_embeds=embeds, attention_mask=(~padding).long(), labels=labels)


class M3Model(nn.Module):
    """Encoder plus decoder, as pretrained by masked patch reconstruction."""

    def __init__(self, encoder: EncoderConfig, decoder_layers: int = 3, patch_size: int = 64):
        super().__init__()
        self.encoder_config = encoder
        self.decoder_layers = decoder_layers
        self.patch_size = patch_size
        self.encoder = M3PatchEncoder(encoder, patch_size)
        self.decoder = M3TokenDecoder(encoder.hidden_size, decoder_layers, patch_size)

    def forward(self, patches, attention_mask, selected, targets):
        """patches/targets (batch, patches, patch_size), selected (batch, patches) bool."""
        hidden = self.encoder(patches, attention_mask)
        return self.decoder(hidden[selected], targets[selected])
