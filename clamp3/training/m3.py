"""M3 pretraining: masked patch reconstruction with the character decoder, as the official
train_m3.py: 45% of the patches selected; in training they are masked (0.8), their characters
shuffled (0.1) or kept (0.1); the decoder rebuilds each selected patch from its encoder feature.
The data (:class:`M3Data`) and the training objective (:class:`M3Task`)."""

from __future__ import annotations

import logging
import math
import random
from pathlib import Path

import numpy as np
import torch

from clamp3.config import EncoderConfig
from clamp3.errors import INPUT_ERRORS
from clamp3.formats import SYMBOLIC_EXTENSIONS, read_items
from clamp3.io import atomic_write, collect_files
from clamp3.models import M3Model, load_m3
from clamp3.models.patchilizer import EOS_ID, MASK_ID, PAD_ID, Patchilizer
from clamp3.preprocess import pad_batch
from clamp3.training.config import TrainConfig
from clamp3.training.data import truncate
from clamp3.training.task import Evaluation, check_bad_data

logger = logging.getLogger(__name__)

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


class M3Task:
    """Masked patch reconstruction of the symbolic encoder with its character decoder."""

    logit_scale = None

    def __init__(self, config: TrainConfig):
        self.config = config
        if config.weights in ("", "new"):
            encoder = EncoderConfig(hidden_size=config.m3_hidden, num_layers=config.m3_layers, max_length=config.m3_max_patches)
            self.model = M3Model(encoder, config.m3_decoder_layers, config.patch_size)
        else:
            self.model = load_m3(config.weights)
        self.model.to(config.device)
        max_patches = self.model.encoder_config.max_length
        self.data = M3Data(config.train_data.split(","), self.model.patch_size, max_patches)
        self.eval = M3Data(config.eval_data.split(","), self.model.patch_size, max_patches) if config.eval_data else None
        for line in self.data.bad:
            logger.warning("%s", line)
        check_bad_data(self.data.bad, len(self.data), config)
        self.rng = random.Random(config.seed)

    def __len__(self) -> int:
        return len(self.data)

    def lengths(self) -> list[int]:
        return [len(item) for item in self.data.items]

    def parameters(self):
        return list(self.model.parameters())

    def parameter_groups(self) -> list[dict]:
        return [{"params": self.parameters()}]

    def train_mode(self) -> None:
        self.model.train()

    def _loss(self, data: M3Data, indices: list[int], rng: random.Random, train: bool) -> torch.Tensor:
        inputs, mask, selected, targets = collate_m3([data.example(i, rng, train) for i in indices])
        device = self.config.device
        return self.model(inputs.to(device), mask.to(device), selected.to(device), targets.to(device)).loss

    def loss(self, indices: list[int]) -> torch.Tensor:
        return self._loss(self.data, indices, self.rng, True)

    @torch.inference_mode()
    def evaluate(self) -> Evaluation | None:
        """The reconstruction loss on the evaluation files; the best model has the lowest."""
        if self.eval is None or not len(self.eval):
            return None
        self.model.eval()
        rng = random.Random(0)  # the same selection every epoch
        losses = [float(self._loss(self.eval, list(range(s, min(len(self.eval), s + 16))), rng, False)) for s in range(0, len(self.eval), 16)]
        loss = float(np.mean(losses))
        return Evaluation({"loss": loss}, score=-loss)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        atomic_write(folder / "m3.pth", lambda handle: torch.save({"model": state, "epoch": 0, "min_eval_loss": 0.0}, handle))
        return folder
