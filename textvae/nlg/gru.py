"""GRU decoder: z sets the initial state and is concatenated to every input embedding; optionally
its states attend over a source's token states (conditional models, `model.source_attention`) and
copy the source's tokens (`model.copy`, textvae.nlg.copy)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textvae.data.tokenizers import PAD
from textvae.errors import TextVAEError
from textvae.fastcpu.dropout import Dropout
from textvae.fastcpu.recurrence import gru_layers, runs_fused_gru
from textvae.nlg.attention import SourceAttention, attend_source, source_memory
from textvae.nlg.base import DECODERS, Decoder, State, apply_in_layout, tie_output
from textvae.nlg.copy import step_log_prob


@DECODERS.register("gru")
class GRUDecoder(Decoder):
    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, latent_dim: int = 0,
                 num_layers: int = 1, dropout: float = 0.0, memory_dim: int = 0, tie_embeddings: bool = False,
                 copy: bool = False) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.rnn = nn.GRU(embed_dim + latent_dim, hidden_dim, num_layers=num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.init_proj = nn.Linear(latent_dim, hidden_dim * num_layers) if latent_dim else None
        self.dropout = Dropout(dropout)
        self.attention = SourceAttention(hidden_dim, memory_dim) if memory_dim else None
        if copy and not memory_dim:
            raise TextVAEError("a copying decoder needs source attention (memory_dim > 0)")
        self.copy_gate = nn.Linear(hidden_dim, 1) if copy else None  # reads the attended state
        # tied: states are projected down to the embedding size, then scored against the embedding
        self.tie_proj = nn.Linear(hidden_dim, embed_dim) if tie_embeddings else None
        self.output = nn.Linear(embed_dim if tie_embeddings else hidden_dim, vocab_size)
        if tie_embeddings:
            tie_output(self.embedding, self.output)

    @classmethod
    def from_config(cls, config, latent_dim: int) -> GRUDecoder:
        return cls(config.vocab_size, config.embed_dim, config.hidden_dim, latent_dim, config.num_layers, config.dropout,
                   # the conditional model reads the source with a bidirectional GRU of hidden_dim // 2 per direction
                   memory_dim=2 * (config.hidden_dim // 2) if config.source_attention else 0,
                   tie_embeddings=config.tie_embeddings, copy=config.copy)

    def _initial_hidden(self, z: Tensor | None, batch_size: int, device) -> Tensor:
        if z is None:
            return torch.zeros(self.num_layers, batch_size, self.hidden_dim, device=device)
        h = torch.tanh(self.init_proj(z)).view(z.shape[0], self.num_layers, self.hidden_dim)
        return h.transpose(0, 1).contiguous()

    def _inputs(self, input_ids: Tensor, z: Tensor | None) -> Tensor:
        emb = self.dropout(self.embedding(input_ids))
        if z is None:
            return emb
        return torch.cat([emb, z.unsqueeze(1).expand(-1, input_ids.shape[1], -1).to(emb.dtype)], dim=-1)

    def _project(self, attended: Tensor) -> Tensor:
        """What the output layer reads: the attended states, projected to the embedding size when tied."""
        return apply_in_layout(self.tie_proj, attended) if self.tie_proj is not None else attended

    def _features(self, out: Tensor, memory: State | None) -> Tensor:
        return self._project(attend_source(self.attention, out, memory)[0])

    def _run(self, input_ids: Tensor, z: Tensor | None) -> Tensor:
        h0 = self._initial_hidden(z, input_ids.shape[0], input_ids.device).float()
        out, _ = gru_layers(self.rnn, self._inputs(input_ids, z), h0)  # bf16 matmuls under autocast
        return out

    def forward(self, input_ids: Tensor, z: Tensor | None, memory: State | None = None) -> Tensor:
        return self.dropout(self._features(self._run(input_ids, z), memory))

    def forward_with_copy(self, input_ids: Tensor, z: Tensor | None, memory: State) -> tuple[Tensor, Tensor, Tensor]:
        """Teacher forcing for a copying decoder: the states for the output layer (B, T, H) as `forward`,
        the copy gate's logit (B, T) and the attention weights over the source tokens (B, T, S)."""
        attended, weights = attend_source(self.attention, self._run(input_ids, z), memory)
        return self.dropout(self._project(attended)), self.copy_gate(attended).squeeze(-1), weights

    def forward_samples(self, input_ids: Tensor, z: Tensor) -> Tensor:
        """K samples per text without tiling the text: the first layer's input projection splits into the
        embedding part, formed once per text, and the z part, once per sample (constant over time), so
        an importance-weighted pass projects B rather than K * B sequences. In training mode (dropout
        masks differ per row), and where nn.GRU's kernel runs the GRU (CUDA), it tiles, as the base class does."""
        if not self._splits_latent(input_ids.device):
            return super().forward_samples(input_ids, z)
        return self._from_text_gates(self._text_gates(input_ids), self._z_weight(), z.flatten(0, 1))

    def latent_reader(self, input_ids: Tensor) -> Callable[[Tensor], Tensor]:
        """z (B, D) -> hidden (B, T, H) for these input_ids, the embedding part of the first layer's input
        projection formed once for every z (as in `forward_samples`)."""
        if not self._splits_latent(input_ids.device):
            return super().latent_reader(input_ids)
        text_gates, z_weight = self._text_gates(input_ids), self._z_weight()
        return lambda z: self._from_text_gates(text_gates, z_weight, z)

    def _splits_latent(self, device: torch.device) -> bool:
        """Whether the first layer's input projection may be split into a text part and a z part."""
        return not self.training and self.attention is None and bool(self.latent_dim) and not runs_fused_gru(device)

    def _text_gates(self, input_ids: Tensor) -> Tensor:
        """The embedding part of the first layer's input projection, bias included: (T, B, 3H)."""
        w_ih, b_ih = self.rnn.weight_ih_l0, self.rnn.bias_ih_l0
        return F.linear(self.embedding(input_ids), w_ih[:, :-self.latent_dim], b_ih).transpose(0, 1)

    def _z_weight(self) -> Tensor:
        """The z part of the first layer's input projection (3H, D), contiguous (a column slice is not, and the
        matmul would copy it at every call)."""
        return self.rnn.weight_ih_l0[:, -self.latent_dim:].contiguous()

    def _from_text_gates(self, text_gates: Tensor, z_weight: Tensor, z: Tensor) -> Tensor:
        """Hidden states (N, T, H) for latents z (N, D), row n reading text n % B of text_gates (T, B, 3H)."""
        z_gates = F.linear(z.to(text_gates.dtype), z_weight)  # (N, 3H)
        h0 = self._initial_hidden(z, z.shape[0], z.device).float()
        out, _ = gru_layers(self.rnn, None, h0, first_gates=(text_gates, z_gates))  # summed inside the loop
        return self._features(out, None)

    def init_state(self, z: Tensor | None, batch_size: int) -> State:
        device = self.embedding.weight.device
        state = {"hidden": self._initial_hidden(z, batch_size, device).transpose(0, 1)}
        if z is not None:
            state["z"] = z
        return state

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State]:
        """Logits of the next token; a copying decoder returns log-probabilities of the mixture instead."""
        z = state.get("z")
        inputs, hidden = self._inputs(tokens.unsqueeze(1), z), state["hidden"].transpose(0, 1).contiguous()
        if self.int8 is not None:
            hidden = self.int8.gru_step(self.rnn, inputs[:, 0], hidden)
            out = hidden[-1].unsqueeze(1)
        else:
            out, hidden = self.rnn(inputs, hidden)
        new_state = {**state, "hidden": hidden.transpose(0, 1)}
        attended, weights = attend_source(self.attention, out, source_memory(state))
        features = self._project(attended)[:, 0]
        logits = self.output(features) if self.int8 is None else \
            self.int8.linear(features, self.output.weight, self.output.bias)
        if self.copy_gate is None:
            return logits, new_state
        return step_log_prob(self.copy_gate(attended[:, 0]), logits, weights[:, 0], state["memory_ids"]), new_state
