"""Likelihood metrics under the standard protocol: -ELBO, reconstruction, KL per sentence and
perplexity per token (words + one EOS per sentence)."""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch

from textvae.data.batching import BucketBatchSampler, TextDataset


def batches(dataset: TextDataset, batch_size: int, device: torch.device):
    """Length-sorted, unshuffled batches on `device`."""
    for indices in BucketBatchSampler(dataset.lengths, batch_size, shuffle=False):
        batch = dataset.collate(indices)
        yield {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def evaluate_elbo(model, dataset: TextDataset, batch_size: int = 128, autocast=None) -> dict[str, float]:
    """Single-sample -ELBO (β = 1), reconstruction and KL in nats per sentence; PPL per token incl. EOS.

    For an AE the "ELBO" is the reconstruction term alone; for an LM it is the exact NLL.
    """
    was_training = model.training
    model.eval()
    totals = {"rec": 0.0, "kl": 0.0}
    sentences = tokens = 0
    for batch in batches(dataset, batch_size, model.device):
        with autocast() if autocast else nullcontext():
            out = model(batch)
        totals["rec"] += out.reconstruction.float().sum().item()
        if out.kl_per_dim is not None:
            totals["kl"] += out.kl_per_dim.float().sum().item()
        sentences += len(batch["texts"])
        tokens += int(batch["lengths"].sum())
    model.train(was_training)
    neg_elbo = (totals["rec"] + totals["kl"]) / sentences
    return {
        "neg_elbo": neg_elbo,
        "reconstruction": totals["rec"] / sentences,
        "kl": totals["kl"] / sentences,
        "ppl": math.exp((totals["rec"] + totals["kl"]) / tokens),
        "sentences": sentences,
        "tokens": tokens,
    }
