"""A weight stored as a low-rank difference from the pretrained weight it started from (`model.decoder_table_rank`,
`textvae export --table-rank R`): the truncated SVD of (weight - pretrained) keeps its `rank` largest
directions, as two factors beside the other weights; loading adds their product back to the pretrained weight,
which comes from its own source like a frozen encoder's. For a decoder's word table copied from the encoder
(`model.decoder_init: encoder`), this stores 30,522 x 384 weights as rank x (30,522 + 384).
"""

from __future__ import annotations

import torch
from torch import Tensor

LEFT_SUFFIX = ".rank_left"  # (rank, rows): the difference's left singular vectors times their singular values
RIGHT_SUFFIX = ".rank_right"  # (rank, columns): its right singular vectors


def factor_difference(weights: dict[str, Tensor], key: str, pretrained: Tensor, rank: int) -> dict[str, Tensor]:
    """`weights` with weights[key] replaced by the two factors of the best rank-`rank` approximation of its
    difference from `pretrained`."""
    out = dict(weights)
    difference = out.pop(key).float() - pretrained.float()
    left, values, right = torch.linalg.svd(difference, full_matrices=False)
    out[key + LEFT_SUFFIX] = (left[:, :rank] * values[:rank]).t().contiguous()
    out[key + RIGHT_SUFFIX] = right[:rank].contiguous()
    return out


def restore_difference(tensors: dict[str, Tensor], key: str, pretrained: Tensor) -> dict[str, Tensor]:
    """`tensors` with the factors of `key` (if stored) replaced by pretrained + their product."""
    if key + LEFT_SUFFIX not in tensors:
        return tensors
    out = dict(tensors)
    left, right = out.pop(key + LEFT_SUFFIX).float(), out.pop(key + RIGHT_SUFFIX).float()
    out[key] = pretrained.float() + left.t() @ right
    return out
