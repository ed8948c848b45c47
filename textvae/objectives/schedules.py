"""β schedules: the KL weight as a function of the optimizer step, one registered class per shape."""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    """Build the β schedule named by an ObjectiveConfig (or any object with its β fields)."""
    return BETA_SCHEDULES.get(objective.beta_schedule).from_config(objective)
