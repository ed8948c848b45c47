"""The models shipped in the package load offline and do their job."""

import json

import torch

from textvae import TextVAE
from textvae.cli.main import main
from textvae.models.registry import BUNDLED, DEFAULT_AE, default_model_path


def test_bundle_is_small():
    size = sum(p.stat().st_size for p in BUNDLED.rglob("*") if p.is_file())
    assert size <= 40 * 2**20  # every bundled weight together


def test_bundled_vae_paraphrases_offline():
    torch.manual_seed(0)
    vae = TextVAE.from_pretrained(device="cpu")
    assert vae.variational
    text = "How can I learn to play the guitar?"
    paraphrases = vae.paraphrase(text, n=5)
    assert 1 <= len(paraphrases) <= 5 and text not in paraphrases
    assert all(isinstance(p, str) and p for p in paraphrases)


def test_bundled_ae_is_the_deterministic_twin():
    ae = TextVAE.from_pretrained(default_model_path(DEFAULT_AE), device="cpu")
    assert ae.has_latent and not ae.variational
    assert ae.reconstruct(["Why is the sky blue?"]) == ae.reconstruct(["Why is the sky blue?"])


def test_cli_works_without_model_argument(capsys):
    assert main(["paraphrase", "What is the best way to learn French?", "-n", "3", "--json", "--seed", "0"]) == 0
    assert len(json.loads(capsys.readouterr().out)["paraphrases"]) >= 1
    assert main(["contrast", "How do I start a business?", "-n", "2", "--json", "--seed", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["ae_reconstruction"]
