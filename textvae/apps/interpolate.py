"""Walk the latent space between two sentences' posterior means and decode each point."""

from __future__ import annotations

import torch
from torch import Tensor

from textvae.errors import TextVAEError
from textvae.registry import Registry

PATHS: Registry = Registry("interpolation method")


@PATHS.register("linear")
def linear(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    return (1 - t) * a + t * b


@PATHS.register("slerp")
def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation (keeps the norm typical of Gaussian samples); linear if a ∥ b."""
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1).clamp(-1 + 1e-7, 1 - 1e-7)
    omega = torch.arccos(cos)
    if omega.abs().item() < 1e-4:
        return linear(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def latent_path(a: Tensor, b: Tensor, steps: int, method: str = "linear") -> Tensor:
    """(steps, D) points from a to b inclusive."""
    if steps < 2:
        raise TextVAEError(f"steps must be >= 2, got {steps}")
    t = torch.linspace(0, 1, steps, device=a.device).unsqueeze(1)
    return PATHS.get(method)(a.unsqueeze(0), b.unsqueeze(0), t)


def interpolate(model, a: str, b: str, steps: int = 8, method: str = "linear", strategy: str = "greedy",
                **options) -> list[str]:
    """Greedy decodes of `steps` points between the posterior means of a and b (endpoints included)."""
    mu, _ = model.encode([a, b])
    return model.decode(latent_path(mu[0], mu[1], steps, method), strategy=strategy, **options)
