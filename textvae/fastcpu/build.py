"""Native (C++) kernels (csrc/), compiled on first use with `torch.utils.cpp_extension` and cached by PyTorch.

`load` returns the compiled module, or None where it cannot be built (no C++ compiler, no `ninja` on
PATH): callers then run their Python reference implementation. Whether they ask at all is the switch's
choice (textvae.fastcpu.switch).
"""

from __future__ import annotations

import functools
import hashlib
import platform
import shutil
import sys
import warnings
from pathlib import Path
from types import ModuleType

from textvae.fastcpu.machine import cpu_info, cpu_model
from textvae.io import atomic_write_text, cache_root

SOURCES = Path(__file__).resolve().parent / "csrc"


def _flags() -> tuple[list[str], list[str]]:
    """Compiler and linker flags."""
    if sys.platform == "win32":
        return ["/O2", "/openmp"], []
    # -march=native: built on the machine that runs it (the cache name carries the CPU model);
    # -ffast-math lets GCC vectorize exp through glibc's libmvec (AVX-512 wide where the CPU has it);
    # -fopenmp: at::parallel_for is inlined here and runs on PyTorch's own OpenMP threads (same libgomp)
    x86 = ["-march=native", "-mprefer-vector-width=512"] if platform.machine() in ("x86_64", "AMD64") else []
    openmp = ["-fopenmp"] if sys.platform.startswith("linux") else ["-fopenmp-simd"]
    return ["-O3", *x86, "-ffast-math", *openmp], openmp


def stage_sources(key: str, files: list[Path], texts: list[str]) -> Path:
    """Copy a kernel's sources to $TEXTVAE_CACHE/kernels/<key>/ and return the .cpp there. PyTorch's
    build (ninja) rebuilds whenever a source's path changes, so building from the checkout would
    recompile (~30 s, a compiler in memory) for every new checkout or venv of the same code; the
    staged copy's path depends only on the sources' digest (`key`)."""
    folder = cache_root() / "kernels" / key
    for path, text in zip(files, texts):
        staged = folder / path.name
        if not staged.is_file() or staged.read_text() != text:
            atomic_write_text(staged, text)
    return folder / files[0].name


@functools.cache
def load(name: str) -> ModuleType | None:
    """The compiled `csrc/<name>.cpp`, or None (with a warning) where it cannot be built."""
    files = [SOURCES / f"{name}.cpp", *sorted(SOURCES.glob("*.h"))]
    cflags, ldflags = _flags()
    texts = [path.read_text() for path in files]
    cpu = cpu_info()  # -march=native compiles for this CPU: its model and flags name the build
    digest = hashlib.sha1("\n".join([*texts, *cflags, *ldflags, cpu_model(), cpu.get("flags", "")]).encode()).hexdigest()[:12]
    try:
        source = stage_sources(f"{name}_{digest}", files, texts)
        from torch.utils.cpp_extension import load as build

        if shutil.which("ninja") is None:  # PyTorch's build runs `ninja` from PATH and takes no other location
            raise RuntimeError("ninja is not on PATH (activate the environment that installed it, or call "
                               "textvae.fastcpu.process.put_ninja_on_path() from the program's entry point)")
        return build(name=f"textvae_{name}_{digest}", sources=[str(source)], extra_cflags=cflags,
                     extra_ldflags=ldflags, verbose=False)
    except Exception as error:  # no compiler or ninja, or a platform the flags do not suit
        warnings.warn(f"textvae: the native '{name}' kernel could not be built ({type(error).__name__}: {error}); "
                      "running the Python implementation (slower). To skip the attempt: --no-native-kernels, "
                      "textvae.fastcpu.use_native_kernels(False) or TEXTVAE_NATIVE=0.", RuntimeWarning, stacklevel=2)
        return None


def build_all() -> None:
    """Compile (or load from PyTorch's cache) every kernel here now, so that no timed step pays for a
    build: a first use after a change of the sources, flags or CPU compiles for ~30 s."""
    for source in sorted(SOURCES.glob("*.cpp")):
        load(source.stem)
