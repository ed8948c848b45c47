"""Latent refinement: a few gradient steps on z from the encoder's posterior mean, towards a z the decoder
reads back as the input (semi-amortized inference, Kim et al. 2018; the amortization gap, Cremer et al. 2018).

The encoder predicts μ in one pass; for a sentence unlike its training data that μ is often not the latent
that the decoder turns back into the sentence. Refinement minimizes

    -log p(x | z) + anchor * 1/2 * sum(((z - mu) / sigma)^2)

over z with Adam, starting at μ, the encoder's σ kept: the decoder's own view of the sentence, held near the
encoder's (anchor > 0) or limited by the number of steps alone (anchor 0). Each text's z is optimized on its
own terms (the loss is a sum over texts and Adam scales each coordinate separately), so the result does not
depend on which texts share a batch. The decoder's weights take no gradient.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from textvae.latent import DiagonalGaussian


@dataclass(frozen=True)
class Refinement:
    """How many Adam steps, at which learning rate, how strongly z is held near the encoder's posterior, and
    Adam's momentum (beta1)."""

    steps: int = 0
    lr: float = 0.1
    anchor: float = 0.0
    momentum: float = 0.9

    @classmethod
    def of(cls, config) -> Refinement:
        """The refinement a model config asks for (`refine_steps`, `refine_lr`, `refine_anchor`, `refine_momentum`)."""
        return cls(config.refine_steps, config.refine_lr, config.refine_anchor, config.refine_momentum)


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


def refine_posterior(model, batch: dict, posterior: DiagonalGaussian, refinement: Refinement) -> DiagonalGaussian:
    """The posterior with its mean refined for this batch of texts (`model.reconstruction_nll` reads them)."""
    mu, logvar = posterior.mu.detach(), posterior.logvar.detach()
    if refinement.steps == 0:
        return DiagonalGaussian(mu, logvar)
    z = mu.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=refinement.lr, betas=(refinement.momentum, 0.999))
    precision = torch.exp(-logvar)
    with torch.enable_grad(), frozen(model):
        for _ in range(refinement.steps):
            loss = model.reconstruction_nll(batch, z).sum()
            if refinement.anchor:
                loss = loss + refinement.anchor * 0.5 * ((z - mu).pow(2) * precision).sum()
            (z.grad,) = torch.autograd.grad(loss, z)
            optimizer.step()
    return DiagonalGaussian(z.detach(), logvar)

