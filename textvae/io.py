"""Files on disk: atomic writes, safetensors weights and JSON configs (never pickles)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from textvae.errors import CheckpointError

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def cache_root() -> Path:
    """Where textvae keeps its caches (encoder features, staged kernel sources): $TEXTVAE_CACHE, else
    ~/.cache/textvae."""
    return Path(os.environ.get("TEXTVAE_CACHE", Path.home() / ".cache" / "textvae"))


def _atomic(path: Path, write) -> None:
    """Write through a temp file in the same folder, fsync, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic(path, lambda handle: handle.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is corrupted: {err}") from None


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """safetensors file written atomically; tensors are made contiguous and CPU-resident, and tied
    tensors (one storage under two names, e.g. tied embeddings) are stored once per name."""
    seen: set[int] = set()
    tensors = dict(tensors)
    for key, value in tensors.items():
        value = value.detach().contiguous().cpu()
        tensors[key] = value.clone() if value.data_ptr() in seen else value
        seen.add(value.data_ptr())
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is truncated or corrupted: {err}") from None


def write_model_config(folder: Path, model_type: str, config: dict[str, Any]) -> None:
    write_json(Path(folder) / CONFIG_FILE, {"format_version": FORMAT_VERSION, "model_type": model_type, "config": config})


def read_model_config(folder: Path) -> tuple[str, dict[str, Any]]:
    """(model_type, config dict) of a saved model folder, checking the format version."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"model folder not found: {folder}")
    meta = read_json(folder / CONFIG_FILE)
    if not isinstance(meta, dict) or "model_type" not in meta or "config" not in meta:
        raise CheckpointError(f"{folder / CONFIG_FILE} is not a textvae model config")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{folder} was saved in format version {version}; this textvae reads version {FORMAT_VERSION}")
    return meta["model_type"], meta["config"]
