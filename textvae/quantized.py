"""Weights stored as int8 with a float32 scale per row (`textvae export --dtype int8`): a quarter of float32's
bytes, half of bfloat16's. Each matrix row is scaled so its largest absolute weight maps to 127 and rounded;
loading multiplies back, so the model runs on float32 weights within half a step (max |w| / 254) of the
originals. Vectors (biases, norms) stay float32.
"""

from __future__ import annotations

import torch
from torch import Tensor

LEVELS = 127  # symmetric int8: a row's largest absolute weight maps to 127
SCALE_SUFFIX = ".row_scale"  # the scale of an int8 matrix `name` is stored as `name.row_scale`


def row_scales(matrix: Tensor) -> Tensor:
    """The scale of each row of a 2-D float tensor: its largest absolute value / LEVELS (never 0)."""
    return (matrix.abs().amax(dim=1) / LEVELS).clamp_min(torch.finfo(torch.float32).tiny)


def quantize_rows(weights: dict[str, Tensor]) -> dict[str, Tensor]:
    """Every floating-point matrix as int8 plus its per-row scale (float32); other tensors as float32 or
    unchanged (integers)."""
    out: dict[str, Tensor] = {}
    for key, value in weights.items():
        if not value.is_floating_point():
            out[key] = value
        elif value.dim() < 2:
            out[key] = value.float()
        else:
            rows = value.float().flatten(1)
            scale = row_scales(rows)
            out[key] = (rows / scale[:, None]).round().clamp(-LEVELS, LEVELS).to(torch.int8).view(value.shape)
            out[key + SCALE_SUFFIX] = scale
    return out


def dequantize_rows(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """The float32 weights of `quantize_rows`'s output; tensors without a scale pass through unchanged."""
    def restored(key: str, value: Tensor) -> Tensor:
        scale = tensors.get(key + SCALE_SUFFIX)
        return value if scale is None else (value.flatten(1).float() * scale.float()[:, None]).view(value.shape)

    return {key: restored(key, value) for key, value in tensors.items() if not key.endswith(SCALE_SUFFIX)}
