"""A 2-D map of a latent space: PCA of a corpus's posterior means, with the way back from the plane to z."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from textvae.errors import TextVAEError


@dataclass(frozen=True)
class LatentMap:
    """The plane through the corpus mean spanned by its two principal axes."""

    texts: list[str]
    mean: Tensor  # (D,)
    axes: Tensor  # (2, D) orthonormal rows
    points: Tensor  # (n, 2) the corpus on the map
    explained_variance: list[float]  # fraction of the total variance along each axis

    @classmethod
    def fit(cls, texts: list[str], mu: Tensor) -> LatentMap:
        """PCA of posterior means mu (n, D) of `texts`; each axis's sign is fixed so that its largest
        loading is positive (the same corpus gives the same picture every time)."""
        if mu.shape[0] < 2 or mu.shape[1] < 2:
            raise TextVAEError(f"a map needs at least 2 sentences in at least 2 latent dimensions, "
                               f"got {mu.shape[0]} in {mu.shape[1]}")
        mu = mu.detach().float().cpu()
        mean = mu.mean(0)
        _, singular, vh = torch.linalg.svd(mu - mean, full_matrices=False)
        axes = vh[:2]
        signs = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))
        axes = axes * signs
        variance = singular.square()
        explained = (variance[:2] / variance.sum().clamp_min(1e-12)).tolist()
        return cls(list(texts), mean, axes, (mu - mean) @ axes.T, explained)

    def project(self, z: Tensor) -> Tensor:
        """Latents (m, D) -> their map coordinates (m, 2)."""
        return (z.detach().float().cpu() - self.mean) @ self.axes.T

    def unproject(self, points: Tensor) -> Tensor:
        """Map coordinates (m, 2) -> the latents (m, D) of those points on the plane."""
        return self.mean + points.float() @ self.axes
