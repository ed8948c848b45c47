"""Cache a frozen encoder's pooled features once per dataset (on disk, keyed by content)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from textvae.io import cache_root, load_tensors, save_tensors
from textvae.nlu import PretrainedEncoder


def cache_dir() -> Path:
    """$TEXTVAE_CACHE/features, else ~/.cache/textvae/features."""
    return cache_root() / "features"


def _key(encoder: PretrainedEncoder, texts: list[str]) -> str:
    pooling = "" if encoder.pooling == "mean" else f"{encoder.pooling}|"  # mean: the keys of existing caches
    digest = hashlib.sha256(f"{encoder.name}|{encoder.max_tokens}|{pooling}".encode())
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


def attach_cached_features(model, *datasets) -> None:
    """Give each dataset (None entries are skipped) the cached features of the model's frozen pretrained
    encoder, and of its sources for a conditional model, so no text is encoded twice across training,
    validation and evaluation. Other encoders (trainable, or trained from scratch) are left alone."""
    encoder = getattr(model, "encoder", None)
    if not (isinstance(encoder, PretrainedEncoder) and encoder.frozen):
        return
    for dataset in datasets:
        if dataset is not None:
            dataset.features = cached_features(encoder, dataset.texts)
            if dataset.sources is not None:
                dataset.source_features = cached_features(encoder, dataset.sources)
