"""Image autoencoders behind one registry: AE, VAE (MLP 784-400-20 and convolutional), β-VAE,
CVAE, denoising AE. (The VQ-VAE lives in vqvae.py.)

Every model takes (B, C, H, W) images in [0, 1] and uses a Bernoulli likelihood: the reconstruction
term is the binary cross-entropy of the decoder's logits against the pixels, summed over pixels.
KL, reparameterization and log densities come from textvae.latent; the loss from textvae.objectives.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textvae.config import from_dict
from textvae.errors import CheckpointError, ConfigError, DataError, require_count
from textvae.image.config import ImageModelConfig
from textvae.image.data import check_images
from textvae.io import WEIGHTS_FILE, load_tensors, read_model_config, save_tensors, write_model_config
from textvae.latent import DiagonalGaussian, log_importance_weights
from textvae.objectives import LossTerms, elbo_loss
from textvae.registry import Registry

IMAGE_MODELS: Registry[type] = Registry("image model")
MODEL_TYPE = "image_model"


def bernoulli_nll(logits: Tensor, x: Tensor) -> Tensor:
    """-log p(x|z) under independent Bernoullis, summed over pixels: (..., B, C, H, W) -> (..., B)."""
    x = x.expand_as(logits)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(-3).sum(-1)


# ----------------------------------------------------------------------------- building blocks


DECODE_CHUNK = 1024  # images decoded at once by sample / reconstruct


def _rows(values: Tensor | None, rows: slice) -> Tensor | None:
    return None if values is None else values[rows]


def in_chunks(fn, n: int, chunk: int = DECODE_CHUNK) -> Tensor:
    """torch.cat of fn(slice) over consecutive slices of at most `chunk` of n rows."""
    return torch.cat([fn(slice(start, start + chunk)) for start in range(0, n, chunk)])


class Encoder(nn.Module):
    """Image -> hidden features: an MLP (flatten, one ReLU layer) or two stride-2 convolutions + a layer."""

    def __init__(self, config: ImageModelConfig, extra_inputs: int = 0) -> None:
        super().__init__()
        c, h, w = config.image_shape
        self.arch = config.arch
        if config.arch == "conv":
            k = config.conv_channels
            self.conv = nn.Sequential(nn.Conv2d(c, k, 4, 2, 1), nn.ReLU(), nn.Conv2d(k, 2 * k, 4, 2, 1), nn.ReLU(),
                                      nn.Flatten())
            flat = 2 * k * (h // 4) * (w // 4)
        else:
            self.conv = nn.Flatten()
            flat = c * h * w
        self.fc = nn.Sequential(nn.Linear(flat + extra_inputs, config.hidden_dim), nn.ReLU())
        self.output_dim = config.hidden_dim

    def forward(self, x: Tensor, extra: Tensor | None = None) -> Tensor:
        h = self.conv(x)
        if extra is not None:
            h = torch.cat([h, extra], -1)
        return self.fc(h)


class Decoder(nn.Module):
    """z (..., D) -> pixel logits (..., C, H, W): the mirror image of Encoder."""

    def __init__(self, config: ImageModelConfig, input_dim: int) -> None:
        super().__init__()
        c, h, w = config.image_shape
        self.shape = (c, h, w)
        if config.arch == "conv":
            k = config.conv_channels
            self.grid = (2 * k, h // 4, w // 4)
            self.fc = nn.Sequential(nn.Linear(input_dim, config.hidden_dim), nn.ReLU(),
                                    nn.Linear(config.hidden_dim, 2 * k * (h // 4) * (w // 4)), nn.ReLU())
            self.deconv = nn.Sequential(nn.ConvTranspose2d(2 * k, k, 4, 2, 1), nn.ReLU(),
                                        nn.ConvTranspose2d(k, c, 4, 2, 1))
        else:
            self.grid = None
            self.fc = nn.Sequential(nn.Linear(input_dim, config.hidden_dim), nn.ReLU(),
                                    nn.Linear(config.hidden_dim, c * h * w))
            self.deconv = None

    def forward(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        h = self.fc(z.reshape(-1, z.shape[-1]))
        if self.deconv is not None:
            h = self.deconv(h.view(-1, *self.grid))
        return h.reshape(*lead, *self.shape)


# ----------------------------------------------------------------------------- base class


class ImageModel(nn.Module):
    """Shared plumbing: input checks, save/load (config.json + model.safetensors), defaults."""

    defaults: dict[str, Any] = {}
    conditional = False  # needs labels (CVAE)
    gaussian_latent = False  # has log_importance_weights() (IW-NLL applies) and a KL in its loss

    def __init__(self, config: ImageModelConfig) -> None:
        super().__init__()
        self.config = config

    # -- inputs
    def check(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        x = check_images(x, self.config.image_shape)
        if self.conditional:
            if y is None:
                raise DataError(f"model '{self.config.model}' is label-conditioned: pass labels y")
            y = torch.as_tensor(y, dtype=torch.long, device=x.device).reshape(-1)
            if len(y) != len(x):
                raise DataError(f"got {len(x)} images but {len(y)} labels")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.config.num_classes):
                raise DataError(f"labels must be in 0..{self.config.num_classes - 1}")
        return x, y

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # -- the interface every model implements
    def loss(self, x: Tensor, y: Tensor | None = None, beta: float | None = None) -> LossTerms:
        raise NotImplementedError

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Deterministic codes (the posterior mean for VAEs), (B, D)."""
        raise NotImplementedError

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Pixel probabilities (the Bernoulli means) for codes z."""
        raise NotImplementedError

    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        x, y = self.check(x, y)
        return in_chunks(lambda rows: self.decode(self.encode(x[rows], _rows(y, rows)), _rows(y, rows)), len(x))

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Decode n prior samples z ~ N(0, I) (for an AE too: that is the 'holes' experiment), a chunk at a
        time: only the images themselves grow with n, not the decoder's activations."""
        z = torch.randn(require_count(n), self.config.latent_dim, generator=generator).to(self.device)
        labels = self._labels(n, y)
        return in_chunks(lambda rows: self.decode(z[rows], _rows(labels, rows)), n)

    def _labels(self, n: int, y: Tensor | None) -> Tensor | None:
        if not self.conditional:
            return None
        if y is None:
            y = torch.arange(n) % self.config.num_classes
        return torch.as_tensor(y, dtype=torch.long).reshape(-1).to(self.device)

    # -- save / load
    def save_pretrained(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / WEIGHTS_FILE, self.state_dict())
        write_model_config(folder, MODEL_TYPE, dataclasses.asdict(self.config))

    @staticmethod
    def from_pretrained(folder: str | Path) -> ImageModel:
        model_type, config = read_model_config(folder)
        if model_type != MODEL_TYPE:
            raise CheckpointError(f"{folder} holds a '{model_type}' model, not an image model")
        try:
            model = build_image_model(from_dict(ImageModelConfig, config, "config."))
        except ConfigError as err:
            raise CheckpointError(f"{folder}: bad image model config: {err}") from None
        state = load_tensors(Path(folder) / WEIGHTS_FILE)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise CheckpointError(f"{folder}: weights do not match the config (missing {missing[:3]}, "
                                  f"unexpected {unexpected[:3]})")
        model.eval()
        return model


