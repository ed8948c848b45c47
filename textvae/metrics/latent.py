"""How much the latent is used: KL, mutual information I(x; z) and active units."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from textvae.data.batching import TextDataset
from textvae.eval_mode import evaluating
from textvae.latent import LOG_2PI, DiagonalGaussian
from textvae.metrics.likelihood import batches

MI_ESTIMATOR = "aggregate-posterior Monte Carlo: q(z) = mean of q(z|x_n) over the whole evaluation set (Li et al. 2019, Optimus)"


@torch.no_grad()
def collect_posteriors(model, dataset: TextDataset, batch_size: int = 128) -> tuple[Tensor, Tensor]:
    """mu and logvar (N, D) of every example in `dataset` (in bucketed order)."""
    mus, logvars = [], []
    with evaluating(model):
        for batch in batches(dataset, batch_size, model.device):
            posterior = model.posterior(batch)
            mus.append(posterior.mu.float().cpu())
            logvars.append(posterior.logvar.float().cpu())
    return torch.cat(mus), torch.cat(logvars)


def mutual_information(mu: Tensor, logvar: Tensor, chunk: int = 512) -> float:
    """I(x; z) = E_x E_q(z|x)[log q(z|x) - log q(z)], q(z) the aggregate posterior over all N examples.

    One z per example; log q(z|x) uses the closed-form entropy. A collapsed model gives ~0 (a small
    negative value is estimator noise). log q(z_i|x_j) for every pair comes from matmuls in float64
    (the square expanded), `chunk` rows of z at a time: (chunk, N) matrices only, never (chunk, N, D).
    """
    n, d = mu.shape
    neg_entropy = (-0.5 * d * LOG_2PI - 0.5 * (1 + logvar).sum(-1)).mean()
    z = DiagonalGaussian(mu, logvar).rsample()  # (N, D)
    # sum_d (z_i - mu_j)^2 / var_j = z_i^2 . (1 / var_j) - 2 z_i . (mu_j / var_j) + sum_d mu_j^2 / var_j
    mu, logvar = mu.double(), logvar.double()
    inv_var = (-logvar).exp()
    scaled_mu = mu * inv_var
    per_x = (mu * scaled_mu + logvar).sum(-1) + d * LOG_2PI  # (N,): terms of log q(z|x_j) free of z
    log_qz = []
    for start in range(0, n, chunk):
        zc = z[start : start + chunk].double()
        log_density = -0.5 * (zc.square() @ inv_var.T - 2 * zc @ scaled_mu.T + per_x)  # (c, N)
        log_qz.append(torch.logsumexp(log_density, dim=1) - math.log(n))
    return float(neg_entropy - torch.cat(log_qz).mean())


def active_units(mu: Tensor, threshold: float = 0.01) -> int:
    """Dimensions whose posterior mean varies across inputs: Cov_x(E_q[z|x]) > threshold."""
    return int((mu.var(dim=0, unbiased=True) > threshold).sum())


def kl_to_prior(mu: Tensor, logvar: Tensor) -> float:
    """Mean KL(q(z|x) || N(0, I)) in nats per example."""
    return float(DiagonalGaussian(mu, logvar).kl().mean())


def latent_report(model, dataset: TextDataset, batch_size: int = 128) -> dict[str, float | int | str]:
    mu, logvar = collect_posteriors(model, dataset, batch_size)
    return {"kl": kl_to_prior(mu, logvar), "mi": mutual_information(mu, logvar), "au": active_units(mu),
            "mi_estimator": MI_ESTIMATOR}
