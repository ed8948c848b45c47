"""textvae: variational autoencoders for text (pretrained NLU encoder -> z -> NLG decoder)."""

from textvae.config import DataConfig, ExperimentConfig, ModelConfig, ObjectiveConfig, TrainConfig
from textvae.errors import TextVAEError
from textvae.models import TextVAE

__version__ = "0.1.0"
__all__ = ["DataConfig", "ExperimentConfig", "ModelConfig", "ObjectiveConfig", "TextVAE", "TextVAEError",
           "TrainConfig", "__version__"]