def make_config(model: str, **overrides: Any) -> ImageModelConfig:
    """The config of a named model: its registered defaults, then `overrides` (validated)."""
    cls = IMAGE_MODELS.get(model)
    return from_dict(ImageModelConfig, {**cls.defaults, **overrides, "model": model})


def build_image_model(config: ImageModelConfig) -> ImageModel:
    config.validate()
    return IMAGE_MODELS.get(config.model)(config)


# ----------------------------------------------------------------------------- AE and DAE


@IMAGE_MODELS.register("ae")
class AE(ImageModel):
    """Deterministic autoencoder: z = enc(x), loss = BCE(dec(z), x); no KL, no sampling in training."""

    def __init__(self, config: ImageModelConfig) -> None:
        super().__init__(config)
        self.encoder = Encoder(config)
        self.to_z = nn.Linear(self.encoder.output_dim, config.latent_dim)
        self.decoder = Decoder(config, config.latent_dim)

    def corrupt(self, x: Tensor) -> Tensor:
        return x

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.to_z(self.encoder(x))

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return torch.sigmoid(self.decoder(z))

    def loss(self, x: Tensor, y: Tensor | None = None, beta: float | None = None) -> LossTerms:
        x, y = self.check(x, y)
        source = self.corrupt(x) if self.training else x
        logits = self.decoder(self.encode(source))
        return elbo_loss(bernoulli_nll(logits, x), None, 0.0)


