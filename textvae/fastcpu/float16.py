"""Float16 copies of weight matrices for fbgemm's fp16 matmul on the CPU: float32 activations and sums,
half the bytes of the weights read.

Latent refinement (textvae.models.refine) multiplies a few rows by the vocabulary-sized output layer, forward
and back, at every step: a matmul bound by reading the weights, which MKL's float32 kernels run far below the
memory's speed on some CPUs (AMD EPYC). fbgemm's fp16 kernel reads half the bytes at full speed; the logits
differ from float32 ones by the rounding of the weights to 11 significant bits.
"""

from __future__ import annotations

import torch
from torch import Tensor

from textvae.fastcpu.packed import PackedWeights


def float16_available(device: torch.device) -> bool:
    """Whether fbgemm's fp16 matmul can run on `device`: the CPU, with fbgemm in this build of torch."""
    return device.type == "cpu" and "fbgemm" in torch.backends.quantized.supported_engines


class Float16Weights(PackedWeights):
    """Float16 copies of float weight matrices (textvae.fastcpu.packed: made on first use, remade when changed)."""

    def _pack(self, weight: Tensor, bias: Tensor | None):
        return torch.ops.quantized.linear_prepack_fp16(weight, bias)

    def linear(self, x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        """x @ weight.T + bias with `weight` in float16 (x: (N, in), float32 out)."""
        return torch.ops.quantized.linear_dynamic_fp16(x.float().contiguous(), self.packed(weight, bias))

    def linear_t(self, x: Tensor, weight: Tensor) -> Tensor:
        """x @ weight with `weight` in float16 (x: (N, out), float32 out)."""
        return torch.ops.quantized.linear_dynamic_fp16(x.float().contiguous(), self.packed(weight, transposed=True))
