"""Likelihood metrics under the standard protocol: -ELBO, reconstruction, KL per sentence and
perplexity per token (words + one EOS per sentence)."""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch
from tqdm.auto import tqdm

from textvae.data.batching import BucketBatchSampler, TextDataset
from textvae.errors import ConfigError
from textvae.eval_mode import evaluating
from textvae.fastcpu.machine import warn_if_emulated_bf16
from textvae.latent import importance_weighted_bound, log_importance_weights


def batches(dataset: TextDataset, batch_size: int, device: torch.device):
    """Length-sorted, unshuffled batches on `device`."""
    for indices in BucketBatchSampler(dataset.lengths, batch_size, shuffle=False):
        yield {key: to_device(value, device) for key, value in dataset.collate(indices).items()}


def to_device(value, device: torch.device):
    """A tensor, or a tuple of tensors (cached encoder states), moved to `device`; anything else as it is."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, tuple):
        return tuple(to_device(v, device) for v in value)
    return value


@torch.no_grad()
def evaluate_elbo(model, dataset: TextDataset, batch_size: int = 128, autocast=None) -> dict[str, float]:
    """Single-sample -ELBO (β = 1), reconstruction and KL in nats per sentence; PPL per token incl. EOS.

    For an AE the "ELBO" is the reconstruction term alone; for an LM it is the exact NLL.
    """
    totals = {"rec": 0.0, "kl": 0.0}
    sentences = tokens = 0
    with evaluating(model):
        for batch in batches(dataset, batch_size, model.device):
            with autocast() if autocast else nullcontext():
                out = model(batch)
            totals["rec"] += out.reconstruction.float().sum().item()
            if out.kl_per_dim is not None:
                totals["kl"] += out.kl_per_dim.float().sum().item()
            sentences += len(batch["texts"])
            tokens += int(batch["lengths"].sum())
    neg_elbo = (totals["rec"] + totals["kl"]) / sentences
    return {
        "neg_elbo": neg_elbo,
        "reconstruction": totals["rec"] / sentences,
        "kl": totals["kl"] / sentences,
        "ppl": math.exp((totals["rec"] + totals["kl"]) / tokens),
        "sentences": sentences,
        "tokens": tokens,
    }


PRECISIONS = ("fp32", "bf16")


def decoder_precision(model, precision: str):
    """A context for the decoder's passes: "fp32" (exact) or "bf16" (autocast matmuls with float32
    accumulation and float32 softmax; 2.2x faster on this project's AMX CPU and 0.001 nats from fp32
    on PTB, docs/RESULTS.md)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got '{precision}'")
    return torch.autocast(model.device.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()


@torch.no_grad()
def iw_log_likelihood(model, batch: dict, num_samples: int, chunk: int = 50, precision: str = "fp32") -> torch.Tensor:
    """Importance-weighted bound log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x), z_k ~ q(z|x); (B,).

    It is >= the ELBO and tightens as K grows (Burda et al. 2016). Samples are decoded `chunk` at a time;
    `precision` applies to the decoder only (q(z|x) and p(z) are always float32).
    """
    posterior = model.posterior(batch)
    log_weights = []
    for start in range(0, num_samples, chunk):
        k = min(chunk, num_samples - start)
        z = posterior.rsample(k)  # (k, B, D)
        with decoder_precision(model, precision):
            rec = model.samples_reconstruction_nll(batch, z)
        log_weights.append(log_importance_weights(posterior, z, rec))
    return importance_weighted_bound(torch.cat(log_weights, dim=0))


@torch.no_grad()
def evaluate_iw_nll(model, dataset: TextDataset, num_samples: int = 500, batch_size: int = 8,
                    chunk: int = 50, precision: str = "fp32", show_progress: bool = False) -> dict[str, float]:
    """IW-NLL in nats per sentence and the PPL it implies (per token incl. EOS); `precision` of the
    decoder's passes: fp32 | bf16; `show_progress`: a progress bar over sentences (K = 500 is slow).

    Each decoder pass reads batch_size x chunk sequences (400 by default), small enough to stay in a
    CPU's caches: on this project's CPU the transformer decoder's K = 500 evaluation ran 1.4x faster
    than with 32 x 50 (docs/RESULTS.md); on a GPU larger batches pay."""
    decoder_precision(model, precision)  # validates before any work
    if precision == "bf16":
        warn_if_emulated_bf16(model.device.type, "fp32 (--iw-precision fp32)")
    if batch_size <= 0 or chunk <= 0:
        raise ConfigError(f"batch_size and chunk must be > 0, got {batch_size} and {chunk}")
    total = 0.0
    sentences = tokens = 0
    progress = tqdm(total=len(dataset), desc=f"IW-NLL K={num_samples}", disable=not show_progress,
                    mininterval=30, dynamic_ncols=True)
    with evaluating(model):
        for batch in batches(dataset, batch_size, model.device):
            total -= iw_log_likelihood(model, batch, num_samples, chunk, precision).sum().item()
            sentences += len(batch["texts"])
            tokens += int(batch["lengths"].sum())
            progress.update(len(batch["texts"]))
    progress.close()
    return {"iw_nll": total / sentences, "iw_ppl": math.exp(total / tokens), "iw_samples": num_samples,
            "iw_precision": precision}
