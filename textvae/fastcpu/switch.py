"""The one switch between the compiled C++ kernels and their Python reference loops, and the one place
that selects a kernel.

`use_native_kernels(False)` runs the Python loops for the code inside the block (same maths, slower;
the reference in the tests); `textvae COMMAND --no-native-kernels` does so for a command. Outside any
block the kernels are used where they build, unless the environment sets TEXTVAE_NATIVE=0. The setting
is a context variable: it holds for the current thread or task only, like `torch.autocast`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from types import ModuleType

_NATIVE: ContextVar[bool | None] = ContextVar("textvae_native_kernels", default=None)


def native_kernels_enabled() -> bool:
    """Whether the C++ kernels are to be used: the innermost `use_native_kernels`, else TEXTVAE_NATIVE != "0"."""
    chosen = _NATIVE.get()
    return chosen if chosen is not None else os.environ.get("TEXTVAE_NATIVE", "1") != "0"


@contextlib.contextmanager
def use_native_kernels(enabled: bool) -> Iterator[None]:
    """Within the block, run the C++ kernels (`enabled`, where they build) or the Python reference loops."""
    token = _NATIVE.set(bool(enabled))
    try:
        yield
    finally:
        _NATIVE.reset(token)


def native_kernel(name: str, device_type: str) -> ModuleType | None:
    """The compiled `csrc/<name>.cpp` for tensors on `device_type`, or None where the Python loops run:
    off the CPU, with the switch off, or where the kernel cannot be built."""
    if device_type != "cpu" or not native_kernels_enabled():
        return None
    from textvae.fastcpu.build import load  # torch and the build only once a kernel is asked for

    return load(name)


def build_kernels(device_type: str) -> None:
    """Compile (or load from PyTorch's cache) every kernel now where they would run, so that no timed
    step pays for a build: a first use after a change of the sources, flags or CPU compiles for ~30 s."""
    if device_type == "cpu" and native_kernels_enabled():
        from textvae.fastcpu.build import build_all

        build_all()
