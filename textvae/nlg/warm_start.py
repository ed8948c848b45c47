"""A transformer decoder that starts from a pretrained BERT-style encoder (BERT2BERT, Rothe et al. 2020).

The encoder's word embeddings (in its own vocabulary, `data.tokenizer: pretrained`), position embeddings and
bottom `model.num_layers` layers become the decoder's embeddings, output layer (tied) and blocks: each layer's
self-attention turns causal under the decoder's mask, and the cross-attention over z and the source, the only
new weights of a block, starts fresh (`model.decoder_init: encoder`)."""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from textvae.config import ModelConfig
from textvae.errors import ConfigError


def encoder_shape(config: ModelConfig) -> ModelConfig:
    """`config` with the decoder's width, heads, feed-forward size and positions taken from the pretrained encoder
    (its layer count capped at the encoder's) and the output layer tied to the embeddings."""
    from transformers import AutoConfig

    from textvae.pretrained_models import resolve_encoder_path

    try:
        pretrained = AutoConfig.from_pretrained(resolve_encoder_path(config.encoder))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read encoder '{config.encoder}': {str(err).splitlines()[0]}") from None
    return dataclasses.replace(
        config, embed_dim=pretrained.hidden_size, num_heads=pretrained.num_attention_heads,
        ff_dim=pretrained.intermediate_size, num_layers=min(config.num_layers, pretrained.num_hidden_layers),
        max_positions=min(config.max_positions, pretrained.max_position_embeddings), tie_embeddings=True)


def _bert_parts(model: nn.Module) -> tuple[nn.Module, nn.ModuleList]:
    embeddings = getattr(model, "embeddings", None)
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if embeddings is None or layers is None or not hasattr(layers[0], "attention"):
        raise ConfigError("model.decoder_init: encoder needs a BERT-style encoder (BERT, MiniLM): embeddings and "
                          "encoder.layer with attention, intermediate and output")
    return embeddings, layers


@torch.no_grad()
def pretrained_table(model: nn.Module, pretrained_ids: list[int]) -> torch.Tensor:
    """The pretrained encoder `model`'s word embeddings in the decoder's token order (row i: token
    pretrained_ids[i])."""
    table = _bert_parts(model)[0].word_embeddings.weight
    return table[torch.tensor(pretrained_ids, device=table.device)]


@torch.no_grad()
def warm_start(decoder: nn.Module, model: nn.Module, pretrained_ids: list[int]) -> None:
    """Copy the pretrained encoder `model` (a Hugging Face BERT-style model) into a post-LN TransformerDecoder;
    decoder token i is the encoder's token pretrained_ids[i]."""
    embeddings, layers = _bert_parts(model)
    decoder.embedding.weight.copy_(pretrained_table(model, pretrained_ids))
    decoder.output.bias.zero_()
    positions = decoder.positions.num_embeddings
    # the encoder adds its first token-type embedding to every token: folded into the positions
    decoder.positions.weight.copy_(embeddings.position_embeddings.weight[:positions]
                                   + embeddings.token_type_embeddings.weight[0])
    decoder.embed_norm.load_state_dict(embeddings.LayerNorm.state_dict())
    for block, layer in zip(decoder.blocks, layers, strict=False):
        attention = layer.attention
        block.self_attn.q.load_state_dict(attention.self.query.state_dict())
        block.self_attn.kv.weight.copy_(torch.cat([attention.self.key.weight, attention.self.value.weight]))
        block.self_attn.kv.bias.copy_(torch.cat([attention.self.key.bias, attention.self.value.bias]))
        block.self_attn.out.load_state_dict(attention.output.dense.state_dict())
        block.ln1.load_state_dict(attention.output.LayerNorm.state_dict())
        block.mlp[0].load_state_dict(layer.intermediate.dense.state_dict())
        block.mlp[2].load_state_dict(layer.output.dense.state_dict())
        block.ln3.load_state_dict(layer.output.LayerNorm.state_dict())
