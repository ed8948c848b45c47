"""A small causal transformer decoder. z is projected to `memory_tokens` cross-attention memory
tokens and also added to every input embedding; generation uses a key/value cache. With source attention
(conditional models, `model.source_attention`) the cross-attention also reads the source's token states,
and the top layer's states attend over them once more (textvae.nlg.attention), which lets a copying decoder
(`model.copy`, textvae.nlg.copy) point at the source's tokens, as the GRU decoder does."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textvae.data.tokenizers import PAD
from textvae.errors import TextVAEError
from textvae.fastcpu.dropout import Dropout
from textvae.nlg.attention import SourceAttention, attend_source, check_memory, source_memory
from textvae.nlg.base import DECODERS, Decoder, State, tie_output
from textvae.nlg.copy import step_log_prob


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

    def attend(self, x: Tensor, k: Tensor, v: Tensor, causal: bool, mask: Tensor | None = None) -> Tensor:
        """`mask` (B, S): True at the keys to attend to (all when None)."""
        q = self.split(self.q(x))
        mask = None if mask is None else mask[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                           dropout_p=self.dropout if self.training else 0.0)
        b, h, t, dh = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, h * dh))


class Block(nn.Module):
    """Causal self-attention, cross-attention to the z memory (if any), MLP; each sublayer's input normalized
    (pre-LN, `norm_first`) or its residual sum (post-LN, as in BERT, whose layers a decoder can start from)."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float, cross: bool, norm_first: bool = True) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.ln1, self.self_attn = nn.LayerNorm(dim), Attention(dim, heads, dropout)
        self.ln2, self.cross_attn = ((nn.LayerNorm(dim), Attention(dim, heads, dropout)) if cross
                                     else (None, None))
        self.ln3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, ff_dim), nn.GELU(), nn.Linear(ff_dim, dim))
        self.drop = Dropout(dropout)

    def _input(self, x: Tensor, norm: nn.LayerNorm) -> Tensor:
        """What a sublayer reads: its normalized input (pre-LN) or the input itself (post-LN)."""
        return norm(x) if self.norm_first else x

    def _add(self, x: Tensor, y: Tensor, norm: nn.LayerNorm) -> Tensor:
        """The residual sum of a sublayer's output y, normalized after the sum in post-LN."""
        return x + self.drop(y) if self.norm_first else norm(x + self.drop(y))

    def forward(self, x: Tensor, memory_kv: tuple[Tensor, Tensor] | None, cache: tuple[Tensor, Tensor] | None = None,
                memory_mask: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h = self._input(x, self.ln1)
        k, v = self.self_attn.keys_values(h)
        if cache is not None:  # incremental decoding: x is the newest position only
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        x = self._add(x, self.self_attn.attend(h, k, v, causal=cache is None), self.ln1)
        if self.cross_attn is not None:
            cross = self.cross_attn.attend(self._input(x, self.ln2), *memory_kv, causal=False, mask=memory_mask)
            x = self._add(x, cross, self.ln2)
        x = self._add(x, self.mlp(self._input(x, self.ln3)), self.ln3)
        return x, (k, v)


@DECODERS.register("transformer")
class TransformerDecoder(Decoder):
    def __init__(self, vocab_size: int, dim: int, num_layers: int, heads: int, ff_dim: int, latent_dim: int = 0,
                 memory_tokens: int = 1, max_positions: int = 256, dropout: float = 0.1,
                 tie_embeddings: bool = False, memory_dim: int = 0, copy: bool = False,
                 norm_first: bool = True) -> None:
        super().__init__()
        if copy and not memory_dim:
            raise TextVAEError("a copying decoder needs source attention (memory_dim > 0)")
        self.latent_dim = latent_dim
        self.memory_tokens = memory_tokens
        self.max_positions = max_positions
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.positions = nn.Embedding(max_positions, dim)
        self.z_embed = nn.Linear(latent_dim, dim) if latent_dim else None
        self.z_memory = nn.Linear(latent_dim, memory_tokens * dim) if latent_dim else None
        self.source_proj = nn.Linear(memory_dim, dim) if memory_dim else None  # source states -> memory tokens
        cross = bool(latent_dim or memory_dim)
        self.blocks = nn.ModuleList(Block(dim, heads, ff_dim, dropout, cross, norm_first)
                                    for _ in range(num_layers))
        # post-LN (BERT's layout) normalizes the embeddings and leaves each block's output normalized
        self.embed_norm = nn.Identity() if norm_first else nn.LayerNorm(dim)
        self.ln_f = nn.LayerNorm(dim) if norm_first else nn.Identity()
        self.drop = Dropout(dropout)
        self.attention = SourceAttention(dim, memory_dim) if memory_dim else None
        self.copy_gate = nn.Linear(dim, 1) if copy else None  # reads the attended state
        self.output = nn.Linear(dim, vocab_size)
        if tie_embeddings:
            tie_output(self.embedding, self.output)

    @classmethod
    def from_config(cls, config, latent_dim: int) -> TransformerDecoder:
        return cls(config.vocab_size, config.embed_dim, config.num_layers, config.num_heads, config.ff_dim,
                   latent_dim, config.memory_tokens, config.max_positions, config.dropout, config.tie_embeddings,
                   # the conditional model reads the source with a bidirectional GRU of hidden_dim // 2 per direction
                   memory_dim=2 * (config.hidden_dim // 2) if config.source_attention else 0, copy=config.copy,
                   norm_first=config.decoder_init == "random")

    def _embed(self, input_ids: Tensor, z: Tensor | None, start: int) -> Tensor:
        t = input_ids.shape[1]
        if start + t > self.max_positions:
            raise ValueError(f"sequence of {start + t} tokens exceeds max_positions={self.max_positions}")
        pos = torch.arange(start, start + t, device=input_ids.device)
        x = self.embedding(input_ids) + self.positions(pos)
        if z is not None:
            x = x + self.z_embed(z).unsqueeze(1)
        return self.drop(self.embed_norm(x))

    def _memory(self, z: Tensor | None) -> Tensor | None:
        if z is None:
            return None
        return self.z_memory(z).view(z.shape[0], self.memory_tokens, -1)

    def _cross_memory(self, z: Tensor | None, memory: State | None) -> tuple[Tensor | None, Tensor | None]:
        """What the blocks' cross-attention reads: z's memory tokens, then the projected source states (B, M, dim),
        and the mask of the keys to read (B, M; None without a source)."""
        latent = self._memory(z)
        if not memory:
            return latent, None
        source, mask = self.source_proj(memory["memory"].to(self.source_proj.weight.dtype)), memory["memory_mask"]
        if latent is None:
            return source, mask
        keep = torch.ones(mask.shape[0], latent.shape[1], dtype=torch.bool, device=mask.device)
        return torch.cat([latent, source.to(latent.dtype)], dim=1), torch.cat([keep, mask], dim=1)

    def _states(self, input_ids: Tensor, z: Tensor | None, memory: State | None) -> Tensor:
        check_memory(self.attention, memory)
        x = self._embed(input_ids, z, 0)
        cross, mask = self._cross_memory(z, memory)
        for block in self.blocks:
            memory_kv = block.cross_attn.keys_values(cross) if cross is not None else None
            x, _ = block(x, memory_kv, memory_mask=mask)
        return self.ln_f(x)

    def forward(self, input_ids: Tensor, z: Tensor | None, memory: State | None = None) -> Tensor:
        attended, _ = attend_source(self.attention, self._states(input_ids, z, memory), memory)
        return self.drop(attended) if self.attention is not None else attended

    def forward_with_copy(self, input_ids: Tensor, z: Tensor | None, memory: State) -> tuple[Tensor, Tensor, Tensor]:
        """Teacher forcing for a copying decoder: the states for the output layer (B, T, H) as `forward`, the
        copy gate's logit (B, T) and the attention weights over the source tokens (B, T, S)."""
        attended, weights = attend_source(self.attention, self._states(input_ids, z, memory), memory)
        return self.drop(attended), self.copy_gate(attended).squeeze(-1), weights

    def init_state(self, z: Tensor | None, batch_size: int) -> State:
        device = self.embedding.weight.device
        state: State = {"position": torch.zeros(batch_size, dtype=torch.long, device=device)}
        for i, block in enumerate(self.blocks):  # empty key/value caches
            heads = block.self_attn.heads
            empty = torch.zeros(batch_size, heads, 0, self.embedding.embedding_dim // heads, device=device)
            state[f"k{i}"], state[f"v{i}"] = empty, empty
        if z is not None:
            state["z"] = z
        return state

    def _with_cross_memory(self, state: State) -> State:
        """The state with the blocks' cross-attention keys and values (and their mask), formed at the first step:
        decoding adds the source's memory to the state after `init_state`."""
        if "mk0" in state or not self.blocks or self.blocks[0].cross_attn is None:
            return state
        memory = source_memory(state)
        check_memory(self.attention, memory)
        cross, mask = self._cross_memory(state.get("z"), memory)
        state = dict(state)
        for i, block in enumerate(self.blocks):
            state[f"mk{i}"], state[f"mv{i}"] = block.cross_attn.keys_values(cross)
        if mask is not None:
            state["cross_mask"] = mask
        return state

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State]:
        """Logits of the next token; a copying decoder returns log-probabilities of the mixture instead."""
        state = self._with_cross_memory(state)
        start = int(state["position"][0])
        x = self._embed(tokens.unsqueeze(1), state.get("z"), start)
        new_state = dict(state)
        for i, block in enumerate(self.blocks):
            memory_kv = (state[f"mk{i}"], state[f"mv{i}"]) if f"mk{i}" in state else None
            x, (new_state[f"k{i}"], new_state[f"v{i}"]) = block(x, memory_kv, (state[f"k{i}"], state[f"v{i}"]),
                                                                state.get("cross_mask"))
        new_state["position"] = state["position"] + 1
        attended, weights = attend_source(self.attention, self.ln_f(x), source_memory(state))
        logits = self.output(attended[:, 0]) if self.int8 is None else \
            self.int8.linear(attended[:, 0], self.output.weight, self.output.bias)
        if self.copy_gate is None:
            return logits, new_state
        return step_log_prob(self.copy_gate(attended[:, 0]), logits, weights[:, 0], state["memory_ids"]), new_state
