"""Cache what a pretrained encoder computes without training, once per dataset (on disk, keyed by content):
the pooled features of a frozen encoder, or the token states below the trained top layers of a partly
fine-tuned one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import Tensor

from textvae.eval_mode import evaluating
from textvae.io import cache_root, load_tensors, save_tensors
from textvae.nlu import PretrainedEncoder


def cache_dir() -> Path:
    """$TEXTVAE_CACHE/features, else ~/.cache/textvae/features."""
    return cache_root() / "features"


def _key(encoder: PretrainedEncoder, texts: list[str], kind: str = "") -> str:
    pooling = "" if encoder.pooling == "mean" else f"{encoder.pooling}|"  # mean: the keys of existing caches
    digest = hashlib.sha256(f"{encoder.name}|{encoder.max_tokens}|{pooling}{kind}".encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\n")
    return digest.hexdigest()[:24]


def cached_features(encoder: PretrainedEncoder, texts: list[str],
                    known: tuple[list[str], Tensor] | None = None) -> torch.Tensor:
    """(N, H) pooled features of `texts`, computed once and reused across runs; `known` (texts and their
    features, e.g. a dataset's targets when these are its sources) spares encoding those texts again."""
    path = cache_dir() / f"{_key(encoder, texts)}.safetensors"
    if path.is_file():
        try:
            return load_tensors(path)["features"]
        except Exception:  # a broken cache entry is recomputed, never trusted
            path.unlink(missing_ok=True)
    known_texts, parts = (known[0], [known[1].float()]) if known is not None else ([], [])
    rows = {text: row for row, text in enumerate(known_texts)}
    missing = [text for text in dict.fromkeys(texts) if text not in rows]  # each text encoded once
    rows.update({text: len(known_texts) + row for row, text in enumerate(missing)})
    if missing:
        parts.append(encoder.pool_all(missing))
    features = torch.cat(parts)[torch.tensor([rows[text] for text in texts], dtype=torch.long)]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_tensors(path, {"features": features})
    return features


class TokenStates:
    """Ragged per-text token states (embeddings and the input of the first trained layer), stored flat in
    float16; `batch` pads the rows of a batch into the `encoder_states` the encoder's `upper` takes."""

    def __init__(self, embeddings: Tensor, lower: Tensor, starts: Tensor, lengths: Tensor) -> None:
        self.embeddings, self.lower, self.starts, self.lengths = embeddings, lower, starts, lengths

    def __len__(self) -> int:
        return len(self.starts)

    def batch(self, indices: list[int]) -> tuple[Tensor, Tensor, Tensor]:
        width = int(self.lengths[indices].max())
        size = (len(indices), width, self.lower.shape[1])
        embeddings, lower = torch.zeros(size), torch.zeros(size)
        mask = torch.zeros(len(indices), width, dtype=torch.long)
        for row, i in enumerate(indices):
            start, length = int(self.starts[i]), int(self.lengths[i])
            embeddings[row, :length] = self.embeddings[start : start + length]
            lower[row, :length] = self.lower[start : start + length]
            mask[row, :length] = 1
        return embeddings, lower, mask

    def tensors(self) -> dict[str, Tensor]:
        return {"embeddings": self.embeddings, "lower": self.lower, "starts": self.starts, "lengths": self.lengths}


def _compute_token_states(encoder: PretrainedEncoder, texts: list[str], batch_size: int = 256) -> TokenStates:
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    starts, lengths = torch.zeros(len(texts), dtype=torch.long), torch.zeros(len(texts), dtype=torch.long)
    embeddings, lower, offset = [], [], 0
    with evaluating(encoder):
        for first in range(0, len(order), batch_size):
            idx = order[first : first + batch_size]
            emb, low, mask = encoder.lower_states([texts[i] for i in idx])
            keep = mask.bool().cpu()
            for row, i in enumerate(idx):
                starts[i], lengths[i] = offset, int(keep[row].sum())
                offset += int(lengths[i])
            embeddings.append(emb.cpu()[keep].half())
            lower.append(low.cpu()[keep].half())
    return TokenStates(torch.cat(embeddings), torch.cat(lower), starts, lengths)


def cached_token_states(encoder: PretrainedEncoder, texts: list[str]) -> TokenStates:
    """The fixed token states of a top-k fine-tuned encoder for `texts`, computed once and reused."""
    path = cache_dir() / f"{_key(encoder, texts, f'states@{encoder.split_layer}')}.safetensors"
    if path.is_file():
        try:
            return TokenStates(**load_tensors(path))
        except Exception:  # a broken cache entry is recomputed, never trusted
            path.unlink(missing_ok=True)
    states = _compute_token_states(encoder, texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_tensors(path, states.tensors())
    return states


def attach_cached_features(model, *datasets) -> None:
    """Give each dataset (None entries are skipped) what the model's pretrained encoder computes without
    training, so no text is encoded twice across training, validation and evaluation: the pooled features
    of a frozen encoder (and of the sources of a conditional model), or the token states below the trained
    top layers of a partly fine-tuned one. Other encoders (fully trained, or trained from scratch) are left
    alone."""
    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, PretrainedEncoder):
        return
    if encoder.split_layer is not None and not getattr(model, "conditional", False):
        for dataset in datasets:
            if dataset is not None:
                dataset.encoder_states = cached_token_states(encoder, dataset.texts)
        return
    if not encoder.frozen:
        return
    for dataset in datasets:
        if dataset is not None:
            dataset.features = cached_features(encoder, dataset.texts)
            if dataset.sources is not None:
                dataset.source_features = cached_features(encoder, dataset.sources, (dataset.texts, dataset.features))
