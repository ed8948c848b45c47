"""Models: the TextVAE (VAE / AE / LM baseline) and friends, behind one registry."""

from textvae.models.conditional import ConditionalTextVAE
from textvae.models.registry import MODELS, default_model_path
from textvae.models.text_vae import TextVAE, TextVAEOutput

__all__ = ["MODELS", "ConditionalTextVAE", "TextVAE", "TextVAEOutput", "default_model_path"]
