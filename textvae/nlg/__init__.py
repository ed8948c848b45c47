"""The NLG (generation) side: decoders behind one interface, and decoding strategies."""

from textvae.nlg.base import DECODERS, Decoder, reorder_state
from textvae.nlg.gru import GRUDecoder
from textvae.nlg.transformer import TransformerDecoder

__all__ = ["DECODERS", "Decoder", "GRUDecoder", "TransformerDecoder", "build_decoder", "reorder_state"]


def build_decoder(config, latent_dim: int) -> Decoder:
    """The decoder a ModelConfig names; latent_dim 0 gives a plain language model (no z)."""
    return DECODERS.get(config.decoder).from_config(config, latent_dim)
