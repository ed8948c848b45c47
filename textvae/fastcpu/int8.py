"""Int8 weights for decoding on the CPU: the matrices a GRU decoder's step reads, quantized per output channel,
with activations quantized per call (dynamic quantization, PyTorch's fbgemm / qnnpack kernels; the copies
are cached as textvae.fastcpu.packed caches them).

A decoding step of a small decoder is bound by reading its weights from memory (a batch of a few rows), so
reading a quarter of the bytes is what makes it faster. Training and scoring never see these copies: they
run on the float weights.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from textvae.fastcpu.packed import PackedWeights
from textvae.quantized import row_scales


def int8_available(device: torch.device) -> bool:
    """Whether int8 decoding can run on `device`: the CPU, with a quantized engine in this build of torch."""
    return device.type == "cpu" and any(engine != "none" for engine in torch.backends.quantized.supported_engines)


class Int8Weights(PackedWeights):
    """Int8 copies of float weight matrices (textvae.fastcpu.packed: made on first use, remade when changed)."""

    def _pack(self, weight: Tensor, bias: Tensor | None):
        """`weight` (out, in) as per-channel int8, packed with its float bias for the quantized linear kernel."""
        scale = row_scales(weight).clamp_min(1e-8).double()
        zero = torch.zeros(weight.shape[0], dtype=torch.long)
        with warnings.catch_warnings():  # torch announces a move of quantized tensors to torchao; the kernels stay
            warnings.simplefilter("ignore", UserWarning)
            quantized = torch.quantize_per_channel(weight, scale, zero, 0, torch.qint8)
        return torch.ops.quantized.linear_prepack(quantized, bias)

    def linear(self, x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        """x @ weight.T + bias with `weight` in int8 (x: (..., in), float32 out)."""
        # reduce_range: 7-bit activations, which fbgemm's int8 products need to stay exact on AVX2
        return torch.ops.quantized.linear_dynamic(x.float().contiguous(), self.packed(weight, bias), True)

    def gru_step(self, rnn: nn.GRU, x: Tensor, hidden: Tensor) -> Tensor:
        """One time step of `rnn` in evaluation mode: x (B, input), hidden (layers, B, H) -> new hidden (layers, B, H);
        the last layer's row is the step's output."""
        layer_input, new_hidden = x, []
        for layer in range(rnn.num_layers):
            h = hidden[layer].float()
            gi = self.linear(layer_input, getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"bias_ih_l{layer}"))
            gh = self.linear(h, getattr(rnn, f"weight_hh_l{layer}"), getattr(rnn, f"bias_hh_l{layer}"))
            i_r, i_z, i_n = gi.chunk(3, dim=-1)
            h_r, h_z, h_n = gh.chunk(3, dim=-1)
            reset, update = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            candidate = torch.tanh(i_n + reset * h_n)
            layer_input = (1 - update) * candidate + update * h
            new_hidden.append(layer_input)
        return torch.stack(new_hidden)
