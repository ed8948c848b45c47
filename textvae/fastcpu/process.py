"""Process-wide settings for a training or evaluation process, for entry points only.

Both change the whole process, so only command-line entry points call them (`textvae train`, `textvae
evaluate`, every `textvae` command for PATH; the test suite for PATH); library code (the Trainer, a
notebook or server that imports textvae) never does.

Keeping freed memory (glibc's malloc): every training step (and every importance-weighted decoder pass)
frees and allocates again the same large blocks (logits, their gradient, bf16 weight copies: 10-50 MB
each on PTB). By default glibc serves such blocks with fresh mmap'd pages and unmaps them on free, so
each step page-faults and zeroes them again: on an AMD EPYC 4.5-5% of training time is spent in the
kernel (0.5-1% with this setting), and with it steps run 3-5% faster with peak RSS unchanged within
50 MB; `textvae evaluate`'s IW passes run about 4% faster. Off glibc (macOS, musl) nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import shutil

# mallopt() options, from glibc's <malloc.h>
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
SETTINGS = ((M_MMAP_MAX, 0),  # large blocks come from the heap, whose freed memory can be reused
            (M_TRIM_THRESHOLD, 1 << 30),  # the heap's free top goes back to the OS only above 1 GiB
            (M_TOP_PAD, 64 << 20))  # and grows 64 MiB at a time


def keep_freed_memory() -> bool:
    """Set glibc's malloc for a training or evaluation process (for every allocation after the call);
    whether it applied: False off glibc."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the running process's C library
    except (OSError, AttributeError):
        return False
    return all(mallopt(option, value) == 1 for option, value in SETTINGS)


def put_ninja_on_path() -> None:
    """Append the `ninja` wheel's folder to PATH where no `ninja` is found on it (a virtual environment
    used without activating it): PyTorch builds the native kernels by running `ninja` from PATH."""
    if shutil.which("ninja") is not None:
        return
    try:
        import ninja
    except ImportError:  # the build then warns that ninja is missing and the Python loops run
        return
    os.environ["PATH"] = os.environ.get("PATH", "") + os.pathsep + ninja.BIN_DIR
