"""What machine a number was measured on: CPU model, the instruction sets that decide matmul speed
(AVX-512, AVX512-BF16, AMX), threads, library versions and, on request, the measured matmul rate.

Training and evaluation speeds differ several-fold between CPUs of the same core count (a bf16
matmul runs ~7x faster with AMX than with AVX512-BF16 alone), so every benchmark records this
beside its timings, and `textvae env` prints it for bug reports.
"""

from __future__ import annotations

import functools
import os
import platform
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import torch

# CPU flags (as /proc/cpuinfo spells them) that decide the speed of float32 and bf16 matmuls
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


@functools.cache
def cpu_info() -> dict[str, str]:
    """{'model name': ..., 'flags': ...} of the first CPU in /proc/cpuinfo (empty where there is none)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return {}
    first: dict[str, str] = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "flags"):
            first.setdefault(key.strip(), value.strip())
    return first


def cpu_model() -> str:
    """The CPU's model name (platform.processor() where /proc/cpuinfo is missing)."""
    return cpu_info().get("model name") or platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """Which of SPEED_FLAGS the CPU has."""
    flags = set(cpu_info().get("flags", "").split())
    return [flag for flag in SPEED_FLAGS if flag in flags]


def native_bf16() -> bool:
    """Whether the CPU runs bf16 matmuls natively (AVX512-BF16 or AMX); without, oneDNN emulates them
    and bf16 autocast is slower than float32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def bf16_where_native(device: torch.device) -> AbstractContextManager:
    """bf16 autocast on `device` where its bf16 matmuls are native (a CPU with AVX512-BF16 or AMX, a CUDA GPU with
    bf16), else a context that changes nothing: for inference whose results may carry bf16 rounding (the
    coordinates of a map), never for results that must equal float32 ones."""
    native = native_bf16() if device.type == "cpu" else device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device.type, dtype=torch.bfloat16) if native else nullcontext()


def matmul_tflops(dtype: torch.dtype, threads: int | None = None, size: int = 2048, repeats: int = 3) -> float:
    """Measured TFLOP/s of a (size x size) @ (size x size) CPU matmul in `dtype` with `threads` threads
    (default: torch's current setting); the best of `repeats` after one warm-up."""
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
        a @ b
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(old)
    return 2 * size**3 / best / 1e12


def label(info: dict) -> str:
    """A short name for tables: 'AMD EPYC, 2 cores, AVX512-BF16' (the fastest matmul instruction set)."""
    flags = info.get("cpu_flags", [])
    isa = next((name for flag, name in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX512-BF16"),
                                         ("avx512f", "AVX-512"), ("avx2", "AVX2")) if flag in flags), "no AVX2")
    return f"{info.get('cpu', '?')}, {info.get('cores', '?')} cores, {isa}"


def machine_info(measure: bool = False) -> dict:
    """The machine and software a benchmark ran on; with `measure`, also the float32 and bf16 matmul
    rates on one thread and on every core (a few seconds)."""
    import transformers

    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cpu_flags": cpu_flags(),
        "native_bf16": native_bf16(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    if measure:
        cores = os.cpu_count() or 1
        info["matmul_tflops"] = {f"{name}_{threads}t": round(matmul_tflops(dtype, threads), 3)
                                 for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16))
                                 for threads in sorted({1, cores})}
    info["label"] = label(info)
    return info


def warn_if_emulated_bf16(device_type: str, what: str) -> None:
    """Warn that bf16 on this CPU is emulated (slower than float32); `what` names the setting to change."""
    if device_type == "cpu" and not native_bf16():
        import warnings

        warnings.warn(f"this CPU ({cpu_model()}) has no native bf16 matmul (AVX512-BF16 or AMX): bf16 is "
                      f"emulated and slower than float32 here; use {what}", UserWarning, stacklevel=3)
