"""Posterior parameters of many texts, written to a file chunk by chunk as they are computed.

The output's suffix picks the format (LATENT_FORMATS):
- `.npy`: one float32 array (2, n, latent_dim), [0] = mu and [1] = logvar: `mu, logvar = numpy.load(path)`;
- `.safetensors`: float32 tensors `mu` and `logvar`, (n, latent_dim) each;
- `.jsonl`: one object per text, {"text": ..., "mu": [...], "logvar": [...]}.
Rows follow the input's order. The file is written through a temp file and renamed (whole or absent); the
array formats learn n only at the end, so they reserve their header and fill it in last.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from torch import Tensor

from textvae.errors import DataError
from textvae.io import _atomic
from textvae.models.text_vae import ENCODE_BATCH
from textvae.registry import Registry

Encoded = tuple[list[str], Tensor, Tensor]  # texts, mu (m, D) and logvar (m, D), float32 on the CPU
Writer = Callable[[BinaryIO, Iterator[Encoded]], int]

LATENT_FORMATS: Registry[Writer] = Registry("latent file format")
HEADER_BYTES = 256  # reserved for an array format's header: its size depends on n, known only at the end


def iter_encoded(model, chunks: Iterable[list[str]], batch_size: int) -> Iterator[Encoded]:
    """(texts, mu, logvar) for each chunk of texts, encoded `batch_size` texts at a time."""
    count = 0
    for texts in chunks:
        mu, logvar = model.encode(texts, batch_size=batch_size)
        count += len(texts)
        yield texts, mu.float().cpu(), logvar.float().cpu()
    if not count:
        raise DataError("no text to encode (the input is empty)")


def _float32_bytes(x: Tensor) -> bytes:
    return x.contiguous().numpy().astype("<f4", copy=False).tobytes()


def _write_mu_then_logvar(handle: BinaryIO, encoded: Iterator[Encoded], header: Callable[[int, int], bytes]) -> int:
    """All mu rows, then all logvar rows (spooled to a temp file meanwhile), after a header(n, dim) written last."""
    handle.write(bytes(HEADER_BYTES))
    count = dim = 0
    with tempfile.TemporaryFile() as spool:
        for texts, mu, logvar in encoded:
            handle.write(_float32_bytes(mu))
            spool.write(_float32_bytes(logvar))
            count, dim = count + len(texts), mu.shape[1]
        spool.seek(0)
        shutil.copyfileobj(spool, handle)
    head = header(count, dim)
    if len(head) != HEADER_BYTES:
        raise DataError(f"{count:,} rows do not fit the reserved file header; encode fewer texts per file")
    handle.seek(0)
    handle.write(head)
    handle.seek(0, os.SEEK_END)
    return count


def _npy_header(count: int, dim: int) -> bytes:
    """NPY format 1.0: magic, version, header length, then the array's description padded with spaces."""
    description = repr({"descr": "<f4", "fortran_order": False, "shape": (2, count, dim)}).encode("latin1")
    body = description.ljust(HEADER_BYTES - 11) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


def _safetensors_header(count: int, dim: int) -> bytes:
    """safetensors: the JSON header's length, then the header (space-padded) with each tensor's byte range."""
    size = 4 * count * dim
    tensors = {"mu": {"dtype": "F32", "shape": [count, dim], "data_offsets": [0, size]},
               "logvar": {"dtype": "F32", "shape": [count, dim], "data_offsets": [size, 2 * size]}}
    body = json.dumps(tensors, separators=(",", ":")).encode().ljust(HEADER_BYTES - 8)
    return struct.pack("<Q", len(body)) + body


@LATENT_FORMATS.register(".npy")
def _write_npy(handle: BinaryIO, encoded: Iterator[Encoded]) -> int:
    return _write_mu_then_logvar(handle, encoded, _npy_header)


@LATENT_FORMATS.register(".safetensors")
def _write_safetensors(handle: BinaryIO, encoded: Iterator[Encoded]) -> int:
    return _write_mu_then_logvar(handle, encoded, _safetensors_header)


@LATENT_FORMATS.register(".jsonl")
def _write_jsonl(handle: BinaryIO, encoded: Iterator[Encoded]) -> int:
    count = 0
    for texts, mu, logvar in encoded:
        for text, row_mu, row_logvar in zip(texts, mu.tolist(), logvar.tolist()):
            record = {"text": text, "mu": row_mu, "logvar": row_logvar}
            handle.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        count += len(texts)
    return count


def latent_writer(path: str | Path) -> Writer:
    """The writer the suffix of `path` names (a ConfigError listing the formats otherwise)."""
    return LATENT_FORMATS.get(Path(path).suffix.lower())


def encode_to_file(model, chunks: Iterable[list[str]], path: str | Path, batch_size: int = ENCODE_BATCH) -> int:
    """Encode every chunk of texts and write (mu, logvar) to `path` in the format its suffix names; the number
    of texts written."""
    writer = latent_writer(path)
    written = []
    _atomic(Path(path), lambda handle: written.append(writer(handle, iter_encoded(model, chunks, batch_size))))
    return written[0]
