"""What the training loop asks of an objective (:class:`Task`), and the order of an epoch's examples.

A new objective is one module with a class that has these members, and that judges its data with
:func:`check_bad_data` as soon as it is read; ``train`` picks it by ``TrainConfig.objective``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from clamp3.errors import ConfigError
from clamp3.training.config import TrainConfig


@dataclass(frozen=True)
class Evaluation:
    """One evaluation: ``metrics`` go to the ``eval`` event as they are; ``score`` (higher is
    better) decides which epoch's model is kept as ``best``."""

    metrics: dict[str, float]
    score: float


def check_bad_data(bad: list[str], usable: int, config: TrainConfig, other_good: int = 0) -> None:
    """A ConfigError naming the first bad example where the share of bad ones among those read
    (``bad``: a line each, the file, line and reason; ``usable`` training examples and
    ``other_good`` evaluation ones) is over ``config.max_bad_fraction``, or where no training
    example is usable. A task calls it as soon as its data is read, before it spends anything on the data
    (text caches, whitening)."""
    fraction = len(bad) / max(1, len(bad) + usable + other_good)
    first = f"; the first: {bad[0]}" if bad else ""
    if fraction > config.max_bad_fraction:
        raise ConfigError(f"{fraction:.0%} of {config.train_data} is bad data, over max_bad_fraction={config.max_bad_fraction}{first}")
    if not usable:
        raise ConfigError(f"{config.train_data}: no usable training example{first}")


class Task(Protocol):
    model: torch.nn.Module  # what the checkpoint saves (its state_dict keys are the checkpoint's)
    logit_scale: torch.nn.Parameter | None  # a parameter outside the model, saved beside it, or none
    rng: random.Random  # the data's random stream, saved per rank

    def __len__(self) -> int: ...

    def lengths(self) -> list[int]:
        """The length of each training example, for length-bucketed batches."""

    def parameters(self) -> list[torch.nn.Parameter]:
        """What the optimiser trains."""

    def parameter_groups(self) -> list[dict]:
        """:meth:`parameters` as the optimiser's groups (``{"params": [...]}``, with ``"lr"`` where a group has its own)."""

    def train_mode(self) -> None:
        """The model in training mode (its frozen parts stay in eval mode)."""

    def loss(self, indices: list[int]) -> torch.Tensor:
        """The loss of the training examples ``indices`` (this rank's share of a global batch)."""

    def evaluate(self) -> Evaluation | None:
        """On the evaluation data, or None without any."""

    def save(self, folder: Path) -> Path:
        """The model in the task's own format under ``folder``; returns the folder."""


def epoch_order(task: Task, config: TrainConfig, epoch: int, global_batch: int) -> list[int]:
    """The examples of one epoch in batch order: a seeded permutation, or with ``length_buckets``
    windows of that many batches sorted by length, their batches then shuffled (less padding)."""
    generator = torch.Generator().manual_seed(config.seed + epoch)
    order = torch.randperm(len(task), generator=generator).tolist()
    if config.length_buckets <= 0:
        return order
    lengths = task.lengths()
    window = config.length_buckets * global_batch
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + global_batch] for i in range(0, len(chunk), global_batch)]
    full = [b for b in batches if len(b) == global_batch]
    shuffled = torch.randperm(len(full), generator=generator).tolist()
    return [i for b in shuffled for i in full[b]]
