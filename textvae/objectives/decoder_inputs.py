"""Word dropout on the decoder's inputs (Bowman et al. 2016): the decoder must lean on z for the words it
cannot see."""

from __future__ import annotations

import torch
from torch import Tensor

from textvae.errors import ConfigError


def word_dropout(input_ids: Tensor, rate: float, unk_id: int, keep: Tensor) -> Tensor:
    """Replace decoder inputs by <unk> with probability `rate`.

    `keep` is a bool mask of positions never dropped (the start token and padding).
    """
    if rate <= 0:
        return input_ids
    if not 0 <= rate <= 1:
        raise ConfigError(f"word_dropout must be in [0, 1], got {rate}")
    drop = (torch.rand(input_ids.shape, device=input_ids.device) < rate) & ~keep
    return input_ids.masked_fill(drop, unk_id)


def drop_decoder_inputs(batch: dict, rate: float, unk_id: int) -> Tensor:
    """The batch's decoder inputs with word dropout applied to real tokens (never BOS or padding)."""
    inputs = batch["input_ids"]
    if rate <= 0:
        return inputs
    cols = torch.arange(inputs.shape[1], device=inputs.device).unsqueeze(0)
    keep = (cols == 0) | (cols >= batch["lengths"].unsqueeze(1))
    return word_dropout(inputs, rate, unk_id, keep)
