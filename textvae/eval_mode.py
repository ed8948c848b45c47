"""`evaluating(...)`: run modules in eval mode for a block and give each its own mode back afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def evaluating(*modules: nn.Module | None) -> Iterator[None]:
    """Put each module in eval mode (dropout off) inside the block; restore its training flag on exit,
    also when the block raises. None entries are skipped."""
    present = [module for module in modules if module is not None]
    modes = [module.training for module in present]
    for module in present:
        module.eval()
    try:
        yield
    finally:
        for module, mode in zip(present, modes, strict=True):
            module.train(mode)
