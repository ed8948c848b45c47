"""The small image training loop: Adam over shuffled minibatches; the loss is each model's
`loss()` (elbo_loss from textvae.objectives) with β from a textvae.objectives β schedule."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from textvae.config import ObjectiveConfig
from textvae.eval_mode import evaluating
from textvae.image.config import ImageTrainConfig
from textvae.image.data import ImageData
from textvae.image.models import ImageModel
from textvae.objectives import build_beta_schedule


def _beta_schedule(model: ImageModel, config: ImageTrainConfig):
    beta = getattr(model.config, "beta", 1.0)
    return build_beta_schedule(ObjectiveConfig(beta_schedule=config.beta_schedule, beta=beta,
                                               anneal_steps=config.anneal_steps))


def train_image_model(model: ImageModel, data: ImageData, config: ImageTrainConfig | None = None,
                      log: Callable[[str], None] | None = None) -> dict:
    """Train in place; returns {'epoch_loss': [...], 'steps': n, 'seconds': t}."""
    config = config or ImageTrainConfig()
    config.validate()
    torch.manual_seed(config.seed)
    schedule = _beta_schedule(model, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    x_all, y_all = data.images, data.labels
    history: list[float] = []
    step, start = 0, time.perf_counter()
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(len(data), generator=generator)
        total, count = 0.0, 0
        for i in range(0, len(order), config.batch_size):
            idx = order[i:i + config.batch_size]
            x, y = x_all[idx].to(model.device), y_all[idx].to(model.device)
            terms = model.loss(x, y, beta=schedule(step))
            optimizer.zero_grad(set_to_none=True)
            terms.loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            total += terms.loss.item() * len(idx)
            count += len(idx)
            step += 1
            if config.max_steps is not None and step >= config.max_steps:
                break
        history.append(total / max(count, 1))
        if log:
            log(f"epoch {epoch + 1}/{config.epochs}  loss {history[-1]:.3f}")
        if config.max_steps is not None and step >= config.max_steps:
            break
    model.eval()
    return {"epoch_loss": history, "steps": step, "seconds": time.perf_counter() - start}


@torch.no_grad()
def evaluate_image_model(model: ImageModel, data: ImageData, batch_size: int = 500, seed: int = 0) -> dict:
    """Per-image test figures at β = 1 (one posterior sample): -ELBO = reconstruction + KL for VAEs,
    reconstruction (summed BCE, nats) alone for AEs / VQ-VAE."""
    torch.manual_seed(seed)
    rec = kl = 0.0
    with evaluating(model):
        for i in range(0, len(data), batch_size):
            x = data.images[i:i + batch_size].to(model.device)
            y = data.labels[i:i + batch_size].to(model.device)
            terms = model.loss(x, y, beta=1.0)
            rec += terms.reconstruction.sum().item()
            kl += terms.kl.sum().item()
    n = max(len(data), 1)
    out = {"reconstruction": rec / n, "images": len(data)}
    if model.gaussian_latent:
        out.update(kl=kl / n, neg_elbo=(rec + kl) / n)
    return out
