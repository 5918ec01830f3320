"""Outputs of a frozen tower computed once per input: the mean-pooled hidden states of the text
tower or of a music tower, kept in memory for a run and, for text, in a file between runs."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import torch

from clamp3.io import atomic_write
from clamp3.models import masked_mean

logger = logging.getLogger(__name__)


def text_key(ids: torch.Tensor) -> bytes:
    """A text's token ids -> its key in the pooled-output cache."""
    return hashlib.sha1(ids.to(torch.int32).numpy().tobytes()).digest()


def music_key(music: torch.Tensor) -> bytes:
    """A music input (patches or frames, without padding) -> its key in the pooled-output cache."""
    return hashlib.sha1(music.numpy().tobytes()).digest()


class FrozenOutputs(Mapping[bytes, torch.Tensor]):
    """Mean-pooled outputs of a frozen tower, each input computed once: ``outputs(inputs, mask)``
    with inputs (batch, length, ...) and mask (batch, length) -> (batch, hidden) float32 on the CPU.

    ``encode(inputs, mask)`` runs the tower -> (batch, length, hidden); ``key`` names an input by
    its unpadded rows. New inputs are cut to their own longest (a cached output does not depend on
    the batch that first held it) and run without autocast (it is computed once, and a text cache
    file is shared by runs of any precision). As a mapping: key -> (hidden,) output."""

    def __init__(self, encode: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], key: Callable[[torch.Tensor], bytes],
                 device: str, vectors: dict[bytes, torch.Tensor] | None = None):
        self.encode, self.key, self.device = encode, key, device
        self.vectors: dict[bytes, torch.Tensor] = {} if vectors is None else vectors

    def __getitem__(self, key: bytes) -> torch.Tensor:
        return self.vectors[key]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.vectors)

    def __len__(self) -> int:
        return len(self.vectors)

    def __call__(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keys = [self.key(row[: int(m.sum())]) for row, m in zip(inputs, mask)]
        new = list(dict.fromkeys(k for k in keys if k not in self.vectors))
        if new:
            rows = [keys.index(k) for k in new]
            length = int(mask[rows].sum(dim=1).max())
            sub, sub_mask = inputs[rows, :length].to(self.device), mask[rows, :length].to(self.device)
            with torch.no_grad(), torch.autocast(sub.device.type, enabled=False):
                pooled = masked_mean(self.encode(sub, sub_mask).float(), sub_mask).cpu()
            for key, vector in zip(new, pooled):
                self.vectors[key] = vector
        return torch.stack([self.vectors[k] for k in keys])


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
