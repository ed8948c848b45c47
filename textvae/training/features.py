"""Cache a frozen encoder's pooled features once per dataset (on disk, keyed by content)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from textvae.io import load_tensors, save_tensors
from textvae.nlu import PretrainedEncoder


def cache_dir() -> Path:
    """$TEXTVAE_CACHE, else ~/.cache/textvae."""
    return Path(os.environ.get("TEXTVAE_CACHE", Path.home() / ".cache" / "textvae")) / "features"


def _key(encoder: PretrainedEncoder, texts: list[str]) -> str:
    digest = hashlib.sha256(f"{encoder.name}|{encoder.max_tokens}|".encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\n")
    return digest.hexdigest()[:24]


def cached_features(encoder: PretrainedEncoder, texts: list[str]) -> torch.Tensor:
    """(N, H) pooled features of `texts`, computed once and reused across runs."""
    path = cache_dir() / f"{_key(encoder, texts)}.safetensors"
    if path.is_file():
        try:
            return load_tensors(path)["features"]
        except Exception:  # a broken cache entry is recomputed, never trusted
            path.unlink(missing_ok=True)
    features = encoder.pool_all(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_tensors(path, {"features": features})
    return features
