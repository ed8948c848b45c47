"""A pretrained Hugging Face encoder and its pooling (the 'understanding' side)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from textvae.errors import ConfigError
from textvae.eval_mode import evaluating
from textvae.nlu.base import ENCODERS, Encoder
from textvae.pretrained_models import resolve_encoder_path
from textvae.registry import Registry


def masked_mean(hidden: Tensor, mask: Tensor) -> Tensor:
    """Mean of hidden states (B, T, H) over positions where mask (B, T) is 1."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def masked_max(hidden: Tensor, mask: Tensor) -> Tensor:
    """Per-feature maximum of hidden states (B, T, H) over positions where mask (B, T) is 1."""
    return hidden.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(hidden.dtype).min).amax(1)


# A pooling maps (all hidden states: embeddings, layer 1, ..., last layer; attention mask) to (B, H).
POOLINGS: Registry = Registry("encoder pooling")
POOLINGS.register("mean")(lambda states, mask: masked_mean(states[-1], mask))  # what sentence-transformers use
POOLINGS.register("max")(lambda states, mask: masked_max(states[-1], mask))
POOLINGS.register("cls")(lambda states, mask: states[-1][:, 0])
POOLINGS.register("embeddings")(lambda states, mask: masked_mean(states[0], mask))  # a bag of word pieces


def pooling_names(spec: str) -> list[str]:
    """'mean+max+embeddings' -> the registered poolings it joins (an unknown name fails clearly)."""
    names = [name.strip() for name in spec.split("+")]
    for name in names:
        POOLINGS.get(name)
    return names


def _layer_list(model: nn.Module) -> nn.ModuleList:
    """The encoder's stack of transformer layers (the longest ModuleList)."""
    lists = [m for m in model.modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise ConfigError("cannot find the transformer layers of this encoder to unfreeze")
    return max(lists, key=len)


@ENCODERS.register("pretrained")
class PretrainedEncoder(Encoder):
    """AutoModel + pooling. trainable_layers: 0 frozen, k top layers, -1 all; pooling: registered
    poolings joined by '+' ('mean' is the sentence embedding; 'mean+max+embeddings' keeps more of the
    words, which a decoder needs to say the sentence again), concatenated into the features."""

    def __init__(self, name: str, trainable_layers: int = 0, max_tokens: int = 128, pooling: str = "mean") -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        path = resolve_encoder_path(name)
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModel.from_pretrained(path)
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot load encoder '{name}': {str(err).splitlines()[0]}") from None
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        self.name = name
        self.max_tokens = max_tokens
        self.pooling = pooling
        self._poolings = [POOLINGS.get(p) for p in pooling_names(pooling)]
        self.output_dim = self.model.config.hidden_size * len(self._poolings)
        self.model.requires_grad_(False)
        layers = list(_layer_list(self.model)) if trainable_layers > 0 else []
        self._top_layers = layers[-trainable_layers:] if layers else []  # a plain list: registered in self.model
        if trainable_layers == -1:
            self.model.requires_grad_(True)
        for layer in self._top_layers:
            layer.requires_grad_(True)
        self.frozen = trainable_layers == 0
        # with only the top k < all layers trained, what lies below them is fixed and can be cached per text
        self.split_layer = len(layers) - trainable_layers if 0 < trainable_layers < len(layers) else None

    @classmethod
    def from_config(cls, config) -> PretrainedEncoder:
        return cls(config.encoder, config.encoder_trainable_layers, config.encoder_max_tokens,
                   config.encoder_pooling)

    def train(self, mode: bool = True) -> PretrainedEncoder:
        # A frozen encoder always runs in eval mode so cached and live features agree.
        super().train(mode and not self.frozen)
        return self

    def _states(self, texts: list[str]) -> tuple[tuple[Tensor, ...], Tensor]:
        """All hidden states (embeddings first, last layer last) and the attention mask."""
        device = next(self.model.parameters()).device
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens,
                                 return_tensors="pt").to(device)
        return self.model(**encoded, output_hidden_states=True).hidden_states, encoded["attention_mask"]

    def pool(self, texts: list[str]) -> Tensor:
        """Pooled features (B, output_dim) for raw texts: the configured poolings, concatenated."""
        states, mask = self._states(texts)
        return self._pooled(states, mask)

    @torch.no_grad()
    def sentence_embedding(self, texts: list[str]) -> Tensor:
        """The encoder's own sentence embedding (B, H): masked mean of the last layer, whatever the pooling."""
        states, mask = self._states(texts)
        return masked_mean(states[-1], mask)

    def _pooled(self, states: tuple[Tensor, ...], mask: Tensor) -> Tensor:
        return torch.cat([pool(states, mask) for pool in self._poolings], dim=-1)

    @torch.no_grad()
    def lower_states(self, texts: list[str]) -> tuple[Tensor, Tensor, Tensor]:
        """The fixed part of a top-k fine-tuned encoder: (embeddings (B, T, H), the input of the first
        trained layer (B, T, H), attention mask (B, T)); `upper` finishes the pass."""
        if self.split_layer is None:
            raise ConfigError("lower_states needs an encoder whose top k < all layers are trained")
        states, mask = self._states(texts)
        return states[0], states[self.split_layer], mask

    def upper(self, embeddings: Tensor, lower: Tensor, mask: Tensor) -> Tensor:
        """Pooled features from `lower_states`: the trained top layers run on the fixed lower ones."""
        additive = (1.0 - mask[:, None, None, :].to(lower.dtype)) * torch.finfo(lower.dtype).min
        hidden = lower
        for layer in self._top_layers:
            out = layer(hidden, additive)
            hidden = out[0] if isinstance(out, tuple) else out
        return self._pooled((embeddings, hidden), mask)

    def forward(self, batch: dict) -> Tensor:
        if self.frozen and "features" in batch:
            return batch["features"]
        if "encoder_states" in batch:
            return self.upper(*batch["encoder_states"])
        if self.frozen:
            with torch.no_grad():
                return self.pool(batch["texts"])
        return self.pool(batch["texts"])

    @torch.no_grad()
    def pool_all(self, texts: list[str], batch_size: int = 256) -> Tensor:
        """Features for many texts, batched by length; (N, H) in the original order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.empty(len(texts), self.output_dim)
        with evaluating(self):
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                out[idx] = self.pool([texts[i] for i in idx]).float().cpu()
        return out
