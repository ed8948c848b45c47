"""Per-text anomaly scores of a trained model (higher = less like its training data).

Each score is registered in SCORES and maps (model, padded batch, options) to one number per text:
- `elbo`: -ELBO in nats per text (reconstruction at K posterior samples, averaged, + KL);
- `elbo_per_token`: the same per token (EOS included), so long texts do not look anomalous for length;
- `iw_nll`: the importance-weighted NLL per token (Burda et al. 2016), tighter than the ELBO;
- `reconstruction`: -log p(x | z = mu) per token: how badly the decode of the mean fits the text;
- `likelihood_ratio`: -ELBO per token minus a background model's (Ren et al. 2019): what the model finds
  unlikely beyond what any model of generic text does (a language model, or another VAE, as `background`).
A language model (no latent) scores its exact NLL under `elbo`, `elbo_per_token` and `iw_nll`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from textvae.errors import TextVAEError
from textvae.eval_mode import evaluating
from textvae.registry import Registry

SCORES: Registry[Callable[..., Tensor]] = Registry("score method")


def _tokens(batch: dict) -> Tensor:
    return batch["lengths"].float()  # tokens + EOS per text


def negative_elbo(model, batch: dict, samples: int) -> Tensor:
    """-ELBO per text: the reconstruction averaged over `samples` draws of z ~ q(z|x), plus the KL."""
    if not model.has_latent:
        return model.reconstruction_nll(batch, None)
    posterior = model.posterior(batch)
    if not model.variational:
        return model.reconstruction_nll(batch, posterior.mu)
    rec = model.samples_reconstruction_nll(batch, posterior.rsample(samples)).mean(0)
    return rec + posterior.kl_per_dim().sum(-1)


@SCORES.register("elbo")
def elbo_score(model, batch: dict, samples: int = 10, **_) -> Tensor:
    return negative_elbo(model, batch, samples)


@SCORES.register("elbo_per_token")
def elbo_per_token_score(model, batch: dict, samples: int = 10, **_) -> Tensor:
    return negative_elbo(model, batch, samples) / _tokens(batch)


@SCORES.register("iw_nll")
def iw_nll_score(model, batch: dict, samples: int = 100, **_) -> Tensor:
    from textvae.metrics.likelihood import iw_log_likelihood

    if not model.variational:
        return negative_elbo(model, batch, samples) / _tokens(batch)
    return -iw_log_likelihood(model, batch, samples) / _tokens(batch)


@SCORES.register("reconstruction")
def reconstruction_score(model, batch: dict, **_) -> Tensor:
    if not model.has_latent:
        raise TextVAEError("'reconstruction' needs a model with a latent space (this one is a language model)")
    return model.reconstruction_nll(batch, model.posterior(batch).mu) / _tokens(batch)


@SCORES.register("likelihood_ratio")
def likelihood_ratio_score(model, batch: dict, samples: int = 10, background=None, texts: list[str] = (), **_) -> Tensor:
    if background is None:
        raise TextVAEError("'likelihood_ratio' needs a background model (background=..., --background DIR)")
    own = negative_elbo(model, batch, samples) / _tokens(batch)
    other_batch = background.make_batch(texts)
    other = negative_elbo(background, other_batch, samples) / _tokens(other_batch)
    return own - other


@torch.no_grad()
def score_texts(model, texts: list[str], method: str = "elbo_per_token", background=None, samples: int | None = None,
                batch_size: int = 64) -> list[float]:
    """One anomaly score per text (see the module docstring), `batch_size` texts at a time."""
    fn = SCORES.get(method)
    if samples is not None and (not isinstance(samples, int) or samples <= 0):
        raise TextVAEError(f"samples must be an int > 0, got {samples!r}")
    options = {} if samples is None else {"samples": samples}
    out: list[float] = []
    with evaluating(model, background):
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start : start + batch_size])
            out += fn(model, model.make_batch(chunk), background=background, texts=chunk, **options).tolist()
    return out
