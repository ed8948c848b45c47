"""The objective contract: what one training batch contributes to the loss, and the registry of objectives."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from torch import Tensor

from textvae.registry import Registry


@dataclass
class LossTerms:
    """What one batch contributes: `loss` to minimise and per-example figures for logging."""

    loss: Tensor
    reconstruction: Tensor  # (batch,) summed negative log-likelihood
    kl: Tensor  # (batch,) KL to the prior (zeros for an AE / LM)
    beta: float  # the KL weight at this step (it weighs nothing for a model without a KL)
    extra: dict[str, Tensor] = field(default_factory=dict)  # further (batch,) terms, logged under their names


class Objective(ABC):
    """A training objective: built from an experiment's `objective` and `model` sections, it runs the model on
    a batch and returns the loss with its terms. The training loop only calls it, then steps.

    A new objective (a KL target, an importance-weighted bound, ...) is one module in this package: a subclass
    registered with `@OBJECTIVES.register(name)`, imported in `textvae/objectives/__init__.py`, and chosen
    with `objective.type: name`."""

    @classmethod
    @abstractmethod
    def from_config(cls, objective, model) -> Objective:
        """Build from an ObjectiveConfig and a ModelConfig."""

    @abstractmethod
    def __call__(self, model, batch: dict, step: int,
                 autocast: Callable[[], AbstractContextManager] = nullcontext) -> LossTerms:
        """The loss terms of `batch` at optimizer step `step`; the model's passes run under `autocast()` (the
        mixed-precision context of the training loop)."""


OBJECTIVES: Registry[type[Objective]] = Registry("objective")


def build_objective(objective, model) -> Objective:
    """The objective an ObjectiveConfig names (`objective.type`), built for a ModelConfig."""
    return OBJECTIVES.get(objective.type).from_config(objective, model)
