"""GRU decoder: z sets the initial state and is concatenated to every input embedding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textvae.data.tokenizers import PAD
from textvae.nlg.base import DECODERS, Decoder, State


def unrolled_gru(rnn: nn.GRU, inputs: Tensor, h0: Tensor) -> tuple[Tensor, Tensor]:
    """nn.GRU's math (same parameters, same result in float32) unrolled over time.

    The input projection runs once for the whole sequence and each step is one small matmul plus
    elementwise gates, so under bf16 autocast every matmul takes the fast bf16 path on CPUs with AMX,
    which the fused nn.GRU kernel does not. inputs (B, T, E), h0 (layers, B, H) -> (B, T, H), (layers, B, H).
    """
    layer_input, finals = inputs, []
    for layer in range(rnn.num_layers):
        w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
        b_ih, b_hh = getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}")
        gates_x = F.linear(layer_input, w_ih, b_ih)  # (B, T, 3H), all steps at once
        h = h0[layer]
        outputs = []
        for t in range(layer_input.shape[1]):
            x_r, x_z, x_n = gates_x[:, t].float().chunk(3, dim=-1)
            h_r, h_z, h_n = F.linear(h, w_hh, b_hh).float().chunk(3, dim=-1)
            r = torch.sigmoid(x_r + h_r)
            z = torch.sigmoid(x_z + h_z)
            h = (1 - z) * torch.tanh(x_n + r * h_n) + z * h.float()
            outputs.append(h)
        layer_input = torch.stack(outputs, dim=1)
        finals.append(h)
        if layer < rnn.num_layers - 1 and rnn.dropout and rnn.training:
            layer_input = F.dropout(layer_input, rnn.dropout, training=True)
    return layer_input, torch.stack(finals)


@DECODERS.register("gru")
class GRUDecoder(Decoder):
    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, latent_dim: int = 0,
                 num_layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.rnn = nn.GRU(embed_dim + latent_dim, hidden_dim, num_layers=num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.init_proj = nn.Linear(latent_dim, hidden_dim * num_layers) if latent_dim else None
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_dim, vocab_size)

    @classmethod
    def from_config(cls, config, latent_dim: int) -> GRUDecoder:
        return cls(config.vocab_size, config.embed_dim, config.hidden_dim, latent_dim, config.num_layers, config.dropout)

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

    def forward(self, input_ids: Tensor, z: Tensor | None) -> Tensor:
        h0 = self._initial_hidden(z, input_ids.shape[0], input_ids.device).float()
        inputs = self._inputs(input_ids, z)
        if torch.is_autocast_enabled(inputs.device.type):
            out, _ = unrolled_gru(self.rnn, inputs, h0)  # bf16 matmuls: several times faster on AMX CPUs
        else:
            out, _ = self.rnn(inputs, h0)
        return self.dropout(out)

    def project(self, hidden: Tensor) -> Tensor:
        return self.output(hidden)

    def init_state(self, z: Tensor | None, batch_size: int) -> State:
        device = self.embedding.weight.device
        state = {"hidden": self._initial_hidden(z, batch_size, device).transpose(0, 1)}
        if z is not None:
            state["z"] = z
        return state

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State]:
        z = state.get("z")
        out, hidden = self.rnn(self._inputs(tokens.unsqueeze(1), z), state["hidden"].transpose(0, 1).contiguous())
        new_state = {**state, "hidden": hidden.transpose(0, 1)}
        return self.output(out[:, 0]), new_state
