"""The output layer and its cross-entropy fused, a block of rows at a time.

The (tokens, vocabulary) logits are the largest tensors in text-VAE training. `F.cross_entropy` on
float32 logits materializes the float32 copy, its log-softmax and the gradient, streaming several
times their size through memory, which on a CPU costs more than all the matmuls of the step. Here the
logits stay in the matmul's dtype (bf16 under autocast, as nn.Linear leaves them); the three matmuls
run once each on the whole block of real tokens, and the elementwise part (log-sum-exp forward,
softmax - onehot backward) is formed in float32 a row at a time while it is in cache: in C++ on CPU
(csrc/output_loss.cpp) where a compiler is available and the switch (textvae.fastcpu.switch) is on,
else `chunk` rows at a time in Python. Same maths as `F.cross_entropy(linear(h).float())` under autocast; only the order of
float32 additions differs.
"""

from __future__ import annotations

from types import ModuleType, SimpleNamespace

import torch
from torch import Tensor

from textvae.fastcpu.switch import native_kernel

DEFAULT_CHUNK = 64
ROW_MULTIPLE = 128  # reduced-precision rows are zero-padded to a multiple: few matmul shapes, so oneDNN builds few
# kernels (fewer rows than that: to the next power of two, so that one short text does not pay for 128 rows);
# float32 matmuls (MKL) build none, and run on the real rows alone
EVAL_BLOCK_BYTES = 16 * 2**20  # without gradients, logits are formed this much at a time (see _nll_only)


def _block(logits: Tensor, rows: slice, bias: Tensor | None) -> Tensor:
    block = logits[rows].to(torch.float32, copy=True)  # never a view: the block is changed in place
    return block.add_(bias) if bias is not None else block


def _python_forward(logits: Tensor, bias: Tensor | None, targets: Tensor, chunk: int) -> tuple[Tensor, Tensor]:
    """-> nll and log-sum-exp per row (float32)."""
    nll = torch.empty(logits.shape[0], device=logits.device)
    lse = torch.empty_like(nll)
    for start in range(0, logits.shape[0], chunk):
        rows = slice(start, start + chunk)
        block = _block(logits, rows, bias)
        lse[rows] = torch.logsumexp(block, dim=-1)
        nll[rows] = lse[rows] - block.gather(1, targets[rows, None]).squeeze(1)
    return nll, lse


def _python_backward(logits: Tensor, bias: Tensor | None, targets: Tensor, lse: Tensor, grad_nll: Tensor,
                     chunk: int) -> tuple[Tensor, Tensor | None]:
    """-> d loss / d logits (in the logits' dtype) and d loss / d bias (None without a bias)."""
    grad_logits = torch.empty_like(logits)
    grad_bias = torch.zeros(logits.shape[1], device=logits.device) if bias is not None else None
    for start in range(0, logits.shape[0], chunk):
        rows = slice(start, start + chunk)
        probs = _block(logits, rows, bias).sub_(lse[rows, None]).exp_()  # softmax, while in cache
        index = torch.arange(probs.shape[0], device=probs.device)
        probs[index, targets[rows]] -= 1.0  # d nll / d logits = softmax - onehot
        probs.mul_(grad_nll[rows, None])
        if grad_bias is not None:
            grad_bias += probs.sum(0)
        grad_logits[rows] = probs
    return grad_logits, grad_bias


def row_kernels(device_type: str, chunk: int = DEFAULT_CHUNK) -> SimpleNamespace | ModuleType:
    """The C++ row loops where the switch selects them; the Python blocks otherwise."""
    kernel = native_kernel("output_loss", device_type)
    if kernel is not None:
        return kernel
    return SimpleNamespace(forward=lambda logits, bias, targets: _python_forward(logits, bias, targets, chunk),
                           backward=lambda *tensors: _python_backward(*tensors, chunk))


