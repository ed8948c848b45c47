"""Semantic similarity through the model's own NLU encoder (used to rerank and to evaluate)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from textvae.nlu import PretrainedEncoder


@torch.no_grad()
def sentence_embeddings(model, texts: list[str]) -> Tensor:
    """(n, H) unit vectors of the NLU encoder's sentence embedding (its pooled features for a GRU encoder)."""
    if isinstance(model.encoder, PretrainedEncoder):
        features = model.encoder.sentence_embedding(texts)
    else:
        was_training = model.training
        model.eval()
        features = model.encoder(model.make_batch(texts))
        model.train(was_training)
    return F.normalize(features.float(), dim=-1)


def cosine_to(model, source: str, candidates: list[str]) -> list[float]:
    """Cosine similarity of each candidate to the source sentence."""
    if not candidates:
        return []
    vectors = sentence_embeddings(model, [source, *candidates])
    return (vectors[1:] @ vectors[0]).tolist()
