"""Token NLLs given at positions row * T + step of a (B, T) batch (its real tokens alone), summed per example."""

from __future__ import annotations

import torch
from torch import Tensor


def per_example(token_nll: Tensor, position: Tensor, shape: torch.Size) -> Tensor:
    """Token NLLs at positions row * T + step of a (B, T) batch -> their sum per row (B,)."""
    total = torch.zeros(shape[0], dtype=token_nll.dtype, device=token_nll.device)
    return total.index_add(0, position // shape[1], token_nll)
