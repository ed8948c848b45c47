"""Attention of the decoder's states over a source's token states (Luong et al. 2015, "general").

Applied after the recurrence, so the GRU still runs its fast whole-sequence loop: each decoder state
h_t queries the memory, and tanh(W [h_t; context_t]) replaces h_t before the output layer.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SourceAttention(nn.Module):
    def __init__(self, hidden_dim: int, memory_dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(hidden_dim, memory_dim, bias=False)
        self.combine = nn.Linear(hidden_dim + memory_dim, hidden_dim)

    def forward(self, hidden: Tensor, memory: Tensor, memory_mask: Tensor) -> tuple[Tensor, Tensor]:
        """hidden (B, T, H), memory (B, S, M), memory_mask (B, S) True at real tokens -> the attended states
        (B, T, H) and the attention weights (B, T, S)."""
        scores = self.query(hidden) @ memory.transpose(1, 2).to(hidden.dtype)  # (B, T, S)
        scores = scores.float().masked_fill(~memory_mask[:, None, :], float("-inf"))
        weights = scores.softmax(-1)
        context = weights.to(memory.dtype) @ memory
        return torch.tanh(self.combine(torch.cat([hidden, context.to(hidden.dtype)], dim=-1))), weights
