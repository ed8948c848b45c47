"""Latent refinement: a few gradient steps on z from the encoder's posterior mean, towards a z the decoder
reads back as the input (semi-amortized inference, Kim et al. 2018; the amortization gap, Cremer et al. 2018).

The encoder predicts μ in one pass; for a sentence unlike its training data that μ is often not the latent
that the decoder turns back into the sentence. Refinement minimizes

    -log p(x | z) + anchor * 1/2 * sum(((z - mu) / sigma)^2)

over z with Adam, starting at μ, the encoder's σ kept: the decoder's own view of the sentence, held near the
encoder's (anchor > 0) or limited by the number of steps alone (anchor 0). With `early_stop` a text stops as
soon as each of its tokens is the decoder's most likely one given the tokens before it (the greedy decode of
its z is then the text), which spares the steps that would only make a reproduced text more likely. Each
text's z is optimized on its own terms (the loss is a sum over texts, Adam scales each coordinate
separately, and a stopped text keeps its z), so the result does not depend on which texts share a batch.

The decoder's weights take no gradient. Each step runs the decoder forward and back on the same texts: the
part of the decoder that does not depend on z is formed once (`Decoder.latent_reader`), and on a CPU the
vocabulary-sized output layer reads float16 copies of its weights (`output_nll`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textvae.fastcpu.float16 import float16_available
from textvae.fastcpu.output_loss import row_kernels
from textvae.latent import DiagonalGaussian
from textvae.models.token_nll import per_example

FUSED_ADAM_DEVICES = frozenset({"cpu", "cuda"})  # where torch's one-kernel Adam step runs


@dataclass(frozen=True)
class Refinement:
    """How many Adam steps, at which learning rate, how strongly z is held near the encoder's posterior, Adam's
    momentum (beta1), and whether a text stops once the decoder reproduces it."""

    steps: int = 0
    lr: float = 0.1
    anchor: float = 0.0
    momentum: float = 0.9
    early_stop: bool = False

    @classmethod
    def of(cls, config) -> Refinement:
        """The refinement a model config asks for (`refine_steps`, `refine_lr`, `refine_anchor`, `refine_momentum`,
        `refine_early_stop`)."""
        return cls(config.refine_steps, config.refine_lr, config.refine_anchor, config.refine_momentum,
                   config.refine_early_stop)

    def describe(self) -> str:
        """In words: "20 refinement steps", "up to 20 refinement steps, stopping once the text is reproduced" or
        "no refinement"."""
        if not self.steps:
            return "no refinement"
        if self.early_stop:
            return f"up to {self.steps} refinement steps, stopping once the text is reproduced"
        return f"{self.steps} refinement steps"


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """The module's parameters take no gradient inside the block (restored after): backward passes then skip
    every weight gradient, the vocabulary- and recurrent-sized ones included, and form only d/dz."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)


class _OutputNLL(torch.autograd.Function):
    """states (N, E) of the output layer, targets (N,) -> each target's NLL, and whether it is the layer's argmax
    (no gradient); `linear` forms the logits (bias included) and `linear_t` the states' gradient from the logits'.
    The log-softmax and its gradient are the fused output loss's row kernels (textvae.fastcpu.output_loss)."""

    @staticmethod
    def forward(ctx, states: Tensor, targets: Tensor, linear: Callable, linear_t: Callable) -> tuple[Tensor, Tensor]:
        logits = linear(states).contiguous()
        targets = targets.contiguous()
        kernels = row_kernels(logits.device.type)
        nll, lse = kernels.forward(logits, None, targets)
        argmax = logits.argmax(-1) == targets
        ctx.mark_non_differentiable(argmax)
        ctx.save_for_backward(logits, lse, targets)
        ctx.linear_t, ctx.kernels = linear_t, kernels
        return nll, argmax

    @staticmethod
    def backward(ctx, grad_nll: Tensor, _):
        logits, lse, targets = ctx.saved_tensors
        grad_logits, _ = ctx.kernels.backward(logits, None, targets, lse, grad_nll.float().contiguous())
        return ctx.linear_t(grad_logits), None, None, None


def output_nll(model, states: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """The decoder's output layer on `states` (N, E): each target's NLL and whether it is the argmax. On a CPU
    with fbgemm the layer reads float16 copies of its weights (textvae.fastcpu.float16, cached on the model):
    the matmuls of a few rows by the vocabulary run several times faster than in float32."""
    output = model.decoder.output
    if float16_available(states.device):
        weights = model.float16_weights
        return _OutputNLL.apply(states, targets, lambda x: weights.linear(x, output.weight, output.bias),
                                lambda g: weights.linear_t(g, output.weight))
    weight, bias = output.weight.detach(), output.bias.detach()
    return _OutputNLL.apply(states.float(), targets, lambda x: F.linear(x, weight, bias), lambda g: g @ weight)


def refine_posterior(model, batch: dict, posterior: DiagonalGaussian, refinement: Refinement) -> DiagonalGaussian:
    """The posterior with its mean refined for this batch of texts (`model.reconstruction_states` reads them)."""
    mu, logvar = posterior.mu.detach(), posterior.logvar.detach()
    if refinement.steps == 0:
        return DiagonalGaussian(mu, logvar)
    z = mu.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=refinement.lr, betas=(refinement.momentum, 0.999),
                                 fused=z.device.type in FUSED_ADAM_DEVICES)
    precision = torch.exp(-logvar)
    shape = batch["target_ids"].shape
    active = torch.ones(shape[0], dtype=torch.bool, device=z.device)
    with torch.enable_grad(), frozen(model):
        read = model.reconstruction_states(batch)
        for _ in range(refinement.steps):
            states, targets, position = read(z)
            token_nll, argmax = output_nll(model, states, targets)
            if refinement.early_stop:
                misses = per_example((~argmax).float(), position, shape)
                active &= misses > 0  # a text whose every token is the argmax: its greedy decode is the text
                if not active.any():
                    break
            loss = per_example(token_nll, position, shape)
            if refinement.anchor:
                loss = loss + refinement.anchor * 0.5 * ((z - mu).pow(2) * precision).sum(1)
            (z.grad,) = torch.autograd.grad(loss[active].sum(), z)
            stopped = None if active.all() else z.detach()[~active]
            optimizer.step()
            if stopped is not None:
                with torch.no_grad():
                    z[~active] = stopped  # Adam's momentum would carry a stopped text on
    return DiagonalGaussian(z.detach(), logvar)
