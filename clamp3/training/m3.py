"""M3 pretraining: masked patch reconstruction with the character decoder, as the official
train_m3.py: 45% of the patches selected; in training they are masked (0.8), their characters
shuffled (0.1) or kept (0.1); the decoder rebuilds each selected patch from its encoder feature."""

from __future__ import annotations

import math
import random
from pathlib import Path

import torch

from clamp3.errors import INPUT_ERRORS
from clamp3.formats import SYMBOLIC_EXTENSIONS, read_items
from clamp3.io import collect_files
from clamp3.models.patchilizer import EOS_ID, MASK_ID, PAD_ID, Patchilizer
from clamp3.preprocess import pad_batch
from clamp3.training.data import truncate

MASK_RATIO = 0.45


def mask_patches(patches: torch.Tensor, rng: random.Random, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, patch_size) -> corrupted input (n, patch_size) and the selected patches (n,) bool."""
    n = len(patches)
    chosen = sorted(rng.sample(range(n), math.ceil(MASK_RATIO * n)))
    choice = rng.choices(["mask", "shuffle", "original"], weights=[0.8, 0.1, 0.1])[0] if train else "original"
    corrupted = patches.clone()
    if choice == "mask":
        corrupted[chosen] = MASK_ID
    elif choice == "shuffle":
        for index in chosen:
            patch = corrupted[index]
            eos = (patch == EOS_ID).nonzero()
            end = int(eos[0]) if len(eos) == 1 else len(patch)  # the closing patch holds many EOS codes
            middle = list(range(1, end))
            rng.shuffle(middle)
            corrupted[index] = patch[[0, *middle, *range(end, len(patch))]]
    selected = torch.zeros(n, dtype=torch.bool)
    selected[chosen] = True
    return corrupted, selected


class M3Data:
    """Symbolic files (folders searched recursively) -> patch arrays, converted once."""

    def __init__(self, sources: list[str], patch_size: int, max_patches: int):
        self.patchilizer = Patchilizer(patch_size)
        self.max_patches = max_patches
        self.items: list[torch.Tensor] = []
        self.bad: list[str] = []
        files, missing = collect_files(sources, SYMBOLIC_EXTENSIONS)
        self.bad += [f"{m}: no such file or folder" for m in missing]
        for path, _ in files:
            try:
                for item in read_items(Path(path)):
                    if item.modality == "symbolic":
                        self.items.append(torch.from_numpy(self.patchilizer.encode(item.data)))
            except INPUT_ERRORS as exc:
                self.bad.append(str(exc))

    def __len__(self) -> int:
        return len(self.items)

    def example(self, index: int, rng: random.Random, train: bool):
        patches = truncate(self.items[index], self.max_patches, rng, train)
        corrupted, selected = mask_patches(patches, rng, train)
        return corrupted, selected, patches


def collate_m3(examples):
    """(corrupted, selected, patches) examples -> padded inputs, their mask, the selection and targets."""
    corrupted, selected, patches = zip(*examples)
    inputs, mask = pad_batch(corrupted, PAD_ID)  # (batch, longest, patch_size), (batch, longest)
    return inputs, mask, pad_batch(selected, False)[0], pad_batch(patches, PAD_ID)[0]
