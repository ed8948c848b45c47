"""Semantic similarity through the model's own NLU encoder (used to rerank and to evaluate)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from textvae.eval_mode import evaluating
from textvae.nlu import PretrainedEncoder


@torch.no_grad()
def sentence_embeddings(model, texts: list[str]) -> Tensor:
    """(n, H) unit vectors of the NLU encoder's sentence embedding (its pooled features for a GRU encoder)."""
    if isinstance(model.encoder, PretrainedEncoder):
        features = model.encoder.sentence_embedding(texts)
    else:
        with evaluating(model):
            features = model.encoder(model.make_batch(texts))
    return F.normalize(features.float(), dim=-1)


def cosine_to(model, source: str, candidates: list[str], batch_size: int = 256) -> list[float]:
    """Cosine similarity of each candidate to the source sentence, `batch_size` candidates at a time."""
    if not candidates:
        return []
    anchor = sentence_embeddings(model, [source])[0]
    return [score for start in range(0, len(candidates), batch_size)
            for score in (sentence_embeddings(model, candidates[start : start + batch_size]) @ anchor).tolist()]
