"""The model registry and where the bundled default model lives."""

from __future__ import annotations

from pathlib import Path

from textvae.errors import CheckpointError
from textvae.registry import Registry

MODELS: Registry[type] = Registry("model type")
BUNDLED = Path(__file__).resolve().parent.parent / "bundled"
DEFAULT_MODEL = "ptb-gru-vae"


def default_model_path() -> Path:
    """The model shipped inside the package, used when no model folder is given."""
    path = BUNDLED / DEFAULT_MODEL
    if not path.is_dir():
        raise CheckpointError(f"no model folder given and no bundled model at {path}")
    return path
