"""Configs of the image models and of their small training loop (JSON next to the weights)."""

from __future__ import annotations

from dataclasses import dataclass

from textvae.errors import require


@dataclass
class ImageModelConfig:
    """The architecture of one image model; `model` names it in the image-model registry."""

    model: str = "vae"  # ae | vae | conv-vae | beta-vae | cvae | vqvae | dae | hvae
    channels: int = 1
    height: int = 28
    width: int = 28
    arch: str = "mlp"  # mlp | conv (conv needs height and width divisible by 4)
    latent_dim: int = 20  # z size; for the VQ-VAE the size of each code vector
    hidden_dim: int = 400
    conv_channels: int = 32
    beta: float = 1.0  # KL weight (β-VAE: > 1)
    free_bits: float = 0.0
    logvar_clamp: float = 10.0
    num_classes: int = 10  # CVAE: labels are 0..num_classes-1
    codebook_size: int = 64  # VQ-VAE: number of code vectors
    commitment: float = 0.25  # VQ-VAE: weight of ||z_e - sg[e]||^2
    ema: bool = False  # VQ-VAE: update the codebook by exponential moving averages instead of gradients
    ema_decay: float = 0.99
    noise: str = "gaussian"  # DAE: gaussian | mask
    noise_std: float = 0.5  # DAE gaussian noise (pixels are clipped to [0, 1])
    mask_prob: float = 0.5  # DAE masking noise: share of pixels set to 0
    top_latent_dim: int = 10  # HVAE: size of the upper latent z2 (latent_dim is the lower z1)
    top_hidden_dim: int = 200  # HVAE: width of the bottom-up layer to z2 and of the top-down net p(z1 | z2)

    def validate(self) -> None:
        for name in ("channels", "height", "width", "latent_dim", "hidden_dim", "conv_channels", "num_classes",
                     "codebook_size", "top_latent_dim", "top_hidden_dim"):
            value = getattr(self, name)
            require(value > 0, f"image model {name} must be > 0, got {value}")
        require(self.arch in ("mlp", "conv"), f"image model arch must be 'mlp' or 'conv', got '{self.arch}'")
        if self.arch == "conv":
            require(self.height % 4 == 0 and self.width % 4 == 0,
                     f"arch 'conv' needs height and width divisible by 4, got {self.height}x{self.width}")
        require(self.beta >= 0, f"image model beta must be >= 0, got {self.beta}")
        require(self.free_bits >= 0, "image model free_bits must be >= 0")
        require(self.logvar_clamp > 0, "image model logvar_clamp must be > 0")
        require(self.commitment >= 0, "image model commitment must be >= 0")
        require(0 < self.ema_decay < 1, f"image model ema_decay must be in (0, 1), got {self.ema_decay}")
        require(self.noise in ("gaussian", "mask"), f"image model noise must be 'gaussian' or 'mask', got '{self.noise}'")
        require(self.noise_std >= 0, "image model noise_std must be >= 0")
        require(0 <= self.mask_prob < 1, f"image model mask_prob must be in [0, 1), got {self.mask_prob}")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    @property
    def num_pixels(self) -> int:
        return self.channels * self.height * self.width


@dataclass
class ImageTrainConfig:
    """The small training loop: Adam over shuffled minibatches, with a β schedule from textvae.objectives."""

    epochs: int = 10
    max_steps: int | None = None
    batch_size: int = 64
    lr: float = 1e-3
    grad_clip: float = 0.0  # 0 = off
    seed: int = 0
    beta_schedule: str = "constant"  # any name in textvae.objectives.BETA_SCHEDULES
    anneal_steps: int = 1000

    def validate(self) -> None:
        from textvae.objectives import BETA_SCHEDULES

        BETA_SCHEDULES.get(self.beta_schedule)
        require(self.epochs > 0, f"epochs must be > 0, got {self.epochs}")
        require(self.max_steps is None or self.max_steps > 0, "max_steps must be > 0")
        require(self.batch_size > 0, f"batch_size must be > 0, got {self.batch_size}")
        require(self.lr > 0, f"lr must be > 0, got {self.lr}")
        require(self.grad_clip >= 0, "grad_clip must be >= 0")
        require(self.anneal_steps > 0, "anneal_steps must be > 0")
