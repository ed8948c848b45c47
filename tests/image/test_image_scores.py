"""Per-image anomaly scores: shapes, the registry, the complexity term, the likelihood ratio, the CLI."""

from __future__ import annotations

import json

import pytest
import torch

from textvae.errors import ConfigError
from textvae.image import build_image_model, load_image_data, make_config
from textvae.image.scores import IMAGE_SCORES, compressed_bits, perturb_images, score_images

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def images():
    return load_image_data("digits")[1].images[:12]


def tiny(name: str = "vae"):
    torch.manual_seed(0)
    return build_image_model(make_config(name, height=8, width=8, hidden_dim=16, latent_dim=4))


def test_registry_names():
    assert sorted(IMAGE_SCORES) == ["complexity", "elbo", "iw_nll", "likelihood_ratio", "reconstruction"]


@pytest.mark.parametrize("method", ["elbo", "iw_nll", "reconstruction", "complexity"])
def test_one_finite_score_per_image(method, images):
    scores = score_images(tiny(), images, method, samples=3, batch_size=5)
    assert scores.shape == (12,) and torch.isfinite(scores).all()


def test_scores_work_for_the_hierarchical_vae(images):
    hvae = build_image_model(make_config("hvae", height=8, width=8, hidden_dim=16, latent_dim=4, top_latent_dim=2,
                                         top_hidden_dim=8))
    assert score_images(hvae, images, "iw_nll", samples=4).shape == (12,)


def test_a_blank_image_compresses_to_fewer_bits_than_noise():
    blank = torch.zeros(1, 1, 28, 28)
    noise = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert compressed_bits(blank).item() < compressed_bits(noise).item() / 4


def test_complexity_is_the_elbo_in_bits_minus_the_compressed_length(images):
    elbo = score_images(tiny(), images, "elbo", samples=2, seed=3)
    complexity = score_images(tiny(), images, "complexity", samples=2, seed=3)
    expected = elbo / torch.log(torch.tensor(2.0)) - compressed_bits(images)
    assert torch.allclose(complexity, expected, atol=1e-3)


def test_likelihood_ratio_needs_a_background_and_is_zero_against_the_same_autoencoder(images):
    model = tiny()
    with pytest.raises(ConfigError, match="background"):
        score_images(model, images, "likelihood_ratio")
    ratio = score_images(model, images, "likelihood_ratio", background=model, samples=1)
    assert ratio.shape == (12,)
    ae_ratio = score_images(tiny("ae"), images, "likelihood_ratio", background=tiny("ae"))
    assert torch.allclose(ae_ratio, torch.zeros(12), atol=1e-4)


def test_perturbation_replaces_the_given_share_of_pixels():
    x = torch.full((200, 1, 8, 8), 0.5)
    perturbed = perturb_images(x, 0.2, torch.Generator().manual_seed(0))
    share = (perturbed != 0.5).float().mean().item()
    assert 0.17 < share < 0.23 and perturbed.min() >= 0 and perturbed.max() <= 1


def test_bad_method_and_samples(images):
    with pytest.raises(Exception, match="did you mean 'elbo'"):
        score_images(tiny(), images, "elob")
    with pytest.raises(ConfigError, match="samples"):
        score_images(tiny(), images, "elbo", samples=0)


def test_cli_scores_each_image(tmp_path, capsys):
    from textvae.cli.main import main

    tiny().save_pretrained(tmp_path / "vae")
    assert main(["image", "score", "--model", str(tmp_path / "vae"), "--data", "digits", "--limit", "7",
                 "--method", "complexity", "--samples", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "complexity" and len(out["scores"]) == 7
    assert main(["image", "score", "--model", str(tmp_path / "vae"), "--data", "digits", "--limit", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].count("\t") == 2
