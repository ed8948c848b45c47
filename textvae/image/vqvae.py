"""VQ-VAE (van den Oord et al. 2017): a grid of discrete codes from a learned codebook.

The encoder maps an image to an (h/4 x w/4) grid of vectors z_e; each is replaced by its nearest
codebook vector e_k. Gradients pass the non-differentiable lookup by the straight-through estimator
z_q = z_e + sg[z_q - z_e]. Loss = reconstruction + ||sg[z_e] - e||^2 (codebook; left out when the
codebook is updated by exponential moving averages) + commitment * ||z_e - sg[e]||^2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textvae.errors import require_count
from textvae.image.config import ImageModelConfig
from textvae.image.models import IMAGE_MODELS, ImageModel, bernoulli_nll, in_chunks
from textvae.objectives import LossTerms


class VectorQuantizer(nn.Module):
    """Nearest-neighbour lookup into a (K, D) codebook, straight-through gradients, optional EMA updates."""

    def __init__(self, num_codes: int, dim: int, ema: bool = False, decay: float = 0.99, eps: float = 1e-5) -> None:
        super().__init__()
        self.ema, self.decay, self.eps = ema, decay, eps
        embed = torch.empty(num_codes, dim).uniform_(-1.0 / num_codes, 1.0 / num_codes)
        if ema:
            self.register_buffer("codebook", embed)
            self.register_buffer("cluster_size", torch.zeros(num_codes))
            self.register_buffer("embed_sum", embed.clone())
        else:
            self.codebook = nn.Parameter(embed)
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def indices(self, z_e: Tensor) -> Tensor:
        """(N, D) -> (N,) index of the nearest code (squared Euclidean distance)."""
        distances = (z_e.pow(2).sum(1, keepdim=True) - 2 * z_e @ self.codebook.t()
                     + self.codebook.pow(2).sum(1)[None, :])
        return distances.argmin(1)

    def forward(self, z_e: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """z_e (N, D) -> (z_q with straight-through gradients, indices, codebook loss, commitment loss)."""
        if self.training and not bool(self.initialized):
            self._init_from(z_e.detach())
        idx = self.indices(z_e.detach())
        e = self.codebook[idx]
        if self.ema and self.training:
            self._ema_update(z_e.detach(), idx)
            e = self.codebook[idx]
        codebook_loss = (e - z_e.detach()).pow(2).sum(-1)
        commitment_loss = (z_e - e.detach()).pow(2).sum(-1)
        z_q = z_e + (e - z_e).detach()  # straight-through: forward is e, gradient w.r.t. z_e is identity
        return z_q, idx, codebook_loss, commitment_loss

    @torch.no_grad()
    def _init_from(self, z_e: Tensor) -> None:
        """Data-dependent start: the codes become random encoder outputs of the first training batch
        (plus a little noise), so no code starts far from the data (fewer dead codes, no early loss spike)."""
        k = self.codebook.shape[0]
        rows = torch.randint(len(z_e), (k,), device=z_e.device)
        self.codebook.data.copy_(z_e[rows] + 0.01 * torch.randn_like(z_e[rows]))
        if self.ema:
            self.embed_sum.copy_(self.codebook)
            self.cluster_size.fill_(1.0)
        self.initialized.fill_(True)

    @torch.no_grad()
    def _ema_update(self, z_e: Tensor, idx: Tensor) -> None:
        onehot = F.one_hot(idx, self.codebook.shape[0]).type_as(z_e)
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(onehot.t() @ z_e, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (n + self.codebook.shape[0] * self.eps) * n
        self.codebook.copy_(self.embed_sum / smoothed[:, None])


@IMAGE_MODELS.register("vqvae")
class VQVAE(ImageModel):
    """Conv encoder -> (B, D, h/4, w/4) -> quantize each position -> conv-transpose decoder."""

    defaults = {"arch": "conv", "latent_dim": 16, "codebook_size": 64}

    def __init__(self, config: ImageModelConfig) -> None:
        super().__init__(config)
        c, h, w = config.image_shape
        if h % 4 or w % 4:
            from textvae.errors import ConfigError

            raise ConfigError(f"vqvae needs height and width divisible by 4, got {h}x{w}")
        k, d = config.conv_channels, config.latent_dim
        self.grid = (h // 4, w // 4)
        self.encoder = nn.Sequential(nn.Conv2d(c, k, 4, 2, 1), nn.ReLU(), nn.Conv2d(k, 2 * k, 4, 2, 1), nn.ReLU(),
                                     nn.Conv2d(2 * k, d, 1))
        self.quantizer = VectorQuantizer(config.codebook_size, d, config.ema, config.ema_decay)
        self.decoder = nn.Sequential(nn.Conv2d(d, 2 * k, 3, 1, 1), nn.ReLU(), nn.ConvTranspose2d(2 * k, k, 4, 2, 1),
                                     nn.ReLU(), nn.ConvTranspose2d(k, c, 4, 2, 1))

    @property
    def num_positions(self) -> int:
        return self.grid[0] * self.grid[1]

    def _flat(self, z: Tensor) -> Tensor:  # (B, D, h, w) -> (B*h*w, D)
        return z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])

    def _grid(self, flat: Tensor, batch: int) -> Tensor:  # (B*h*w, D) -> (B, D, h, w)
        return flat.view(batch, *self.grid, -1).permute(0, 3, 1, 2)

    def quantize(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        z_e = self.encoder(x)
        z_q, idx, cb, commit = self.quantizer(self._flat(z_e))
        b = len(x)
        return self._grid(z_q, b), idx.view(b, -1), cb.view(b, -1).sum(1), commit.view(b, -1).sum(1)

    def loss(self, x: Tensor, y: Tensor | None = None, beta: float | None = None) -> LossTerms:
        x, _ = self.check(x, y)
        z_q, _, codebook_loss, commitment_loss = self.quantize(x)
        rec = bernoulli_nll(self.decoder(z_q), x)
        vq = self.config.commitment * commitment_loss
        if not self.quantizer.ema:
            vq = vq + codebook_loss
        return LossTerms((rec + vq).mean(), rec, torch.zeros_like(rec), 0.0)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Code indices, (B, h/4 * w/4)."""
        x, _ = self.check(x, y)
        return self.quantize(x)[1]

    def decode(self, codes: Tensor, y: Tensor | None = None) -> Tensor:
        """Code indices (B, positions) -> pixel probabilities."""
        codes = codes.long()
        vectors = self.quantizer.codebook[codes.reshape(-1)]
        return torch.sigmoid(self.decoder(self._grid(vectors, len(codes))))

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None, generator: torch.Generator | None = None,
               code_probs: Tensor | None = None) -> Tensor:
        """Codes drawn independently per position: uniformly, or from `code_probs` (e.g. code usage).
        (A VQ-VAE has no built-in prior; the paper fits an autoregressive one.)"""
        k = self.config.codebook_size
        probs = torch.full((k,), 1.0 / k) if code_probs is None else code_probs.float().cpu()
        codes = torch.multinomial(probs, require_count(n) * self.num_positions, replacement=True,
                                  generator=generator).view(n, -1).to(self.device)
        return in_chunks(lambda rows: self.decode(codes[rows]), n)

    @torch.no_grad()
    def code_usage(self, x: Tensor) -> Tensor:
        """How often each code is chosen over a set of images, (K,)."""
        return torch.bincount(self.encode(x).reshape(-1), minlength=self.config.codebook_size)
