"""Packed copies of float weight matrices for fbgemm's CPU kernels (int8 for decoding, float16 for latent
refinement), each made on first use and remade when its weight changes: a new tensor, or an in-place update
(the tensor's version counter). Training never sees these copies; it runs on the float weights."""

from __future__ import annotations

from torch import Tensor


class PackedWeights:
    """A cache of packed weights; a subclass says how a (weight, bias) pair is packed."""

    def __init__(self) -> None:
        self._packed: dict[tuple[int, bool], tuple[tuple, object]] = {}

    def _pack(self, weight: Tensor, bias: Tensor | None) -> object:
        raise NotImplementedError

    def packed(self, weight: Tensor, bias: Tensor | None = None, transposed: bool = False) -> object:
        """The packed copy of `weight` (out, in) with `bias`, or of weight.T (`transposed`, no bias)."""
        stamp = (weight.data_ptr(), weight._version, None if bias is None else (bias.data_ptr(), bias._version))
        key = (id(weight), transposed)
        entry = self._packed.get(key)
        if entry is None or entry[0] != stamp:
            matrix = weight.detach().float()
            entry = (stamp, self._pack(matrix.t().contiguous() if transposed else matrix,
                                       None if bias is None else bias.detach().float()))
            self._packed[key] = entry
        return entry[1]
