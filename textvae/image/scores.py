"""Per-image anomaly scores of a trained image model (higher = less like its training data).

Each score is registered in IMAGE_SCORES and maps (model, images, options) to one number per image:
- `elbo`: -ELBO in nats, the reconstruction averaged over `samples` posterior draws, plus the KL
  (an AE or VQ-VAE, which has no KL, scores its reconstruction NLL);
- `iw_nll`: the importance-weighted NLL in nats with `samples` draws (Gaussian-latent models);
- `reconstruction`: the Bernoulli NLL in nats of the image under the decode of its code (no sampling);
- `likelihood_ratio`: -ELBO minus a background model's -ELBO (Ren et al. 2019), e.g. a VAE trained on
  noise-perturbed training images (`perturb_images`): what is unlikely beyond generic image statistics;
- `complexity`: -log2 p(x) - L(x) in bits (Serrà et al. 2020), -log p(x) from the -ELBO and L(x) the
  length of the 8-bit image compressed losslessly as PNG: the likelihood corrected for how simple the
  image is, since simple images get high likelihood under any model.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from textvae.errors import ConfigError
from textvae.eval_mode import evaluating
from textvae.image.data import ImageData
from textvae.image.metrics import iw_nll_per_image
from textvae.image.models import ImageModel, bernoulli_nll
from textvae.registry import Registry

IMAGE_SCORES: Registry[Callable[..., Tensor]] = Registry("image score method")


def negative_elbo(model: ImageModel, x: Tensor, samples: int) -> Tensor:
    """-ELBO per image at β = 1, averaged over `samples` posterior draws, (B,)."""
    total = torch.zeros(len(x), device=x.device)
    for _ in range(samples):
        terms = model.loss(x, beta=1.0)
        total += terms.reconstruction + terms.kl
    return total / samples


def compressed_bits(images: Tensor) -> Tensor:
    """L(x): bits of each image quantised to 8 bits and saved as a PNG (zlib level 9), (B,).
    Grey-level (C = 1) and RGB (C = 3) images only."""
    pixels = (images.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    lengths = []
    for image in pixels:
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image.squeeze(-1) if image.shape[-1] == 1 else image)).save(
            buffer, format="PNG", compress_level=9)
        lengths.append(8 * buffer.tell())
    return torch.tensor(lengths, dtype=torch.float32, device=images.device)


def perturb_images(images: Tensor, rate: float, generator: torch.Generator | None = None) -> Tensor:
    """Ren et al. 2019's background training data: each pixel replaced by a uniform random value with
    probability `rate`."""
    if not 0 <= rate <= 1:
        raise ConfigError(f"perturbation rate must be in [0, 1], got {rate}")
    noise = torch.rand(images.shape, generator=generator)
    replace = torch.rand(images.shape, generator=generator) < rate
    return torch.where(replace, noise, images)


@IMAGE_SCORES.register("elbo")
def elbo_score(model: ImageModel, x: Tensor, samples: int = 10, **_) -> Tensor:
    return negative_elbo(model, x, samples)


@IMAGE_SCORES.register("iw_nll")
def iw_nll_score(model: ImageModel, x: Tensor, samples: int = 100, **_) -> Tensor:
    return iw_nll_per_image(model, x, None, samples)


@IMAGE_SCORES.register("reconstruction")
def reconstruction_score(model: ImageModel, x: Tensor, **_) -> Tensor:
    probs = model.reconstruct(x).clamp(1e-6, 1 - 1e-6)
    return bernoulli_nll(torch.logit(probs), x)


@IMAGE_SCORES.register("likelihood_ratio")
def likelihood_ratio_score(model: ImageModel, x: Tensor, samples: int = 10, background: ImageModel | None = None,
                           **_) -> Tensor:
    if background is None:
        raise ConfigError("'likelihood_ratio' needs a background model (background=..., --background DIR)")
    return negative_elbo(model, x, samples) - negative_elbo(background, x, samples)


@IMAGE_SCORES.register("complexity")
def complexity_score(model: ImageModel, x: Tensor, samples: int = 10, **_) -> Tensor:
    return negative_elbo(model, x, samples) / math.log(2) - compressed_bits(x)


@torch.no_grad()
def score_images(model: ImageModel, data: ImageData | Tensor, method: str = "elbo", background: ImageModel | None = None,
                 samples: int | None = None, batch_size: int = 100, seed: int = 0) -> Tensor:
    """One anomaly score per image (see the module docstring), `batch_size` images at a time, (N,)."""
    fn = IMAGE_SCORES.get(method)
    if samples is not None and (not isinstance(samples, int) or samples <= 0):
        raise ConfigError(f"samples must be an int > 0, got {samples!r}")
    if model.conditional:
        raise ConfigError(f"scoring needs an unconditional model, not '{model.config.model}'")
    images = data.images if isinstance(data, ImageData) else data
    options = {} if samples is None else {"samples": samples}
    with evaluating(model, background):
        torch.manual_seed(seed)
        out = []
        for start in range(0, len(images), batch_size):
            x, _ = model.check(images[start:start + batch_size].to(model.device))
            out.append(fn(model, x, background=background, **options).cpu())
    return torch.cat(out) if out else torch.zeros(0)
