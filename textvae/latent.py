"""The Gaussian posterior q(z|x): reparameterization, KL to the prior, log densities, free bits, and the
importance-weighted bound on log p(x).

Shared by the text and the image models: this is the one place for this math.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I), summed over the last dimension."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


@dataclass
class DiagonalGaussian:
    """q(z|x) = N(mu, diag(exp(logvar))); mu and logvar are (batch, latent_dim)."""

    mu: Tensor
    logvar: Tensor

    @property
    def std(self) -> Tensor:
        return torch.exp(0.5 * self.logvar)

    def rsample(self, num_samples: int | None = None, scale: float = 1.0) -> Tensor:
        """z = mu + scale * sigma * eps (the reparameterization trick; gradients reach mu and sigma).

        Returns (batch, dim), or (num_samples, batch, dim) when num_samples is given.
        """
        shape = self.mu.shape if num_samples is None else (num_samples, *self.mu.shape)
        eps = torch.randn(shape, dtype=self.mu.dtype, device=self.mu.device)
        return self.mu + scale * self.std * eps

    def kl_per_dim(self) -> Tensor:
        """Closed-form KL(q || N(0, I)) per dimension, (batch, dim); >= 0."""
        return 0.5 * (self.mu.pow(2) + self.logvar.exp() - 1.0 - self.logvar)

    def kl_to(self, prior: DiagonalGaussian) -> Tensor:
        """Closed-form KL(q || p) per dimension for a diagonal Gaussian p, (batch, dim); >= 0."""
        return 0.5 * (prior.logvar - self.logvar + (self.logvar.exp() + (self.mu - prior.mu).pow(2))
                      / prior.logvar.exp() - 1.0)

    def kl(self) -> Tensor:
        """KL(q || N(0, I)) per example, (batch,)."""
        return self.kl_per_dim().sum(-1)

    def log_prob(self, z: Tensor) -> Tensor:
        """log q(z|x) summed over dimensions; z is (..., batch, dim)."""
        return -0.5 * ((z - self.mu).pow(2) / self.logvar.exp() + self.logvar + LOG_2PI).sum(-1)


def free_bits_kl(kl_per_dim: Tensor, floor: float) -> Tensor:
    """Batch KL with a per-dimension floor (Kingma et al. 2016): sum_d max(floor, mean_batch KL_d).

    Dimensions already below the floor get no gradient, so the optimizer stops pushing them to the prior.
    """
    per_dim = kl_per_dim.mean(0)
    if floor > 0:
        per_dim = torch.clamp(per_dim, min=floor)
    return per_dim.sum()


def log_importance_weights(posterior: DiagonalGaussian, z: Tensor, reconstruction_nll: Tensor) -> Tensor:
    """log p(x|z_k) + log N(z_k; 0, I) - log q(z_k|x) for draws z (K, B, D) of `posterior` and their
    -log p(x|z_k) (K, B): (K, B)."""
    return -reconstruction_nll + standard_normal_log_prob(z) - posterior.log_prob(z)


def importance_weighted_bound(log_weights: Tensor) -> Tensor:
    """log (1/K) sum_k w_k for log weights (K, B): the bound on log p(x) that is >= the ELBO and tightens as K
    grows (Burda et al. 2016), (B,)."""
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])
