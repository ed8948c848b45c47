"""A small GRU encoder (bidirectional by default) trained from scratch: the baseline for ablations.

It keeps nn.GRU's parameters but runs them through textvae.fastcpu.recurrence (bf16 matmuls under autocast);
padding is handled by reversing each sequence within its own length, so no packing is needed.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from textvae.data.tokenizers import PAD
from textvae.fastcpu.dropout import dropout
from textvae.fastcpu.recurrence import gru_layer
from textvae.nlu.base import ENCODERS, Encoder


@ENCODERS.register("gru")
class GRUEncoder(Encoder):
    """Embeds the decoder's own token ids; features = final forward and backward states (B, 2H), or the
    final forward state (B, H) when unidirectional."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_layers: int = 1, dropout: float = 0.0,
                 bidirectional: bool = True) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.rnn = nn.GRU(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True, bidirectional=bidirectional,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.output_dim = (2 if bidirectional else 1) * hidden_dim

    @classmethod
    def from_config(cls, config) -> GRUEncoder:
        return cls(config.vocab_size, config.embed_dim, config.hidden_dim, config.num_layers, config.dropout,
                   config.encoder_bidirectional)

    def token_states(self, batch: dict) -> Tensor:
        """The directions' states at every position (B, T, 2H or H); padding positions are not meaningful."""
        tokens = batch["target_ids"]
        lengths = batch["lengths"].to(tokens.device)
        # each sequence reversed within its own length (padding stays put); the map is its own inverse
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        reverse = torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)
        x = self.embedding(tokens)
        h0 = x.new_zeros(x.shape[0], self.rnn.hidden_size, dtype=torch.float32)
        for layer in range(self.rnn.num_layers):
            forward = gru_layer(self.rnn, layer, x, h0)
            if not self.rnn.bidirectional:
                x = forward
            else:
                backward = _time_gather(gru_layer(self.rnn, layer, _time_gather(x, reverse), h0, reverse=True), reverse)
                x = torch.cat([forward, backward], dim=-1)
            if layer < self.rnn.num_layers - 1 and self.rnn.training:
                x = dropout(x, self.rnn.dropout, training=True)
        return x

    def forward(self, batch: dict) -> Tensor:
        states = self.token_states(batch)
        hidden = self.rnn.hidden_size
        # forward direction: its state at the last real token; backward direction: at the first token
        last = (batch["lengths"].to(states.device) - 1).clamp(min=0)[:, None]
        final = _time_gather(states[..., :hidden], last)[:, 0]
        return torch.cat([final, states[:, 0, hidden:]], dim=-1) if self.rnn.bidirectional else final


def _time_gather(x: Tensor, index: Tensor) -> Tensor:
    """x (B, T, E) gathered along time by index (B, T'): (B, T', E)."""
    return x.gather(1, index[..., None].expand(-1, -1, x.shape[-1]))
