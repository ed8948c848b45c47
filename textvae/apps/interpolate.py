"""Walk the latent space between two sentences' posterior means and decode each point."""

from __future__ import annotations

from collections.abc import Iterator

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


def path_points(a: Tensor, b: Tensor, t: Tensor, method: str = "linear") -> Tensor:
    """(len(t), D) points at fractions t (1-D) of the way from a to b."""
    return PATHS.get(method)(a.unsqueeze(0), b.unsqueeze(0), t.unsqueeze(1))


def latent_path(a: Tensor, b: Tensor, steps: int, method: str = "linear") -> Tensor:
    """(steps, D) points from a to b inclusive."""
    if steps < 2:
        raise TextVAEError(f"steps must be >= 2, got {steps}")
    return path_points(a, b, torch.linspace(0, 1, steps, device=a.device), method)


def iter_interpolate(model, a: str, b: str, steps: int = 8, method: str = "linear", strategy: str = "greedy",
                     chunk: int = 4096, **options) -> Iterator[str]:
    """Decodes of `steps` points between the posterior means of a and b (endpoints included), yielded as they
    are made: the path is built `chunk` points at a time, so memory stays flat for any number of steps."""
    if not isinstance(steps, int) or isinstance(steps, bool):
        raise TextVAEError(f"steps must be an int, got {steps!r}")
    if steps < 2:
        raise TextVAEError(f"steps must be >= 2, got {steps}")
    PATHS.get(method)
    mu, _ = model.encode([a, b])

    def points() -> Iterator[Tensor]:
        for start in range(0, steps, chunk):
            t = torch.arange(start, min(start + chunk, steps), device=mu.device, dtype=mu.dtype) / (steps - 1)
            yield path_points(mu[0], mu[1], t, method)

    return model.iter_decode(points(), strategy=strategy, **options)


def interpolate(model, a: str, b: str, steps: int = 8, method: str = "linear", strategy: str = "greedy",
                **options) -> list[str]:
    """Greedy decodes of `steps` points between the posterior means of a and b (endpoints included)."""
    return list(iter_interpolate(model, a, b, steps, method, strategy, **options))
