"""The ELBO: -ELBO per example = reconstruction (summed cross-entropy) + β · KL(q(z|x) || p(z)), with free bits,
word dropout, label smoothing and the optional bag-of-words term."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor

from textvae.latent import free_bits_kl
from textvae.objectives.base import OBJECTIVES, LossTerms, Objective
from textvae.objectives.schedules import build_beta_schedule


def elbo_loss(reconstruction: Tensor, kl_per_dim: Tensor | None, beta: float, free_bits: float = 0.0) -> LossTerms:
    """Mean over the batch of reconstruction + β · KL, with an optional per-dimension free-bits floor."""
    if kl_per_dim is None:
        kl = torch.zeros_like(reconstruction)
        return LossTerms(reconstruction.mean(), reconstruction, kl, beta)
    kl_term = free_bits_kl(kl_per_dim, free_bits)
    loss = reconstruction.mean() + beta * kl_term
    return LossTerms(loss, reconstruction, kl_per_dim.sum(-1), beta)


@OBJECTIVES.register("elbo")
@dataclass(frozen=True)
class ELBO(Objective):
    """-ELBO with β from a schedule, free bits and word dropout; a model with a bag-of-words head adds its
    NLL weighted by model.bow_weight (logged as `bow`). An AE or LM minimises its reconstruction alone.

    With label smoothing ε the reconstruction is trained as (1 - ε) its NLL + ε the output layer's
    cross-entropy against the uniform distribution (Szegedy et al. 2016; logged as `uniform_ce`); the
    reconstruction it reports, and validation, stay the true NLL."""

    beta_schedule: Callable[[int], float]
    word_dropout: float = 0.0
    free_bits: float = 0.0
    bow_weight: float = 0.0
    label_smoothing: float = 0.0

    @classmethod
    def from_config(cls, objective, model) -> ELBO:
        return cls(build_beta_schedule(objective), objective.word_dropout, objective.free_bits, model.bow_weight,
                   objective.label_smoothing)

    def __call__(self, model, batch: dict, step: int,
                 autocast: Callable[[], AbstractContextManager] = nullcontext) -> LossTerms:
        beta = self.beta_schedule(step)
        with autocast():
            out = model(batch, word_dropout_rate=self.word_dropout, uniform=self.label_smoothing > 0)
        terms = elbo_loss(out.reconstruction, out.kl_per_dim, beta, self.free_bits)
        if out.uniform_ce is not None:
            terms.loss = terms.loss + self.label_smoothing * (out.uniform_ce - out.reconstruction).mean()
            terms.extra["uniform_ce"] = out.uniform_ce
        if out.bag_of_words is not None:
            terms.loss = terms.loss + self.bow_weight * out.bag_of_words.mean()
            terms.extra["bow"] = out.bag_of_words
        return terms
