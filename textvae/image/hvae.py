"""A hierarchical VAE with two stochastic layers and a shared bottom-up pass (after the ladder VAE,
Sønderby et al. 2016).

Generative model, top-down: p(z2) = N(0, I), p(z1 | z2) = N(mu_p(z2), sigma_p(z2)^2), p(x | z1) Bernoulli
(the same pixel decoder as the one-level VAE). Inference shares one bottom-up pass x -> d1 -> d2:
q(z2 | x) is read from d2, and q(z1 | x, z2) from an MLP over the bottom-up features d1 joined with the
sampled z2, so the lower posterior is formed top-down, in the same order as the generative model.
The KL of each level is reported separately; the free-bits floor applies to every latent dimension of
both levels, and a β warm-up comes from the training loop's β schedule (textvae.objectives).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from textvae.errors import require_count
from textvae.image.config import ImageModelConfig
from textvae.image.models import IMAGE_MODELS, Decoder, Encoder, ImageModel, bernoulli_nll, in_chunks
from textvae.latent import DiagonalGaussian, standard_normal_log_prob
from textvae.objectives import LossTerms, elbo_loss


class GaussianHead(nn.Module):
    """Features (..., H) -> a diagonal Gaussian over (..., D), log-variances clamped to ±clamp."""

    def __init__(self, features: int, dim: int, clamp: float) -> None:
        super().__init__()
        self.mu = nn.Linear(features, dim)
        self.logvar = nn.Linear(features, dim)
        self.clamp = clamp

    def forward(self, h: Tensor) -> DiagonalGaussian:
        return DiagonalGaussian(self.mu(h), self.logvar(h).clamp(-self.clamp, self.clamp))


@dataclass
class LadderPass:
    """One inference pass: the posteriors of both levels, their samples, and the prior p(z1 | z2)."""

    q2: DiagonalGaussian  # q(z2 | x), (B, D2)
    z2: Tensor  # (B, D2) or (K, B, D2)
    p1: DiagonalGaussian  # p(z1 | z2), shaped like z1
    q1: DiagonalGaussian  # q(z1 | x, z2), shaped like z1
    z1: Tensor  # (B, D1) or (K, B, D1)

    def kl_per_dim(self) -> tuple[Tensor, Tensor]:
        """(KL(q(z1|x,z2) || p(z1|z2)) per z1 dimension at the sampled z2, KL(q(z2|x) || N(0, I)) per z2 dimension)."""
        return self.q1.kl_to(self.p1), self.q2.kl_per_dim()


@IMAGE_MODELS.register("hvae")
class HVAE(ImageModel):
    """Two-level VAE: latent_dim is z1 (read by the pixel decoder), top_latent_dim is z2."""

    gaussian_latent = True

    def __init__(self, config: ImageModelConfig) -> None:
        super().__init__(config)
        clamp = config.logvar_clamp
        self.encoder = Encoder(config)  # bottom-up d1
        self.bottom_up_top = nn.Sequential(nn.Linear(config.hidden_dim, config.top_hidden_dim), nn.ReLU())  # d2
        self.q1 = nn.Sequential(nn.Linear(config.hidden_dim + config.top_latent_dim, config.hidden_dim), nn.ReLU(),
                                GaussianHead(config.hidden_dim, config.latent_dim, clamp))
        self.q2 = GaussianHead(config.top_hidden_dim, config.top_latent_dim, clamp)
        self.prior1 = nn.Sequential(nn.Linear(config.top_latent_dim, config.top_hidden_dim), nn.ReLU(),
                                    GaussianHead(config.top_hidden_dim, config.latent_dim, clamp))
        self.decoder = Decoder(config, config.latent_dim)

    def infer(self, x: Tensor, num_samples: int | None = None, use_mean: bool = False) -> LadderPass:
        """Bottom-up, then top-down: z2 ~ q(z2|x), z1 ~ q(z1|x,z2) (posterior means with use_mean)."""
        d1 = self.encoder(x)
        q2 = self.q2(self.bottom_up_top(d1))
        z2 = q2.mu if use_mean else q2.rsample(num_samples)
        p1 = self.prior1(z2)
        q1 = self.q1(torch.cat([d1.expand(*z2.shape[:-1], d1.shape[-1]), z2], -1))
        z1 = q1.mu if use_mean else q1.rsample()
        return LadderPass(q2, z2, p1, q1, z1)

    def loss(self, x: Tensor, y: Tensor | None = None, beta: float | None = None) -> LossTerms:
        x, _ = self.check(x, y)
        ladder = self.infer(x)
        beta = self.config.beta if beta is None else beta
        kl_per_dim = torch.cat(ladder.kl_per_dim(), -1)
        return elbo_loss(bernoulli_nll(self.decoder(ladder.z1), x), kl_per_dim, beta, self.config.free_bits)

    @torch.no_grad()
    def kl_per_level(self, x: Tensor) -> Tensor:
        """Per-image KL of each level at one posterior sample, (B, 2): [:, 0] is z1, [:, 1] is z2."""
        x, _ = self.check(x)
        kl1, kl2 = self.infer(x).kl_per_dim()
        return torch.stack([kl1.sum(-1), kl2.sum(-1)], -1)

    @torch.no_grad()
    def posterior_means(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mean of q(z1 | x, z2 = mean of q(z2|x)), mean of q(z2|x)): (B, D1), (B, D2); for active units."""
        x, _ = self.check(x)
        ladder = self.infer(x, use_mean=True)
        return ladder.z1, ladder.z2

    def log_importance_weights(self, x: Tensor, y: Tensor | None, num_samples: int) -> Tensor:
        """log p(x|z1) + log p(z1|z2) + log p(z2) - log q(z1|x,z2) - log q(z2|x) for K joint draws: (K, B)."""
        ladder = self.infer(x, num_samples)
        return (-bernoulli_nll(self.decoder(ladder.z1), x) + ladder.p1.log_prob(ladder.z1)
                + standard_normal_log_prob(ladder.z2) - ladder.q1.log_prob(ladder.z1) - ladder.q2.log_prob(ladder.z2))

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The lower code: the mean of q(z1 | x, z2) at the mean of q(z2 | x), (B, D1)."""
        return self.infer(x, use_mean=True).z1

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Pixel probabilities for lower codes z1."""
        return torch.sigmoid(self.decoder(z))

    @torch.no_grad()
    def generate(self, top_noise: Tensor, bottom_noise: Tensor) -> Tensor:
        """Images from standard-normal noise of each level: z2 = top_noise, z1 = mu_p(z2) + sigma_p(z2) *
        bottom_noise. Fixing one argument and varying the other shows what each level controls."""
        p1 = self.prior1(top_noise.to(self.device))
        return self.decode(p1.mu + p1.std * bottom_noise.to(self.device))

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """n ancestral samples z2 ~ p(z2), z1 ~ p(z1 | z2), decoded to pixel probabilities."""
        top = torch.randn(require_count(n), self.config.top_latent_dim, generator=generator)
        bottom = torch.randn(n, self.config.latent_dim, generator=generator)
        return in_chunks(lambda rows: self.generate(top[rows], bottom[rows]), n)
