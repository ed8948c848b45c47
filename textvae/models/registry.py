"""The model registry and where the bundled default model lives."""

from __future__ import annotations

from pathlib import Path

from textvae.errors import CheckpointError
from textvae.registry import Registry

MODELS: Registry[type] = Registry("model type")
BUNDLED = Path(__file__).resolve().parent.parent / "bundled"
DEFAULT_MODEL = "general-gru-vae"  # the VAE used when no model folder is given
DEFAULT_AE = "general-gru-ae"  # its autoencoder twin, for the deterministic-vs-sampled contrast
DEFAULT_DIALOGUE = "dialogue-cvae"  # the conditional VAE `respond` uses when no model folder is given
DEFAULT_PARAPHRASER = "paraphrase-cvae"  # the supervised paraphraser (conditional VAE that copies), for the demo


def default_model_path(name: str = DEFAULT_MODEL) -> Path:
    """A model shipped inside the package (see textvae/bundled/README.md)."""
    path = BUNDLED / name
    if not path.is_dir():
        raise CheckpointError(f"no model folder given and no bundled model at {path}")
    return path
