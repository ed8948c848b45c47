"""The training objective: ELBO with a β schedule, free bits and word dropout.

-ELBO per example = reconstruction (summed cross-entropy) + β · KL(q(z|x) || N(0, I)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from textvae.errors import ConfigError
from textvae.latent import free_bits_kl
from textvae.registry import Registry

BETA_SCHEDULES: Registry[type] = Registry("beta schedule")


@BETA_SCHEDULES.register("constant")
@dataclass(frozen=True)
class ConstantBeta:
    """β(step) = beta."""

    beta: float = 1.0

    @classmethod
    def from_config(cls, o) -> ConstantBeta:
        return cls(beta=o.beta)

    def __call__(self, step: int) -> float:
        return self.beta


@BETA_SCHEDULES.register("linear")
@dataclass(frozen=True)
class LinearBeta:
    """β rises linearly from 0 to beta over `steps` steps, then stays."""

    beta: float = 1.0
    steps: int = 10000

    @classmethod
    def from_config(cls, o) -> LinearBeta:
        return cls(beta=o.beta, steps=o.anneal_steps)

    def __call__(self, step: int) -> float:
        return self.beta * min(1.0, step / max(1, self.steps))


@BETA_SCHEDULES.register("logistic")
@dataclass(frozen=True)
class LogisticBeta:
    """β = beta / (1 + exp(-k (step - x0))) (Bowman et al. 2016)."""

    beta: float = 1.0
    k: float = 0.0025
    x0: int = 2500

    @classmethod
    def from_config(cls, o) -> LogisticBeta:
        return cls(beta=o.beta, k=o.logistic_k, x0=o.logistic_x0)

    def __call__(self, step: int) -> float:
        return self.beta / (1.0 + math.exp(-self.k * (step - self.x0)))


@BETA_SCHEDULES.register("cyclical")
@dataclass(frozen=True)
class CyclicalBeta:
    """Fu et al. 2019: each cycle of `period` steps holds β=0 for `zero` of it, rises linearly for
    `rise` of it, and stays at beta for the rest."""

    beta: float = 1.0
    period: int = 10000
    zero: float = 0.0
    rise: float = 0.5

    @classmethod
    def from_config(cls, o) -> CyclicalBeta:
        return cls(beta=o.beta, period=o.cycle_steps, zero=o.cycle_zero, rise=o.cycle_rise)

    def __call__(self, step: int) -> float:
        phase = (step % self.period) / self.period
        if phase < self.zero:
            return 0.0
        return self.beta * min(1.0, (phase - self.zero) / max(self.rise, 1e-8))


def build_beta_schedule(objective) -> object:
    """Build the β schedule named by an ObjectiveConfig."""
    return BETA_SCHEDULES.get(objective.beta_schedule).from_config(objective)


def word_dropout(input_ids: Tensor, rate: float, unk_id: int, keep: Tensor) -> Tensor:
    """Replace decoder inputs by <unk> with probability `rate` (Bowman et al. 2016).

    `keep` is a bool mask of positions never dropped (the start token and padding).
    """
    if rate <= 0:
        return input_ids
    if not 0 <= rate <= 1:
        raise ConfigError(f"word_dropout must be in [0, 1], got {rate}")
    drop = (torch.rand(input_ids.shape, device=input_ids.device) < rate) & ~keep
    return input_ids.masked_fill(drop, unk_id)


def drop_decoder_inputs(batch: dict, rate: float, unk_id: int) -> Tensor:
    """The batch's decoder inputs with word dropout applied to real tokens (never BOS or padding)."""
    inputs = batch["input_ids"]
    if rate <= 0:
        return inputs
    cols = torch.arange(inputs.shape[1], device=inputs.device).unsqueeze(0)
    keep = (cols == 0) | (cols >= batch["lengths"].unsqueeze(1))
    return word_dropout(inputs, rate, unk_id, keep)


@dataclass
class LossTerms:
    """What one batch contributes: `loss` to minimise and per-example figures for logging."""

    loss: Tensor
    reconstruction: Tensor  # (batch,) summed negative log-likelihood
    kl: Tensor  # (batch,) KL to the prior (zeros for an AE / LM)
    beta: float


def elbo_loss(reconstruction: Tensor, kl_per_dim: Tensor | None, beta: float, free_bits: float = 0.0) -> LossTerms:
    """Mean over the batch of reconstruction + β · KL, with an optional per-dimension free-bits floor."""
    if kl_per_dim is None:
        kl = torch.zeros_like(reconstruction)
        return LossTerms(reconstruction.mean(), reconstruction, kl, 0.0)
    kl_term = free_bits_kl(kl_per_dim, free_bits)
    loss = reconstruction.mean() + beta * kl_term
    return LossTerms(loss, reconstruction, kl_per_dim.sum(-1), beta)
