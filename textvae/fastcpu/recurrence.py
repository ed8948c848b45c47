"""A GRU recurrence with a hand-written backward pass, shared by the GRU encoder and decoder.

`nn.GRU`'s fused CPU kernel runs in float32 only, and unrolling the cell in autograd pays for two
weight-gradient matmuls and a full-size gradient accumulation at every time step. Here the input
projection runs once for the whole sequence (outside, in autograd), the loop does one small matmul
and the gates per step, and the backward pass loops once in reverse, then forms the recurrent weight
gradient as ONE (T*B, 3H)^T @ (T*B, H) matmul (the cuDNN recipe). On CPU the two time loops run in
C++ (csrc/gru.cpp: one matmul and one fused pass over the gates per step), where a compiler is
available and the switch (textvae.fastcpu.switch) is on; the Python loops below are the fallback and
the reference. Under bf16
autocast the matmuls run in bf16 (AMX on recent CPUs); gates and states stay float32. Same maths as
nn.GRU (tested equal in float32).

On a CUDA GPU none of this pays: nn.GRU's own kernel (cuDNN) runs the whole sequence, its time loop
and both passes, on the device, so there `gru_layers` and `gru_layer` hand the same weights to it
(`runs_fused_gru` is the one place that chooses).
"""

from __future__ import annotations

from types import ModuleType, SimpleNamespace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textvae.fastcpu.dropout import dropout
from textvae.fastcpu.switch import native_kernel


