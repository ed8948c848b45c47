"""Applications on a trained model: paraphrase, interpolate, contrast, latent arithmetic."""

from textvae.apps.arithmetic import analogy, attribute_vector, shift
from textvae.apps.contrast import contrast
from textvae.apps.interpolate import interpolate, latent_path
from textvae.apps.paraphrase import paraphrase

__all__ = ["analogy", "attribute_vector", "contrast", "interpolate", "latent_path", "paraphrase", "shift"]
