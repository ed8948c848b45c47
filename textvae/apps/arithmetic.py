"""Latent arithmetic on sentences: analogies, attribute vectors and shifting a sentence along one.

All three work on posterior means μ: `analogy(a, b, c)` decodes μ_c + μ_b − μ_a ("a is to b as c is
to ?"), `attribute_vector(with, without)` is the difference of the two sets' mean μ, and `shift` decodes
μ_text + strength · vector.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from textvae.errors import TextVAEError


def _require_latent(model) -> None:
    if not model.has_latent or model.conditional:
        raise TextVAEError("latent arithmetic needs a model with q(z|x) (a VAE or AE, not an LM or a "
                           "conditional model)")


def analogy(model, a: str, b: str, c: str, **options) -> str:
    """The decode of μ_c + (μ_b − μ_a): what c becomes when it changes the way a changed into b."""
    _require_latent(model)
    mu, _ = model.encode([a, b, c])
    return model.decode((mu[2] + mu[1] - mu[0]).unsqueeze(0), **options)[0]


def attribute_vector(model, with_texts: list[str], without_texts: list[str], batch_size: int = 256) -> Tensor:
    """mean μ(with_texts) − mean μ(without_texts), (latent_dim,): the direction of what the first set has."""
    _require_latent(model)
    if not with_texts or not without_texts:
        raise TextVAEError("attribute_vector needs texts with and without the attribute (neither list empty)")
    with_mu, _ = model.encode(list(with_texts), batch_size=batch_size)
    without_mu, _ = model.encode(list(without_texts), batch_size=batch_size)
    return with_mu.mean(0) - without_mu.mean(0)


def shift(model, texts: list[str], vector: Tensor, strength: float = 1.0, **options) -> list[str]:
    """Decodes of μ_text + strength · vector for each text."""
    _require_latent(model)
    vector = torch.as_tensor(vector, dtype=torch.float32, device=model.device).reshape(-1)
    if vector.shape[0] != model.config.latent_dim:
        raise TextVAEError(f"vector must have {model.config.latent_dim} numbers, got {vector.shape[0]}")
    if not torch.isfinite(vector).all() or not isinstance(strength, (int, float)) or not math.isfinite(strength):
        raise TextVAEError("vector and strength must be finite numbers")
    mu, _ = model.encode(texts)
    return model.decode(mu + strength * vector, **options)
