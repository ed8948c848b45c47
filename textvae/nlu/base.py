"""The NLU side's contract: an encoder maps a batch to pooled features (B, output_dim)."""

from __future__ import annotations

from torch import Tensor, nn

from textvae.registry import Registry

ENCODERS: Registry[type] = Registry("encoder")


class Encoder(nn.Module):
    """Base class: `forward(batch) -> (B, output_dim)` features; `frozen` encoders may be cached."""

    output_dim: int
    frozen: bool = False

    def forward(self, batch: dict) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError
