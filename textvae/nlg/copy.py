"""Copying source tokens (pointer-generator, See et al. 2017): the output distribution mixes the vocabulary
softmax with the attention over the source's tokens, p(y) = g p_vocab(y) + (1 - g) sum_{s: src_s = y} a_s,
g = sigmoid(gate). Rare words, names and numbers of the source can be reproduced by pointing at them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

FLOOR = 1e-12  # copy probability of a token absent from the source (its log stays finite)


def copy_probability(weights: Tensor, source_ids: Tensor, targets: Tensor) -> Tensor:
    """Attention mass on the source positions holding each target token: weights (B, T, S), source_ids (B, S),
    targets (B, T) -> (B, T)."""
    same = source_ids[:, None, :] == targets[:, :, None]
    return (weights.float() * same).sum(-1)


def copy_distribution(weights: Tensor, source_ids: Tensor, vocab_size: int) -> Tensor:
    """The attention of one step scattered onto the vocabulary: weights (B, S), source_ids (B, S) -> (B, V)."""
    out = torch.zeros(weights.shape[0], vocab_size, device=weights.device)
    return out.scatter_add(1, source_ids, weights.float())


def mixture_log_prob(gate: Tensor, vocab_log_prob: Tensor, copy_prob: Tensor) -> Tensor:
    """log(g p_vocab + (1 - g) p_copy) from the gate's logit and the two parts (broadcastable shapes)."""
    gate = gate.float()
    return torch.logaddexp(F.logsigmoid(gate) + vocab_log_prob.float(),
                           F.logsigmoid(-gate) + torch.log(copy_prob.clamp_min(FLOOR)))
