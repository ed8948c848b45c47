"""Dropout with the mask drawn by `torch.rand`: on CPU, `F.dropout`'s `bernoulli_` draws its mask ≈ 3.5x
slower (2.4 ms vs 0.7 ms for an 800 x 300 batch of embeddings on one thread; forward + backward 2.8 vs
1.2 ms), a few percent of a text-VAE training step. Same distribution and scaling as `F.dropout`;
other devices use `F.dropout`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (training only)."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p == 1.0:
        return F.dropout(x, p, training=True)
    scale = (torch.rand(x.shape, device=x.device) >= p).to(x.dtype).mul_(1.0 / (1.0 - p))
    return x * scale


class Dropout(nn.Dropout):
    """`nn.Dropout` running `dropout` above."""

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)
