"""The NLG side's contract, shared by every decoder.

Teacher forcing: `forward(input_ids (B, T), z (B, D) | None, memory=None) -> hidden (B, T, H)`, then the output
layer `output` (an nn.Linear H -> V) gives logits; it is kept separate so the loss can project only the
real tokens, fused with the cross-entropy (textvae.fastcpu.output_loss).
Several latent samples per text (importance-weighted evaluation): `forward_samples(input_ids (B, T), z (K, B, D))
-> hidden (K * B, T, H)`, the same as `forward` on the batch tiled K times; a decoder may override it to
share the work that does not depend on z.
Generation: `init_state(z, batch_size) -> state`, `step(tokens (B,), state) -> (logits (B, V), state)`.
A state is a dict of batch-first tensors, so beam search can reorder any decoder's state. A decoder with `int8`
set (on the CPU, `TextVAE.int8_decoding`) reads int8 copies of its output layer (a GRU also of its recurrent
weights) in `step`.
`memory` (decoders that attend over a source): {"memory": (B, S, M) token states, "memory_mask": (B, S)
True at real tokens}; decoding puts the same entries into the state.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from textvae.fastcpu.int8 import Int8Weights
from textvae.registry import Registry

DECODERS: Registry[type] = Registry("decoder")
State = dict[str, Tensor]


class Decoder(nn.Module):
    latent_dim: int
    output: nn.Linear
    int8: Int8Weights | None = None  # set: decoding steps read int8 copies of the weights (CPU)

    def forward(self, input_ids: Tensor, z: Tensor | None, memory: State | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward_samples(self, input_ids: Tensor, z: Tensor) -> Tensor:
        """K latent samples per text: input_ids (B, T), z (K, B, D) -> hidden (K * B, T, H), row k * B + b
        decoding text b with z[k, b]."""
        return self.forward(input_ids.repeat(z.shape[0], 1), z.flatten(0, 1))

    def latent_reader(self, input_ids: Tensor) -> Callable[[Tensor], Tensor]:
        """z (B, D) -> hidden (B, T, H) for these input_ids, called again and again with new latents (latent
        refinement): a decoder may form what does not depend on z once, here."""
        return lambda z: self.forward(input_ids, z)

    def init_state(self, z: Tensor | None, batch_size: int) -> State:  # pragma: no cover - interface
        raise NotImplementedError

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State]:  # pragma: no cover - interface
        raise NotImplementedError


def tie_output(embedding: nn.Embedding, output: nn.Linear) -> None:
    """Share the input embedding with the output layer (Press & Wolf 2017), initialised small
    (uniform ±0.1) so the tied logits start near zero; the padding row stays zero as nn.Embedding
    leaves it."""
    nn.init.uniform_(embedding.weight, -0.1, 0.1)
    if embedding.padding_idx is not None:
        nn.init.zeros_(embedding.weight[embedding.padding_idx])
    output.weight = embedding.weight


def time_major_view(x: Tensor) -> bool:
    """Whether x (B, T, ...) is a batch-first view of time-major memory (as the GRU recurrence returns)."""
    return not x.is_contiguous() and x.transpose(0, 1).is_contiguous()


def apply_in_layout(layer: nn.Module, x: Tensor) -> Tensor:
    """layer(x) for a position-wise layer, run in x's memory layout: on a batch-first view of time-major
    memory it runs time-major, so no (B, T, H) copy is made."""
    return layer(x.transpose(0, 1)).transpose(0, 1) if time_major_view(x) else layer(x)


def reorder_state(state: State, index: Tensor) -> State:
    """Select batch rows of every state tensor (for beam search)."""
    return {key: value.index_select(0, index) for key, value in state.items()}
