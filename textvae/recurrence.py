"""A GRU recurrence with a hand-written backward pass, shared by the GRU encoder and decoder.

`nn.GRU`'s fused CPU kernel runs in float32 only, and unrolling the cell in autograd pays for two
weight-gradient matmuls and a full-size gradient accumulation at every time step. Here the input
projection runs once for the whole sequence (outside, in autograd), the loop does one small matmul
and the gates per step, and the backward pass loops once in reverse, then forms the recurrent weight
gradient as ONE (T*B, 3H)^T @ (T*B, H) matmul (the cuDNN recipe). Under bf16 autocast the matmuls run
in bf16 (AMX on recent CPUs); gates and states stay float32. Same maths as nn.GRU (tested equal in
float32).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class _GRURecurrence(torch.autograd.Function):
    """gates_x (T, B, 3H) = x W_ih^T + b_ih, h0 (B, H) -> hidden states (T, B, H)."""

    @staticmethod
    def forward(ctx, gates_x: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, dtype: torch.dtype) -> Tensor:
        with torch.autocast(gates_x.device.type, enabled=False):
            steps, batch, hidden = gates_x.shape[0], gates_x.shape[1], h0.shape[1]
            w = w_hh.to(dtype)
            b = b_hh.float()
            states = gates_x.new_empty(steps + 1, batch, hidden, dtype=torch.float32)
            gates = gates_x.new_empty(steps, batch, 3 * hidden, dtype=torch.float32)  # r, z, n after activation
            recurrent_n = gates_x.new_empty(steps, batch, hidden, dtype=torch.float32)  # W_hn h + b_hn
            states[0] = h0
            for t in range(steps):
                h = states[t]
                gh = (h.to(dtype) @ w.t()).float().add_(b)
                gx = gates_x[t].to(torch.float32, copy=True)  # changed in place below
                rz = torch.sigmoid_(gx[:, :2 * hidden].add_(gh[:, :2 * hidden]))
                r, z = rz[:, :hidden], rz[:, hidden:]
                n = torch.tanh_(gx[:, 2 * hidden:].addcmul_(r, gh[:, 2 * hidden:]))
                torch.lerp(n, h, z, out=states[t + 1])  # (1 - z) * n + z * h
                gates[t, :, :2 * hidden] = rz
                gates[t, :, 2 * hidden:] = n
                recurrent_n[t] = gh[:, 2 * hidden:]
        ctx.save_for_backward(states, gates, recurrent_n, w_hh)
        ctx.dtype, ctx.gates_dtype = dtype, gates_x.dtype
        return states[1:]

    @staticmethod
    def backward(ctx, grad_states: Tensor):
        states, gates, recurrent_n, w_hh = ctx.saved_tensors
        dtype = ctx.dtype
        with torch.autocast(states.device.type, enabled=False):
            steps, hidden = gates.shape[0], states.shape[2]
            w = w_hh.to(dtype)
            grad_gates_x = torch.empty_like(gates)
            grad_gates_h = torch.empty_like(gates)
            dh = torch.zeros_like(states[0])
            for t in range(steps - 1, -1, -1):
                dh = dh + grad_states[t].float()
                h_prev = states[t]
                r, z, n = gates[t, :, :hidden], gates[t, :, hidden:2 * hidden], gates[t, :, 2 * hidden:]
                d_pre_n = dh * (1 - z) * (1 - n * n)
                d_pre_z = dh * (h_prev - n) * z * (1 - z)
                d_r = d_pre_n * recurrent_n[t]
                d_pre_r = d_r * r * (1 - r)
                grad_gates_x[t, :, :hidden] = d_pre_r
                grad_gates_x[t, :, hidden:2 * hidden] = d_pre_z
                grad_gates_x[t, :, 2 * hidden:] = d_pre_n
                grad_gates_h[t, :, :2 * hidden] = grad_gates_x[t, :, :2 * hidden]
                torch.mul(d_pre_n, r, out=grad_gates_h[t, :, 2 * hidden:])
                dh = dh * z + (grad_gates_h[t].to(dtype) @ w).float()
            flat_grad = grad_gates_h.flatten(0, 1)
            grad_w = (flat_grad.to(dtype).t() @ states[:-1].flatten(0, 1).to(dtype)).to(w_hh.dtype)
            grad_b = flat_grad.sum(0).to(w_hh.dtype)
        return grad_gates_x.to(ctx.gates_dtype), dh, grad_w, grad_b, None


def _compute_dtype(device_type: str) -> torch.dtype:
    return torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else torch.float32


def gru_layer(rnn: nn.GRU, layer: int, inputs: Tensor, h0: Tensor, reverse: bool = False) -> Tensor:
    """One layer and direction of a batch-first `nn.GRU`'s parameters: inputs (B, T, E), h0 (B, H) -> (B, T, H).

    `reverse` picks the backward direction's ("_reverse") parameters; the caller reverses the inputs.
    """
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    w_ih, w_hh = getattr(rnn, "weight_ih" + suffix), getattr(rnn, "weight_hh" + suffix)
    b_ih, b_hh = getattr(rnn, "bias_ih" + suffix), getattr(rnn, "bias_hh" + suffix)
    gates_x = F.linear(inputs.transpose(0, 1), w_ih, b_ih)  # (T, B, 3H), all steps in one matmul
    states = _GRURecurrence.apply(gates_x, h0.float(), w_hh, b_hh, _compute_dtype(inputs.device.type))
    return states.transpose(0, 1)


def gru_layers(rnn: nn.GRU, inputs: Tensor, h0: Tensor) -> tuple[Tensor, Tensor]:
    """A unidirectional batch-first `nn.GRU` over inputs (B, T, E) from h0 (layers, B, H).

    Returns outputs (B, T, H) and the states after the last step (layers, B, H), as nn.GRU does.
    """
    layer_input, finals = inputs, []
    for layer in range(rnn.num_layers):
        layer_input = gru_layer(rnn, layer, layer_input, h0[layer])
        finals.append(layer_input[:, -1])
        if layer < rnn.num_layers - 1 and rnn.dropout and rnn.training:
            layer_input = F.dropout(layer_input, rnn.dropout, training=True)
    return layer_input, torch.stack(finals)