@IMAGE_MODELS.register("dae")
class DAE(AE):
    """Denoising AE: trained to reconstruct the clean x from a corrupted copy (Gaussian or masking noise)."""

    def corrupt(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self.config.noise == "gaussian":
            noise = torch.randn(x.shape, generator=generator).to(x.device)
            return (x + self.config.noise_std * noise).clamp(0.0, 1.0)
        keep = torch.rand(x.shape, generator=generator).to(x.device) >= self.config.mask_prob
        return x * keep

    @torch.no_grad()
    def denoise(self, noisy: Tensor) -> Tensor:
        noisy, _ = self.check(noisy)
        return self.decode(self.encode(noisy))


# ----------------------------------------------------------------------------- VAEs


@IMAGE_MODELS.register("vae")
class VAE(ImageModel):
    """The classic VAE (Kingma & Welling 2014): with the defaults, an MLP 784-400-(20, 20) / 20-400-784."""

    gaussian_latent = True

    def __init__(self, config: ImageModelConfig) -> None:
        super().__init__(config)
        extra = config.num_classes if self.conditional else 0
        self.encoder = Encoder(config, extra)
        self.mu = nn.Linear(self.encoder.output_dim, config.latent_dim)
        self.logvar = nn.Linear(self.encoder.output_dim, config.latent_dim)
        self.decoder = Decoder(config, config.latent_dim + extra)

    def _onehot(self, y: Tensor | None) -> Tensor | None:
        return F.one_hot(y, self.config.num_classes).float() if self.conditional else None

    def posterior(self, x: Tensor, y: Tensor | None = None) -> DiagonalGaussian:
        h = self.encoder(x, self._onehot(y))
        c = self.config.logvar_clamp
        return DiagonalGaussian(self.mu(h), self.logvar(h).clamp(-c, c))

    def decoder_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.conditional:
            onehot = self._onehot(y).expand(*z.shape[:-1], self.config.num_classes)
            z = torch.cat([z, onehot], -1)
        return self.decoder(z)

    def reconstruction_nll(self, x: Tensor, z: Tensor, y: Tensor | None = None) -> Tensor:
        """-log p(x|z) for z of shape (B, D) or (K, B, D) -> (B,) or (K, B)."""
        return bernoulli_nll(self.decoder_logits(z, y), x)

    def log_importance_weights(self, x: Tensor, y: Tensor | None, num_samples: int) -> Tensor:
        """log p(x|z_k) + log p(z_k) - log q(z_k|x) for K draws z_k ~ q(z|x): (K, B)."""
        q = self.posterior(x, y)
        z = q.rsample(num_samples)
        return log_importance_weights(q, z, self.reconstruction_nll(x, z, y))

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.posterior(x, y).mu

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return torch.sigmoid(self.decoder_logits(z, y))

    def loss(self, x: Tensor, y: Tensor | None = None, beta: float | None = None) -> LossTerms:
        x, y = self.check(x, y)
        q = self.posterior(x, y)
        z = q.rsample()
        beta = self.config.beta if beta is None else beta
        return elbo_loss(self.reconstruction_nll(x, z, y), q.kl_per_dim(), beta, self.config.free_bits)


@IMAGE_MODELS.register("conv-vae")
class ConvVAE(VAE):
    """The same VAE with convolutional encoder/decoder (two stride-2 layers each way)."""

    defaults = {"arch": "conv", "hidden_dim": 256}


@IMAGE_MODELS.register("beta-vae")
class BetaVAE(VAE):
    """β-VAE (Higgins et al. 2017): KL weight β > 1 trades sharper codes for a smoother latent."""

    defaults = {"beta": 4.0}


@IMAGE_MODELS.register("cvae")
class CVAE(VAE):
    """Conditional VAE (Sohn et al. 2015): q(z|x, y) and p(x|z, y), with one-hot labels y."""

    conditional = True