def _forward_loop(gates_x: Tensor, h0: Tensor, w: Tensor, b: Tensor, keep: bool = True,
                  row_gates: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """gates_x (T, B0, 3H) float32, h0 (B, H), w_hh (3H, H) in the matmul dtype, b_hh (3H) float32,
    row_gates (B, 3H) or None -> states (T + 1, B, H), gates (T, B, 3H) = r, z, n after activation,
    recurrent_n (T, B, H) = W_hn h + b_hn. Row b's input part is gates_x[t, b % B0] (+ row_gates[b]).
    (`keep`: whether a backward follows; the native loop then skips storing gates, this one keeps them.)"""
    steps, batch, hidden = gates_x.shape[0], h0.shape[0], h0.shape[1]
    states = gates_x.new_empty(steps + 1, batch, hidden)
    gates = gates_x.new_empty(steps, batch, 3 * hidden)
    recurrent_n = gates_x.new_empty(steps, batch, hidden)
    states[0] = h0
    for t in range(steps):
        h = states[t]
        gh = (h.to(w.dtype) @ w.t()).float().add_(b)
        gx = gates_x[t].repeat(batch // gates_x.shape[1], 1)  # a copy: changed in place below
        if row_gates is not None:
            gx += row_gates
        rz = torch.sigmoid_(gx[:, :2 * hidden].add_(gh[:, :2 * hidden]))
        r, z = rz[:, :hidden], rz[:, hidden:]
        n = torch.tanh_(gx[:, 2 * hidden:].addcmul_(r, gh[:, 2 * hidden:]))
        torch.lerp(n, h, z, out=states[t + 1])  # (1 - z) * n + z * h
        gates[t, :, :2 * hidden] = rz
        gates[t, :, 2 * hidden:] = n
        recurrent_n[t] = gh[:, 2 * hidden:]
    return states, gates, recurrent_n


def _backward_loop(grad_states: Tensor, states: Tensor, gates: Tensor, recurrent_n: Tensor,
                   w: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """grad_states (T, B, H) float32 and the forward's tensors -> the gradients of the input-side and of
    the recurrent-side gate pre-activations (T, B, 3H each) and of h0 (B, H)."""
    steps, hidden = gates.shape[0], states.shape[2]
    grad_gates_x = torch.empty_like(gates)
    grad_gates_h = torch.empty_like(gates)
    dh = torch.zeros_like(states[0])
    for t in range(steps - 1, -1, -1):
        dh = dh + grad_states[t]
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
        dh = dh * z + (grad_gates_h[t].to(w.dtype) @ w).float()
    return grad_gates_x, grad_gates_h, dh


PYTHON_LOOPS = SimpleNamespace(forward=_forward_loop, backward=_backward_loop)
FUSED_GRU_DEVICES = frozenset({"cuda"})  # device types where nn.GRU's own whole-sequence kernel runs the GRU


def runs_fused_gru(device: torch.device) -> bool:
    """Whether the GRU runs as nn.GRU's whole-sequence kernel on `device` (cuDNN on CUDA) rather than as the
    recurrence here, which is written for CPUs."""
    return device.type in FUSED_GRU_DEVICES


def _loops(device_type: str) -> SimpleNamespace | ModuleType:
    """The C++ loops (csrc/gru.cpp) where the switch selects them; the Python loops otherwise."""
    kernel = native_kernel("gru", device_type)
    return kernel if kernel is not None else PYTHON_LOOPS


def _contiguous_float(x: Tensor) -> Tensor:
    """x as a contiguous float32 tensor, in one copy at most (`.float().contiguous()` may copy twice)."""
    if x.dtype == torch.float32 and x.is_contiguous():
        return x
    return torch.empty(x.shape, dtype=torch.float32, device=x.device).copy_(x)


class _GRURecurrence(torch.autograd.Function):
    """gates_x (T, B0, 3H) = x W_ih^T + b_ih, h0 (B, H), row_gates (B, 3H) or None -> hidden states (T, B, H);
    row b's input part is gates_x[:, b % B0] (+ row_gates[b]), so B / B0 rows can share one projection."""

    @staticmethod
    def forward(ctx, gates_x: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, row_gates: Tensor | None,
                dtype: torch.dtype, keep: bool) -> Tensor:
        loops = _loops(gates_x.device.type)
        with torch.autocast(gates_x.device.type, enabled=False):
            rows = _contiguous_float(row_gates) if row_gates is not None else None
            states, gates, recurrent_n = loops.forward(_contiguous_float(gates_x), _contiguous_float(h0),
                                                       w_hh.to(dtype).contiguous(), _contiguous_float(b_hh), keep,
                                                       rows)
        ctx.save_for_backward(states, gates, recurrent_n, w_hh)
        ctx.dtype, ctx.gates_dtype, ctx.loops = dtype, gates_x.dtype, loops
        ctx.shared_rows, ctx.row_dtype = gates_x.shape[1], row_gates.dtype if row_gates is not None else None
        return states[1:]

    @staticmethod
    def backward(ctx, grad_states: Tensor):
        states, gates, recurrent_n, w_hh = ctx.saved_tensors
        with torch.autocast(states.device.type, enabled=False):
            w = w_hh.to(ctx.dtype).contiguous()
            grad_gates_x, grad_gates_h, dh = ctx.loops.backward(_contiguous_float(grad_states), states, gates,
                                                                 recurrent_n, w)
            flat_grad = grad_gates_h.flatten(0, 1)
            needs_shared, _, needs_w, needs_b, needs_rows = ctx.needs_input_grad[:5]
            grad_w = (flat_grad.to(w.dtype).t() @ states[:-1].flatten(0, 1).to(w.dtype)).to(w_hh.dtype) \
                if needs_w else None
            grad_b = flat_grad.sum(0).to(w_hh.dtype) if needs_b else None
        grad_rows = grad_gates_x.sum(0).to(ctx.row_dtype) if needs_rows and ctx.row_dtype is not None else None
        grad_shared = None
        if needs_shared:
            steps, batch, width = grad_gates_x.shape
            grad_shared = grad_gates_x.view(steps, batch // ctx.shared_rows, ctx.shared_rows, width).sum(1)
            grad_shared = grad_shared.to(ctx.gates_dtype)
        return grad_shared, dh, grad_w, grad_b, grad_rows, None, None


def _compute_dtype(device_type: str) -> torch.dtype:
    return torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else torch.float32


def _parameters(rnn: nn.GRU, layer: int, reverse: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """w_ih, w_hh, b_ih, b_hh of one layer and direction ("_reverse" parameters for `reverse`)."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    return tuple(getattr(rnn, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def gru_recurrence(rnn: nn.GRU, layer: int, gates_x: Tensor, h0: Tensor, reverse: bool = False,
                   row_gates: Tensor | None = None) -> Tensor:
    """The recurrence of one layer and direction from its input projection: gates_x (T, B, 3H) =
    x W_ih^T + b_ih (time-major), h0 (B, H) -> states (B, T, H). With `row_gates` (N, 3H), an input part
    per row constant over time, gates_x may hold B0 = B / k sequences, row b reading gates_x[:, b % B0]
    (k samples of each sequence without tiling it; see GRUDecoder.forward_samples)."""
    _, w_hh, _, b_hh = _parameters(rnn, layer, reverse)
    shared, rows = gates_x.shape[1], h0.shape[0]
    if (rows != shared) if row_gates is None else (rows % shared != 0):
        raise ValueError(f"gates_x has {shared} rows for {rows} states"
                         + ("" if row_gates is None else " (with row_gates: a divisor of them)"))
    keep = torch.is_grad_enabled() and any(t is not None and t.requires_grad
                                           for t in (gates_x, h0, w_hh, b_hh, row_gates))
    states = _GRURecurrence.apply(gates_x, h0.float(), w_hh, b_hh, row_gates, _compute_dtype(gates_x.device.type),
                                  keep)
    return states.transpose(0, 1)


def gru_layer(rnn: nn.GRU, layer: int, inputs: Tensor, h0: Tensor, reverse: bool = False) -> Tensor:
    """One layer and direction of a batch-first `nn.GRU`'s parameters: inputs (B, T, E), h0 (B, H) -> (B, T, H).

    `reverse` picks the backward direction's ("_reverse") parameters; the caller reverses the inputs.
    """
    if runs_fused_gru(h0.device):  # the aten op behind nn.GRU, on one layer's and direction's weights
        weights = list(_parameters(rnn, layer, reverse))
        return torch._VF.gru(inputs, h0[None].to(inputs.dtype), weights, True, 1, 0.0, rnn.training, False, True)[0]
    w_ih, _, b_ih, _ = _parameters(rnn, layer, reverse)
    gates_x = F.linear(inputs, w_ih, b_ih).transpose(0, 1)  # (T, B, 3H), all steps in one matmul
    return gru_recurrence(rnn, layer, gates_x, h0, reverse)


def gru_layers(rnn: nn.GRU, inputs: Tensor, h0: Tensor,
               first_gates: tuple[Tensor, Tensor | None] | None = None) -> tuple[Tensor, Tensor]:
    """A unidirectional batch-first `nn.GRU` over inputs (B, T, E) from h0 (layers, B, H).

    Returns outputs (B, T, H) and the states after the last step (layers, B, H), as nn.GRU does.
    `first_gates` = (gates_x, row_gates): the first layer's input projection, formed by the caller, as
    `gru_recurrence` takes it (`inputs` is then not read and may be None); not on a fused-GRU device.
    """
    if runs_fused_gru(h0.device):
        if first_gates is not None:
            raise ValueError("first_gates needs the recurrence here; nn.GRU's kernel runs on this device")
        return rnn(inputs, h0)
    layer_input, finals = inputs, []
    for layer in range(rnn.num_layers):
        if layer == 0 and first_gates is not None:
            layer_input = gru_recurrence(rnn, 0, first_gates[0], h0[0], row_gates=first_gates[1])
        else:
            layer_input = gru_layer(rnn, layer, layer_input, h0[layer])
        finals.append(layer_input[:, -1])
        if layer < rnn.num_layers - 1 and rnn.dropout and rnn.training:
            layer_input = dropout(layer_input, rnn.dropout, training=True)
    return layer_input, torch.stack(finals)
