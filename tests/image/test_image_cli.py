"""`textvae image train` / `textvae image demo` from the command line."""

from __future__ import annotations

import json

import pytest
import torch

from textvae.cli.main import main
from textvae.image import ImageModel

torch.set_num_threads(1)


@pytest.mark.parametrize("model", ["ae", "vae", "conv-vae", "beta-vae", "cvae", "vqvae", "dae"])
def test_image_train_each_model(model, tmp_path, capsys):
    out = tmp_path / model
    rc = main(["image", "train", "--model", model, "--data", "digits", "--epochs", "1", "--train-limit", "128",
               "--test-limit", "32", "--latent-dim", "4", "--hidden-dim", "32", "--iw-samples", "5",
               "--output", str(out), "--quiet"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())["test"]
    assert metrics["reconstruction"] > 0
    loaded = ImageModel.from_pretrained(out)
    assert loaded.config.model == model and loaded.config.height == 8


def test_image_train_set_overrides(tmp_path):
    out = tmp_path / "vq"
    assert main(["image", "train", "--model", "vqvae", "--epochs", "1", "--train-limit", "64", "--test-limit", "16",
                 "--set", "ema=true", "--set", "codebook_size=8", "--output", str(out), "--quiet"]) == 0
    assert ImageModel.from_pretrained(out).config.ema is True


@pytest.mark.parametrize("argv, message", [
    (["--model", "vea"], "unknown image model 'vea' (did you mean 'vae'?)"),
    (["--model", "vae", "--data", "cifar"], "unknown image data set 'cifar'"),
    (["--model", "vae", "--data", "mnist", "--data-dir", "/no/such/folder"], "mnist folder not found"),
    (["--model", "vae", "--set", "latnet_dim=3"], "unknown config key 'latnet_dim'"),
    (["--model", "vae", "--epochs", "0"], "epochs must be > 0"),
])
def test_image_train_errors_are_one_line(argv, message, capsys):
    assert main(["image", "train", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


@pytest.mark.slow
def test_image_demo_writes_pngs(tmp_path):
    assert main(["image", "demo", "--out", str(tmp_path), "--epochs", "2"]) == 0
    names = {p.name for p in tmp_path.glob("*.png")}
    assert {"reconstructions.png", "prior_samples.png", "latent_map.png", "interpolation.png", "beta_sweep.png",
            "cvae_samples.png", "vqvae_codebook.png", "dae_denoising.png"} <= names
