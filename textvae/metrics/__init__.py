"""Metrics: likelihood (ELBO, IW-NLL, PPL), latent (KL, MI, AU), generation quality."""

from textvae.metrics.likelihood import evaluate_elbo

__all__ = ["evaluate_elbo"]
