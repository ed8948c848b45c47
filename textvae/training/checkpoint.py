"""Training state for --resume: weights, optimizer, schedule, RNG and data position.

Tensors go to safetensors and everything else to JSON; the folder is replaced atomically.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textvae.errors import CheckpointError
from textvae.io import FORMAT_VERSION, load_tensors, read_json, save_tensors, write_json

STATE_FILE = "trainer_state.json"
TENSORS_FILE = "trainer_state.safetensors"


def _split(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace tensors inside nested dicts/lists by {'__tensor__': key}, collecting them."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {"__dict__": [[_split(k, f"{prefix}.k{i}", tensors), _split(v, f"{prefix}.{i}", tensors)]
                             for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, (list, tuple)):
        return [_split(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    return obj


def _join(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict) and "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if isinstance(obj, dict) and "__dict__" in obj:
        return {_join(k, tensors): _join(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_join(v, tensors) for v in obj]
    return obj


def rng_state() -> dict[str, Any]:
    _, py_state, py_gauss = random.getstate()
    _, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": list(py_state), "python_gauss": py_gauss,
             "numpy": torch.from_numpy(np_keys.astype(np.int64)), "numpy_rest": [int(np_pos), int(np_has_gauss), float(np_gauss)]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), state["python_gauss"]))
    pos, has_gauss, gauss = state["numpy_rest"]
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_state(folder: Path, state: dict[str, Any], extra: Callable[[Path], None] | None = None) -> None:
    """Write `state` (nested dicts of tensors and JSON values) to `folder`, replacing it atomically;
    `extra(tmp_folder)` may add files (the tokenizer) before the swap."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _split({"format_version": FORMAT_VERSION, **state}, "s", tensors)
    save_tensors(tmp / TENSORS_FILE, tensors)
    write_json(tmp / STATE_FILE, skeleton)
    if extra is not None:
        extra(tmp)
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def existing_checkpoint(folder: Path) -> Path | None:
    """`folder`, or its '.old' twin when a save was killed between the two renames; None if neither."""
    folder = Path(folder)
    old = folder.with_name(folder.name + ".old")
    return folder if folder.is_dir() else old if old.is_dir() else None


def load_training_state(folder: Path) -> dict[str, Any]:
    found = existing_checkpoint(folder)
    if found is None:
        raise CheckpointError(f"no training checkpoint to resume from at {folder}")
    state = _join(read_json(found / STATE_FILE), load_tensors(found / TENSORS_FILE))
    if not isinstance(state, dict) or not {"progress", "optimizer", "scheduler", "rng", "model"} <= set(state):
        raise CheckpointError(f"{found / STATE_FILE} is not a textvae training state")
    version = state.pop("format_version", 1)  # checkpoints from before the field was added are version 1
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{found} was saved in format version {version}; this textvae reads version "
                              f"{FORMAT_VERSION} (start the run again without --resume)")
    return state
