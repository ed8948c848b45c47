"""Training: the Accelerate loop, feature caching and resumable checkpoints."""

from textvae.training.trainer import Trainer, train

__all__ = ["Trainer", "train"]
