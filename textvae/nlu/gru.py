"""A small bidirectional GRU encoder trained from scratch: the baseline for ablations."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from textvae.data.tokenizers import PAD
from textvae.nlu.base import ENCODERS, Encoder


@ENCODERS.register("gru")
class GRUEncoder(Encoder):
    """Embeds the decoder's own token ids; features = final forward and backward states (B, 2H)."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.rnn = nn.GRU(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True, bidirectional=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.output_dim = 2 * hidden_dim

    @classmethod
    def from_config(cls, config) -> GRUEncoder:
        return cls(config.vocab_size, config.embed_dim, config.hidden_dim, config.num_layers, config.dropout)

    def forward(self, batch: dict) -> Tensor:
        tokens, lengths = batch["target_ids"], batch["lengths"]
        packed = pack_padded_sequence(self.embedding(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)  # (layers * 2, B, H)
        return torch.cat([state[-2], state[-1]], dim=-1)