def _operands(weight: Tensor, bias: Tensor | None, targets: Tensor,
              dtype: torch.dtype) -> tuple[Tensor, Tensor | None, Tensor]:
    """The weight in the matmul dtype; the bias in float32 (added per row: addmm's broadcast copy is
    slow in bf16); contiguous targets."""
    return weight.to(dtype), bias.float().contiguous() if bias is not None else None, targets.contiguous()


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor, dtype: torch.dtype,
                chunk: int) -> Tensor:
        elementwise = row_kernels(hidden.device.type, chunk)
        with torch.autocast(hidden.device.type, enabled=False):
            h = hidden.to(dtype)
            w, b, targets = _operands(weight, bias, targets, dtype)
            logits = h @ w.t()
            nll, lse = elementwise.forward(logits, b, targets)
        ctx.save_for_backward(h, w, b, logits, targets, lse)
        ctx.dtypes = (hidden.dtype, weight.dtype, bias.dtype if bias is not None else None)
        ctx.elementwise = elementwise
        return nll

    @staticmethod
    def backward(ctx, grad_nll: Tensor):
        h, w, b, logits, targets, lse = ctx.saved_tensors
        hidden_dtype, weight_dtype, bias_dtype = ctx.dtypes
        with torch.autocast(h.device.type, enabled=False):
            grad_logits, grad_bias = ctx.elementwise.backward(logits, b, targets, lse, grad_nll.float().contiguous())
            needs_hidden, needs_weight, needs_bias = ctx.needs_input_grad[:3]
            grad_hidden = (grad_logits @ w).to(hidden_dtype) if needs_hidden else None
            grad_weight = (grad_logits.t() @ h).to(weight_dtype) if needs_weight else None
        grad_bias = grad_bias.to(bias_dtype) if needs_bias and bias_dtype is not None else None
        return grad_hidden, grad_weight, grad_bias, None, None, None


def _nll_only(hidden: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor, dtype: torch.dtype,
              chunk: int) -> Tensor:
    """The forward alone (no gradient wanted): logits a block of rows at a time, each under 32 MB, so
    the allocator reuses one block instead of mapping fresh pages for a (tokens, vocabulary) matrix
    (for a K = 500 importance-weighted evaluation those page faults were half the run time)."""
    elementwise = row_kernels(hidden.device.type, chunk)
    w, b, targets = _operands(weight, bias, targets, dtype)
    block = max(ROW_MULTIPLE, EVAL_BLOCK_BYTES // (w.shape[0] * w.element_size()) // ROW_MULTIPLE * ROW_MULTIPLE)
    with torch.autocast(hidden.device.type, enabled=False):
        return torch.cat([elementwise.forward(hidden[start:start + block].to(dtype) @ w.t(), b,
                                              targets[start:start + block])[0]
                          for start in range(0, hidden.shape[0], block)])


def padded_rows(rows: int) -> int:
    """The row count a block is padded to: a multiple of ROW_MULTIPLE, or below it the next power of two."""
    if rows >= ROW_MULTIPLE:
        return -(-rows // ROW_MULTIPLE) * ROW_MULTIPLE
    return 1 << max(rows - 1, 0).bit_length()


def linear_cross_entropy(hidden: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor,
                         chunk: int = DEFAULT_CHUNK) -> Tensor:
    """-log softmax(hidden @ weight.T + bias)[target] per row: hidden (N, H), targets (N,) -> (N,) float32.

    Under autocast the matmuls run in the autocast dtype (bf16 on CPU), as `nn.Linear` would.
    """
    if hidden.dim() != 2 or targets.shape != hidden.shape[:1]:
        raise ValueError(f"hidden must be (N, H) and targets (N,); got {tuple(hidden.shape)} and {tuple(targets.shape)}")
    device_type = hidden.device.type
    dtype = torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else hidden.dtype
    rows = hidden.shape[0]
    wants_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (hidden, weight, bias))
    if not wants_grad:
        return _nll_only(hidden, weight, bias, targets, dtype, chunk)
    pad = padded_rows(rows) - rows if dtype != torch.float32 else 0  # padded rows: zero gradient, sliced off below
    if pad:
        hidden = torch.cat([hidden, hidden.new_zeros(pad, hidden.shape[1])])
        targets = torch.cat([targets, targets.new_zeros(pad)])
    return _LinearCrossEntropy.apply(hidden, weight, bias, targets, dtype, chunk)[:rows]
