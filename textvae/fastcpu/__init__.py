"""What makes textvae fast on a CPU, in one place; model code sees it only through the functions it calls.

  switch.py       the one switch: C++ kernels or their Python reference loops (`use_native_kernels`)
  build.py        compiles csrc/*.cpp on first use (torch.utils.cpp_extension) and caches the build
  recurrence.py   GRU recurrence with a hand-written backward (bf16 matmuls), for the GRU encoder and decoder
  output_loss.py  the output layer fused with its cross-entropy, a block of rows at a time
  dropout.py      dropout with a fast CPU mask
  machine.py      the CPU probe: model, matmul instruction sets, measured matmul rates
  process.py      process-wide settings (malloc, PATH for the build), called by entry points only
"""

from textvae.fastcpu.switch import build_kernels, native_kernel, native_kernels_enabled, use_native_kernels

__all__ = ["build_kernels", "native_kernel", "native_kernels_enabled", "use_native_kernels"]
