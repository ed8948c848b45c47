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


def mixture_log_prob(gate: Tensor, vocab_log_prob: Tensor, copy_prob: Tensor) -> Tensor:
    """log(g p_vocab + (1 - g) p_copy) from the gate's logit and the two parts (broadcastable shapes)."""
    gate = gate.float()
    return torch.logaddexp(F.logsigmoid(gate) + vocab_log_prob.float(),
                           F.logsigmoid(-gate) + torch.log(copy_prob.clamp_min(FLOOR)))


def step_log_prob(gate: Tensor, logits: Tensor, weights: Tensor, source_ids: Tensor) -> Tensor:
    """The mixture's log-probabilities over the vocabulary for one decoding step: gate (B, 1), logits (B, V),
    weights and source_ids (B, S) -> (B, V). Only the source's tokens are mixed; every other token keeps
    log g + log p_vocab (its copy probability is 0: the floor changes nothing above e^-27)."""
    vocab_log_prob = logits.float().log_softmax(-1)
    out = F.logsigmoid(gate.float()) + vocab_log_prob
    copied = copy_probability(weights[:, None, :], source_ids, source_ids)  # (B, S): mass on each position's token
    mixed = mixture_log_prob(gate, vocab_log_prob.gather(1, source_ids), copied)
    return out.scatter_(1, source_ids, mixed)
