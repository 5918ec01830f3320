"""Training: settings, data, the objectives (tasks) and a resumable loop. Not needed to embed.

``config`` (TrainConfig) -> ``loop.train`` runs a ``task.Task``: ``contrastive.ContrastiveTask``
(CLaMP 3's stages) or ``m3.M3Task``; ``frozen`` keeps a frozen tower's outputs, ``checkpoint``
writes and reads the resumable state."""

from clamp3.training.config import TrainConfig
from clamp3.training.loop import train

__all__ = ["TrainConfig", "train"]
