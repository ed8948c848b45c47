"""Attention of the decoder's states over a source's token states (Luong et al. 2015, "general").

Applied after the recurrence, so the GRU still runs its fast whole-sequence loop: each decoder state
h_t queries the memory, and tanh(W [h_t; context_t]) replaces h_t before the output layer.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from textvae.errors import TextVAEError


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


def check_memory(attention: SourceAttention | None, memory: dict[str, Tensor] | None) -> None:
    """A decoder's source memory must be given exactly when it attends over a source (a TextVAEError otherwise)."""
    if attention is None and memory:
        raise TextVAEError("this decoder was built without source attention: it takes no memory")
    if attention is not None and not memory:
        raise TextVAEError("this decoder attends over a source: pass its memory (token states and mask)")


def attend_source(attention: SourceAttention | None, states: Tensor,
                  memory: dict[str, Tensor] | None) -> tuple[Tensor, Tensor | None]:
    """A decoder's states (B, T, H) attended over its source memory, and the attention weights (B, T, S); without
    source attention, the states unchanged and None."""
    check_memory(attention, memory)
    if attention is None:
        return states, None
    return attention(states, memory["memory"], memory["memory_mask"])


def source_memory(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """The source's token states and mask that decoding put into a decoder's state (empty without a source)."""
    return {key: state[key] for key in ("memory", "memory_mask") if key in state}
