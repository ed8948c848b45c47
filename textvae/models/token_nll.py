"""Token NLLs given at positions row * T + step of a (B, T) batch (its real tokens alone), summed per example, and
the label-smoothing term of an output layer computed from those NLLs."""

from __future__ import annotations

import torch
from torch import Tensor


def per_example(token_nll: Tensor, position: Tensor, shape: torch.Size) -> Tensor:
    """Token NLLs at positions row * T + step of a (B, T) batch -> their sum per row (B,)."""
    total = torch.zeros(shape[0], dtype=token_nll.dtype, device=token_nll.device)
    return total.index_add(0, position // shape[1], token_nll)


def per_example_or_none(token_terms: Tensor | None, position: Tensor, shape: torch.Size) -> Tensor | None:
    """`per_example`, or None for no terms."""
    return None if token_terms is None else per_example(token_terms, position, shape)


def uniform_cross_entropy(states: Tensor, nll: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor) -> Tensor:
    """Per token, the cross-entropy of the output layer's softmax against the uniform distribution over the vocabulary
    (the label-smoothing term): -mean_v log p(v) = nll + logit[target] - mean_v logit[v], found from the token's NLL
    without forming the logits again. states (N, H) and the NLL (N,) of `targets` (N,) under
    softmax(states @ weight.T + bias) -> (N,) float32."""
    weight = weight.float()
    gap = (states.float() * (weight.index_select(0, targets) - weight.mean(0))).sum(-1)
    if bias is not None:
        gap = gap + bias.float()[targets] - bias.float().mean()
    return nll + gap
