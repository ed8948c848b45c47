"""Applications on a trained model: paraphrase, interpolate, contrast."""

from textvae.apps.contrast import contrast
from textvae.apps.interpolate import interpolate, latent_path
from textvae.apps.paraphrase import paraphrase

__all__ = ["contrast", "interpolate", "latent_path", "paraphrase"]
