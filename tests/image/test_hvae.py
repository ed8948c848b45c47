"""The two-level hierarchical VAE: training, per-level KL, save/load, level-wise sampling, a valid IW bound."""

from __future__ import annotations

import pytest
import torch

from textvae.image import HVAE, ImageModel, ImageTrainConfig, build_image_model, load_image_data, make_config
from textvae.image.metrics import iw_nll, iw_nll_per_image
from textvae.image.training import evaluate_image_model, train_image_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits():
    train, test = load_image_data("digits")
    return train.subset(300), test.subset(60)


def tiny(**kw) -> HVAE:
    torch.manual_seed(0)
    return build_image_model(make_config("hvae", height=8, width=8, hidden_dim=32, latent_dim=6, top_latent_dim=3,
                                         top_hidden_dim=16, **kw))


def test_registered_with_its_config():
    model = tiny()
    assert isinstance(model, HVAE) and model.gaussian_latent
    assert model.q2.mu.out_features == 3 and model.decoder.fc[0].in_features == 6


def test_training_lowers_the_loss(digits):
    model = tiny()
    history = train_image_model(model, digits[0], ImageTrainConfig(epochs=4, batch_size=32))
    assert history["epoch_loss"][-1] < history["epoch_loss"][0]


def test_kl_per_level_shapes_and_sum(digits):
    model = tiny()
    x = digits[1].images[:7]
    kl = model.kl_per_level(x)
    assert kl.shape == (7, 2) and (kl >= 0).all()
    torch.manual_seed(1)
    first = model.kl_per_level(x)
    torch.manual_seed(1)
    terms = model.loss(x, beta=1.0)
    assert torch.allclose(first.sum(-1), terms.kl, atol=1e-5)


def test_free_bits_floor_every_dimension_of_both_levels(digits):
    x = digits[0].images[:16]
    torch.manual_seed(0)
    plain = tiny().loss(x, beta=1.0)
    torch.manual_seed(0)
    floored = tiny(free_bits=5.0).loss(x, beta=1.0)
    assert floored.loss.item() >= plain.reconstruction.mean().item() + 5.0 * (6 + 3) - 1e-4


def test_save_load_round_trip(digits, tmp_path):
    model = tiny()
    model.save_pretrained(tmp_path)
    loaded = ImageModel.from_pretrained(tmp_path)
    assert isinstance(loaded, HVAE) and loaded.config.top_latent_dim == 3
    x = digits[1].images[:4]
    assert torch.equal(model.encode(x), loaded.encode(x))


def test_sampling_with_a_fixed_top_level():
    model = tiny()
    top = torch.randn(1, 3).expand(5, 3)
    images = model.generate(top, torch.randn(5, 6))
    assert images.shape == (5, 1, 8, 8) and ((images >= 0) & (images <= 1)).all()
    same_bottom = model.generate(torch.randn(5, 3), torch.zeros(5, 6))
    assert not torch.allclose(images[0], images[1]) and not torch.allclose(same_bottom[0], same_bottom[1])
    assert model.sample(4).shape == (4, 1, 8, 8)


def test_iw_bound_is_at_least_the_elbo(digits):
    model = tiny()
    train_image_model(model, digits[0], ImageTrainConfig(epochs=2, batch_size=32))
    test = digits[1]
    neg_elbo = evaluate_image_model(model, test)["neg_elbo"]
    assert iw_nll(model, test, 50) <= neg_elbo + 0.1
    assert iw_nll_per_image(model, test.images[:5], None, 3).shape == (5,)


def test_cli_trains_and_saves_an_hvae(tmp_path):
    import json

    from textvae.cli.main import main

    out = tmp_path / "hvae"
    assert main(["image", "train", "--model", "hvae", "--epochs", "1", "--train-limit", "128", "--test-limit", "32",
                 "--latent-dim", "4", "--hidden-dim", "32", "--set", "top_latent_dim=2", "--iw-samples", "5",
                 "--output", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["test"]
    assert metrics["iw_nll"] > 0 and ImageModel.from_pretrained(out).config.top_latent_dim == 2
