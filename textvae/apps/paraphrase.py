"""Paraphrase by sampling around a sentence's posterior: z = mu + scale * sigma * eps."""

from __future__ import annotations

import torch

from textvae.apps.similarity import cosine_to
from textvae.errors import TextVAEError
from textvae.latent import DiagonalGaussian


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def paraphrase(model, text: str, n: int = 5, scale: float = 1.0, strategy: str = "greedy", rerank: bool = True,
               oversample: int = 3, **options) -> list[str]:
    """Up to n distinct paraphrases of `text`, never the input itself.

    Draws n * oversample latents z = mu + scale * sigma * eps (scale 0 is the deterministic
    reconstruction), decodes each with `strategy`, drops duplicates and the input, and (rerank=True)
    orders the rest by similarity to the input under the NLU encoder.
    """
    if n <= 0:
        raise TextVAEError(f"n must be > 0, got {n}")
    if scale < 0:
        raise TextVAEError(f"scale must be >= 0, got {scale}")
    mu, logvar = model.encode([text])
    posterior = DiagonalGaussian(mu.expand(n * oversample, -1), logvar.expand(n * oversample, -1))
    z = posterior.rsample(scale=scale) if scale > 0 else posterior.mu
    seen = {_key(text)}
    candidates = []
    for candidate in model.decode(z, strategy=strategy, **options):
        if candidate and _key(candidate) not in seen:
            seen.add(_key(candidate))
            candidates.append(candidate)
    if rerank and len(candidates) > 1:
        scores = cosine_to(model, text, candidates)
        candidates = [c for _, c in sorted(zip(scores, candidates), key=lambda pair: -pair[0])]
    return candidates[:n]


def sample_around(model, texts: list[str], scale: float, strategy: str = "greedy", **options) -> list[str]:
    """One decoded sample around each text's posterior (batched; for evaluation)."""
    mu, logvar = model.encode(texts)
    z = DiagonalGaussian(mu, logvar).rsample(scale=scale) if scale > 0 else mu
    with torch.no_grad():
        return model.decode(z, strategy=strategy, **options)
