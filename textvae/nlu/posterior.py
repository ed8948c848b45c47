"""Heads that turn pooled encoder features into the posterior q(z|x) = N(mu, diag(sigma^2))."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from textvae.latent import DiagonalGaussian


class PosteriorHead(nn.Module):
    """Linear (or one-hidden-layer) map from features (B, H) to mu, logvar (B, latent_dim)."""

    def __init__(self, input_dim: int, latent_dim: int, hidden: int = 0, logvar_clamp: float = 10.0) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(input_dim, hidden), nn.Tanh()) if hidden else nn.Identity()
        self.proj = nn.Linear(hidden or input_dim, 2 * latent_dim)
        self.logvar_clamp = logvar_clamp

    def forward(self, features: Tensor) -> DiagonalGaussian:
        # The posterior is kept in float32 under mixed precision: KL and sampling need the precision.
        with torch.autocast(features.device.type, enabled=False):
            mu, logvar = self.proj(self.body(features.float())).chunk(2, dim=-1)
        return DiagonalGaussian(mu, logvar.clamp(-self.logvar_clamp, self.logvar_clamp))
