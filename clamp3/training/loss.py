"""The CLaMP 3 objective: symmetric InfoNCE between text and music vectors, negatives gathered
across ranks with their gradient."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch.nn import functional as F


def gather_with_grad(features: torch.Tensor) -> torch.Tensor:
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return features
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(features), dim=0)


def contrastive_loss(
    text: torch.Tensor, music: torch.Tensor, logit_scale: torch.Tensor | float = 1.0, text_log_prior: torch.Tensor | None = None
) -> torch.Tensor:
    """(B, D), (B, D) -> scalar. Vectors are used as the model projects them (not normalised),
    with the official fixed logit scale of 1 by default.

    ``text_log_prior`` (B,), the log frequency of each text in the training data, is subtracted
    from the music -> text logits (logit adjustment): in-batch InfoNCE learns the pointwise mutual
    information log p(text | music) / p(text), which ranks a frequent class's text below a rare
    one's for the same evidence; adjusted, similarities estimate log p(text | music) and zero-shot
    classes keep their base rates. Text -> music rows are unchanged (a constant per row).
    """
    text, music = gather_with_grad(text), gather_with_grad(music)
    logits = logit_scale * text @ music.T
    labels = torch.arange(len(text), device=text.device)
    music_to_text = logits.T
    if text_log_prior is not None:
        music_to_text = music_to_text - gather_with_grad(text_log_prior.to(logits.dtype))[None, :]
    return (F.cross_entropy(logits, labels) + F.cross_entropy(music_to_text, labels)) / 2
