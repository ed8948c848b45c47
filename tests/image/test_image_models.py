"""Image models: shapes, losses, save/load, training reduces the loss, VQ straight-through, bad input."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from textvae.errors import CheckpointError, ConfigError, DataError
from textvae.image import (
    IMAGE_MODELS,
    ImageModel,
    ImageTrainConfig,
    build_image_model,
    evaluate_image_model,
    load_image_data,
    make_config,
    read_idx,
    train_image_model,
)
from textvae.image.metrics import iw_nll, train_classifier, validity
from textvae.image.vqvae import VectorQuantizer

torch.set_num_threads(1)
ALL = ["ae", "vae", "conv-vae", "beta-vae", "cvae", "vqvae", "dae", "hvae"]


@pytest.fixture(scope="module")
def digits():
    train, test = load_image_data("digits")
    return train.subset(400), test.subset(100)


def small(name: str, **kw):
    return build_image_model(make_config(name, height=8, width=8, hidden_dim=64, latent_dim=8, conv_channels=8, **kw))


def test_registry_has_all_models():
    assert sorted(IMAGE_MODELS) == sorted(ALL)


def test_classic_mlp_vae_is_784_400_20():
    model = build_image_model(make_config("vae"))
    shapes = [tuple(p.shape) for p in model.parameters() if p.dim() == 2]
    assert shapes == [(400, 784), (20, 400), (20, 400), (400, 20), (784, 400)]


@pytest.mark.parametrize("name", ALL)
def test_shapes_and_loss(name, digits):
    torch.manual_seed(0)
    model = small(name)
    x, y = digits[0].images[:5], digits[0].labels[:5]
    terms = model.loss(x, y)
    assert terms.loss.dim() == 0 and torch.isfinite(terms.loss)
    assert terms.reconstruction.shape == (5,) and (terms.reconstruction > 0).all()
    assert model.reconstruct(x, y).shape == (5, 1, 8, 8)
    samples = model.sample(6)
    assert samples.shape == (6, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    if model.gaussian_latent:
        assert terms.kl.shape == (5,) and (terms.kl >= 0).all()


@pytest.mark.parametrize("name", ALL)
def test_training_reduces_loss(name, digits):
    torch.manual_seed(0)
    model = small(name)
    before = evaluate_image_model(model, digits[0])["reconstruction"]
    history = train_image_model(model, digits[0], ImageTrainConfig(epochs=4, batch_size=32, lr=3e-3))
    after = evaluate_image_model(model, digits[0])["reconstruction"]
    assert history["epoch_loss"][-1] < history["epoch_loss"][0]
    assert after < before


@pytest.mark.parametrize("name", ["vae", "cvae", "vqvae"])
def test_save_load_roundtrip(name, digits, tmp_path):
    model = small(name, ema=True) if name == "vqvae" else small(name)
    model.eval()
    model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "config.json").is_file() and (tmp_path / "m" / "model.safetensors").is_file()
    loaded = ImageModel.from_pretrained(tmp_path / "m")
    assert type(loaded) is type(model) and loaded.config == model.config
    x, y = digits[1].images[:4], digits[1].labels[:4]
    assert torch.allclose(model.encode(x, y).float(), loaded.encode(x, y).float())


def test_load_errors(tmp_path):
    with pytest.raises(CheckpointError):
        ImageModel.from_pretrained(tmp_path / "missing")
    model = small("vae")
    model.save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        ImageModel.from_pretrained(tmp_path / "m")


def test_vq_straight_through_gradient():
    torch.manual_seed(0)
    vq = VectorQuantizer(8, 4)
    z_e = torch.randn(10, 4, requires_grad=True)
    z_q, idx, cb, commit = vq(z_e)
    assert torch.allclose(z_q, vq.codebook[idx])  # forward: the nearest code
    weights = torch.randn(10, 4)
    (z_q * weights).sum().backward()
    assert torch.allclose(z_e.grad, weights)  # backward: identity (straight through)
    cb.sum().backward()
    assert vq.codebook.grad is not None and vq.codebook.grad.abs().sum() > 0


def test_vq_ema_updates_codebook_without_gradients():
    torch.manual_seed(0)
    vq = VectorQuantizer(4, 2, ema=True, decay=0.5)
    before = vq.codebook.clone()
    vq.train()
    vq(torch.randn(32, 2) + 3.0)
    assert not any(p.requires_grad for p in vq.parameters())
    assert not torch.allclose(before, vq.codebook)


def test_dae_noise_kinds():
    x = torch.full((3, 1, 8, 8), 0.5)
    mask = small("dae", noise="mask", mask_prob=0.5).corrupt(x)
    assert set(mask.unique().tolist()) <= {0.0, 0.5}
    gauss = small("dae", noise="gaussian", noise_std=0.3).corrupt(x)
    assert gauss.min() >= 0 and gauss.max() <= 1 and not torch.allclose(gauss, x)


def test_iw_nll_bounds_elbo(digits):
    torch.manual_seed(0)
    model = small("vae")
    train_image_model(model, digits[0], ImageTrainConfig(epochs=3, batch_size=32))
    nll = iw_nll(model, digits[1], num_samples=50)
    elbo = evaluate_image_model(model, digits[1])["neg_elbo"]
    assert 0 < nll <= elbo + 0.5
    with pytest.raises(ConfigError):
        iw_nll(small("ae"), digits[1])


def test_validity_of_real_images(digits):
    clf = train_classifier(digits[0], epochs=60)
    v = validity(clf, digits[0].images)
    assert v.valid_rate > 0.7 and v.class_entropy > 2.0


def test_bad_inputs_give_clear_errors():
    model = small("vae")
    with pytest.raises(DataError, match=r"expected images of shape \(batch, 1, 8, 8\)"):
        model.loss(torch.rand(2, 1, 28, 28))
    with pytest.raises(ConfigError, match="unknown image model 'vea'.*did you mean 'vae'"):
        make_config("vea")
    with pytest.raises(ConfigError, match="divisible by 4"):
        make_config("conv-vae", height=10, width=10)
    with pytest.raises(ConfigError, match="unknown config key"):
        make_config("vae", latnet_dim=3)
    with pytest.raises(DataError, match="label-conditioned"):
        small("cvae").loss(torch.rand(2, 1, 8, 8))
    with pytest.raises(ConfigError, match="unknown image data set"):
        load_image_data("cifar")


def test_idx_reader(tmp_path):
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    path = tmp_path / "x-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(struct.pack(">HBB3I", 0, 8, 3, 2, 3, 3) + images.tobytes())
    assert (read_idx(path) == images).all()
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as handle:
        handle.write(struct.pack(">HBB3I", 0, 8, 3, 5, 3, 3) + images.tobytes())
    with pytest.raises(DataError, match="truncated"):
        read_idx(bad)
    with pytest.raises(DataError, match="not found"):
        load_image_data("mnist", tmp_path / "nowhere")


def test_mnist_split_of_test_only_folder():
    from textvae.image.data import DEFAULT_DIRS

    if not DEFAULT_DIRS["mnist"].is_dir():
        pytest.skip("shared MNIST not present")
    train, test = load_image_data("mnist")
    assert len(train) == 8000 and len(test) == 2000 and train.image_shape == (1, 28, 28)
    assert 0 <= float(train.images.min()) and float(train.images.max()) <= 1
