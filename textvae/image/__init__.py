"""Image VAEs and the "why variation" experiments: AE, VAE (MLP and conv), β-VAE, CVAE, VQ-VAE, DAE,
and a two-level hierarchical (ladder) VAE.

They share the KL / reparameterization code (textvae.latent) and the objective (textvae.objectives)
with the text models, and the same config.json + model.safetensors save format.
"""

from textvae.image import vqvae as _vqvae  # noqa: F401  (registers 'vqvae')
from textvae.image.config import ImageModelConfig, ImageTrainConfig
from textvae.image.data import DATASETS, ImageData, check_images, load_image_data, read_idx
from textvae.image.hvae import HVAE
from textvae.image.models import (
    AE,
    CVAE,
    DAE,
    IMAGE_MODELS,
    VAE,
    BetaVAE,
    ConvVAE,
    ImageModel,
    build_image_model,
    make_config,
)
from textvae.image.training import evaluate_image_model, train_image_model
from textvae.image.vqvae import VQVAE, VectorQuantizer

__all__ = ["AE", "CVAE", "DAE", "DATASETS", "HVAE", "IMAGE_MODELS", "VAE", "VQVAE", "BetaVAE", "ConvVAE", "ImageData",
           "ImageModel", "ImageModelConfig", "ImageTrainConfig", "VectorQuantizer", "build_image_model",
           "check_images", "evaluate_image_model", "load_image_data", "make_config", "read_idx",
           "train_image_model"]
