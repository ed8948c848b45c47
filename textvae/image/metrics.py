"""Image metrics: importance-weighted NLL for Gaussian-latent models, and classifier-rated validity
of generated images (the measured version of the "holes in the latent space" argument)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from textvae.errors import ConfigError
from textvae.eval_mode import evaluating
from textvae.image.data import ImageData
from textvae.latent import importance_weighted_bound


def iw_nll_per_image(model, x: Tensor, y: Tensor | None, num_samples: int) -> Tensor:
    """-log p(x) per image from K importance samples (textvae.latent.importance_weighted_bound), (B,).
    Needs a model with log_importance_weights() (VAE, conv-VAE, β-VAE, CVAE, HVAE)."""
    if not getattr(model, "gaussian_latent", False):
        raise ConfigError(f"IW-NLL needs a Gaussian-latent model, not '{model.config.model}'")
    return -importance_weighted_bound(model.log_importance_weights(x, y, num_samples))


@torch.no_grad()
def iw_nll(model, data: ImageData, num_samples: int = 100, batch_size: int = 100, seed: int = 0) -> float:
    """The mean of iw_nll_per_image over a data set, in nats per image."""
    torch.manual_seed(seed)
    total = 0.0
    with evaluating(model):
        for i in range(0, len(data), batch_size):
            x, y = model.check(data.images[i:i + batch_size].to(model.device),
                               data.labels[i:i + batch_size].to(model.device))
            total += iw_nll_per_image(model, x, y, num_samples).sum().item()
    return total / max(len(data), 1)


class ImageClassifier(nn.Module):
    """A small MLP classifier (pixels -> 256 -> 10) used to rate generated images."""

    def __init__(self, num_pixels: int, num_classes: int = 10, hidden: int = 256) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(num_pixels, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    @torch.no_grad()
    def probs(self, x: Tensor, batch_size: int = 1000) -> Tensor:
        self.eval()
        return torch.cat([self(x[i:i + batch_size]).softmax(-1) for i in range(0, len(x), batch_size)])


def train_classifier(data: ImageData, epochs: int = 30, lr: float = 3e-3, batch_size: int = 128,
                     seed: int = 0) -> ImageClassifier:
    torch.manual_seed(seed)
    model = ImageClassifier(data.images[0].numel(), max(data.num_classes, 2))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=generator)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            loss = nn.functional.cross_entropy(model(data.images[idx]), data.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model


def accuracy(classifier: ImageClassifier, data: ImageData) -> float:
    return (classifier.probs(data.images).argmax(-1) == data.labels).float().mean().item()


@dataclass
class Validity:
    valid_rate: float  # share of images whose top class probability > threshold
    mean_entropy: float  # mean per-image predictive entropy (nats): high = the classifier cannot tell
    class_entropy: float  # entropy of the histogram of predicted classes (nats): low = few classes produced

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}valid_rate": self.valid_rate, f"{prefix}mean_entropy": self.mean_entropy,
                f"{prefix}class_entropy": self.class_entropy}


def validity(classifier: ImageClassifier, images: Tensor, threshold: float = 0.9) -> Validity:
    p = classifier.probs(images)
    entropy = -(p * p.clamp_min(1e-12).log()).sum(-1)
    hist = torch.bincount(p.argmax(-1), minlength=p.shape[1]).float()
    hist = hist / hist.sum()
    class_entropy = -(hist * hist.clamp_min(1e-12).log()).sum()
    return Validity((p.max(-1).values > threshold).float().mean().item(), entropy.mean().item(),
                    class_entropy.item())


@torch.no_grad()
def interpolation_midpoints(model, data: ImageData, num_pairs: int = 500, seed: int = 0) -> Tensor:
    """Decode the midpoint (z_a + z_b) / 2 between the codes of random pairs of test images."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(len(data), (num_pairs,), generator=g)
    b = torch.randint(len(data), (num_pairs,), generator=g)
    za = model.encode(data.images[a].to(model.device))
    zb = model.encode(data.images[b].to(model.device))
    return model.decode(0.5 * (za + zb)).cpu()


@torch.no_grad()
def fitted_gaussian_samples(model, data: ImageData, n: int, seed: int = 0) -> Tensor:
    """Decode samples from a full-covariance Gaussian fitted to the model's codes of `data`."""
    codes = model.encode(data.images.to(model.device)).cpu().double()
    mean = codes.mean(0)
    cov = torch.cov(codes.t()) + 1e-6 * torch.eye(codes.shape[1], dtype=torch.double)
    dist = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov)
    torch.manual_seed(seed)
    return model.decode(dist.sample((n,)).float().to(model.device)).cpu()
