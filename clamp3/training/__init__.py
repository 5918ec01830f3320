"""Training: data, the contrastive objective, and a resumable trainer. Not needed to embed."""

from clamp3.training.trainer import TrainConfig, train

__all__ = ["TrainConfig", "train"]
