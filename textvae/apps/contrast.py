"""Deterministic vs sampled: an autoencoder beside a VAE on the same input."""

from __future__ import annotations

import torch

from textvae.errors import TextVAEError, require_count

MAX_SAMPLES = 10_000  # outputs per row: a side-by-side view, not a corpus (`sample`/`paraphrase` stream more)


def contrast(vae, ae, text: str, n: int = 5, **options) -> dict[str, list[str] | str]:
    """Side by side: the AE's reconstruction (no variation), the VAE's greedy decode from mu, VAE samples around
    it at the VAE's paraphrase scale (`TextVAE.sampler`), VAE prior samples, and the AE decoding random
    z ~ N(0, I) (its "holes")."""
    if not vae.variational:
        raise TextVAEError("the first model must be a VAE (model.variational: true)")
    if ae.variational or not ae.has_latent:
        raise TextVAEError("the second model must be an autoencoder (model.variational: false)")
    if require_count(n) > MAX_SAMPLES:
        raise TextVAEError(f"n must be at most {MAX_SAMPLES:,} for a side-by-side contrast, got {n:,} "
                           f"(`textvae sample` and `paraphrase` stream any number)")
    draw = vae.sampler([text])  # encoded (and refined) once: scale 0 is the decode of the mean
    ae_mu, _ = ae.encode([text])
    return {
        "input": text,
        "ae_reconstruction": ae.decode(ae_mu, **options)[0],
        "vae_greedy_from_mu": next(draw(1, 0.0, **options)),
        "vae_posterior_samples": list(draw(n, **options)),
        "vae_prior_samples": vae.sample(n, **options),
        "ae_random_z": ae.decode(torch.randn(n, ae.config.latent_dim, device=ae.device), **options),
    }
