"""The NLU (understanding) side: text -> pooled features -> posterior q(z|x)."""

from textvae.nlu.base import ENCODERS, Encoder
from textvae.nlu.gru import GRUEncoder
from textvae.nlu.posterior import PosteriorHead
from textvae.nlu.pretrained import PretrainedEncoder, resolve_encoder_path

__all__ = ["ENCODERS", "Encoder", "GRUEncoder", "PosteriorHead", "PretrainedEncoder", "build_encoder",
           "resolve_encoder_path"]


def build_encoder(config) -> Encoder:
    """The encoder a ModelConfig names: 'gru', or any pretrained name/folder ('minilm' by default)."""
    name = config.encoder if config.encoder in ENCODERS else "pretrained"
    return ENCODERS.get(name).from_config(config)
