"""A small causal transformer decoder. z is projected to `memory_tokens` cross-attention memory
tokens and also added to every input embedding; generation uses a key/value cache."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textvae.data.tokenizers import PAD
from textvae.errors import TextVAEError
from textvae.fastcpu.dropout import Dropout
from textvae.nlg.base import DECODERS, Decoder, State, tie_output


class Attention(nn.Module):
    """Multi-head attention over separate query and key/value inputs."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"embed_dim {dim} must be divisible by num_heads {heads}")
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = dropout

    def split(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def keys_values(self, x: Tensor) -> tuple[Tensor, Tensor]:
        k, v = self.kv(x).chunk(2, dim=-1)
        return self.split(k), self.split(v)

    def attend(self, x: Tensor, k: Tensor, v: Tensor, causal: bool) -> Tensor:
        q = self.split(self.q(x))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=self.dropout if self.training else 0.0)
        b, h, t, dh = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, h * dh))


class Block(nn.Module):
    """Pre-LN block: causal self-attention, cross-attention to the z memory (if any), MLP."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float, cross: bool) -> None:
        super().__init__()
        self.ln1, self.self_attn = nn.LayerNorm(dim), Attention(dim, heads, dropout)
        self.ln2, self.cross_attn = (nn.LayerNorm(dim), Attention(dim, heads, dropout)) if cross else (None, None)
        self.ln3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, ff_dim), nn.GELU(), nn.Linear(ff_dim, dim))
        self.drop = Dropout(dropout)

    def forward(self, x: Tensor, memory_kv: tuple[Tensor, Tensor] | None,
                cache: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h = self.ln1(x)
        k, v = self.self_attn.keys_values(h)
        if cache is not None:  # incremental decoding: x is the newest position only
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        x = x + self.drop(self.self_attn.attend(h, k, v, causal=cache is None))
        if self.cross_attn is not None:
            x = x + self.drop(self.cross_attn.attend(self.ln2(x), *memory_kv, causal=False))
        x = x + self.drop(self.mlp(self.ln3(x)))
        return x, (k, v)


@DECODERS.register("transformer")
class TransformerDecoder(Decoder):
    def __init__(self, vocab_size: int, dim: int, num_layers: int, heads: int, ff_dim: int, latent_dim: int = 0,
                 memory_tokens: int = 1, max_positions: int = 256, dropout: float = 0.1,
                 tie_embeddings: bool = False) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.memory_tokens = memory_tokens
        self.max_positions = max_positions
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.positions = nn.Embedding(max_positions, dim)
        self.z_embed = nn.Linear(latent_dim, dim) if latent_dim else None
        self.z_memory = nn.Linear(latent_dim, memory_tokens * dim) if latent_dim else None
        self.blocks = nn.ModuleList(Block(dim, heads, ff_dim, dropout, cross=bool(latent_dim)) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(dim)
        self.drop = Dropout(dropout)
        self.output = nn.Linear(dim, vocab_size)
        if tie_embeddings:
            tie_output(self.embedding, self.output)

    @classmethod
    def from_config(cls, config, latent_dim: int) -> TransformerDecoder:
        return cls(config.vocab_size, config.embed_dim, config.num_layers, config.num_heads, config.ff_dim,
                   latent_dim, config.memory_tokens, config.max_positions, config.dropout, config.tie_embeddings)

    def _embed(self, input_ids: Tensor, z: Tensor | None, start: int) -> Tensor:
        t = input_ids.shape[1]
        if start + t > self.max_positions:
            raise ValueError(f"sequence of {start + t} tokens exceeds max_positions={self.max_positions}")
        pos = torch.arange(start, start + t, device=input_ids.device)
        x = self.embedding(input_ids) + self.positions(pos)
        if z is not None:
            x = x + self.z_embed(z).unsqueeze(1)
        return self.drop(x)

    def _memory(self, z: Tensor | None) -> Tensor | None:
        if z is None:
            return None
        return self.z_memory(z).view(z.shape[0], self.memory_tokens, -1)

    def forward(self, input_ids: Tensor, z: Tensor | None, memory: State | None = None) -> Tensor:
        if memory:
            raise TextVAEError("the transformer decoder does not attend over a source (model.source_attention)")
        x = self._embed(input_ids, z, 0)
        memory = self._memory(z)
        for block in self.blocks:
            memory_kv = block.cross_attn.keys_values(memory) if memory is not None else None
            x, _ = block(x, memory_kv)
        return self.ln_f(x)

    def init_state(self, z: Tensor | None, batch_size: int) -> State:
        device = self.embedding.weight.device
        state: State = {"position": torch.zeros(batch_size, dtype=torch.long, device=device)}
        for i, block in enumerate(self.blocks):  # empty key/value caches
            heads = block.self_attn.heads
            empty = torch.zeros(batch_size, heads, 0, self.embedding.embedding_dim // heads, device=device)
            state[f"k{i}"], state[f"v{i}"] = empty, empty
        memory = self._memory(z)
        if z is not None:
            state["z"] = z
            for i, block in enumerate(self.blocks):
                state[f"mk{i}"], state[f"mv{i}"] = block.cross_attn.keys_values(memory)
        return state

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State]:
        start = int(state["position"][0])
        x = self._embed(tokens.unsqueeze(1), state.get("z"), start)
        new_state = dict(state)
        for i, block in enumerate(self.blocks):
            memory_kv = (state[f"mk{i}"], state[f"mv{i}"]) if f"mk{i}" in state else None
            x, (new_state[f"k{i}"], new_state[f"v{i}"]) = block(x, memory_kv, (state[f"k{i}"], state[f"v{i}"]))
        new_state["position"] = state["position"] + 1
        return self.output(self.ln_f(x)[:, 0]), new_state

