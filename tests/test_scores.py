import dataclasses

import pytest
import torch

from textvae import TextVAE
from textvae.cli.main import main
from textvae.errors import TextVAEError
from textvae.training import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory, ptb_texts):
    """A tiny VAE trained a little on PTB (so in-domain text scores lower than shuffled words)."""
    from textvae.config import load_experiment

    folder = tmp_path_factory.mktemp("scores")
    (folder / "train.txt").write_text("\n".join(ptb_texts[:300]) + "\n")
    config = load_experiment(None, [f"data.train={folder / 'train.txt'}", "data.tokenizer=word", "model.encoder=gru",
                                    "model.embed_dim=32", "model.hidden_dim=48", "model.latent_dim=8",
                                    "objective.beta_schedule=constant", "train.batch_size=16", "train.lr=3e-3",
                                    "train.epochs=4", "train.seed=0", "model.dropout=0.0"])
    train(config, folder / "vae", show_progress=False)
    return folder / "vae"


def test_every_method_scores_every_text_and_in_domain_text_scores_lower(trained, ptb_texts):
    torch.manual_seed(0)
    model = TextVAE.from_pretrained(trained, device="cpu")
    normal = ptb_texts[:40]
    scrambled = [" ".join(sorted(t.split(), key=lambda w: hash(w) % 97)[::-1]) for t in normal]
    for method in ("elbo", "elbo_per_token", "iw_nll", "reconstruction"):
        a, b = model.score(normal, method=method, samples=5), model.score(scrambled, method=method, samples=5)
        assert len(a) == len(b) == 40
        assert sum(a) / 40 < sum(b) / 40, method  # word order matters to a text VAE
    per_text = model.score(normal, "elbo", samples=5)
    per_token = model.score(normal, "elbo_per_token", samples=5)
    assert all(t > k for t, k in zip(per_text, per_token))
    # against itself as background, the likelihood ratio is about zero
    ratio = model.score(normal, "likelihood_ratio", background=model, samples=200)
    assert max(abs(r) for r in ratio) < 0.5


def test_bad_score_requests_fail_clearly(trained):
    model = TextVAE.from_pretrained(trained, device="cpu")
    with pytest.raises(TextVAEError, match="unknown score method 'elbow'"):
        model.score(["the company"], method="elbow")
    with pytest.raises(TextVAEError, match="needs a background model"):
        model.score(["the company"], method="likelihood_ratio")
    with pytest.raises(TextVAEError, match="no texts given"):
        model.score([])
    lm = TextVAE(dataclasses.replace(model.config, encoder="none"), model.tokenizer)
    with pytest.raises(TextVAEError, match="needs a model with a latent space"):
        lm.score(["the company"], method="reconstruction")
    assert len(lm.score(["the company", "said"], method="iw_nll")) == 2


def test_score_command(trained, tmp_path, capsys, ptb_texts):
    data = tmp_path / "in.txt"
    data.write_text("\n".join(ptb_texts[:5]) + "\n\n")
    assert main(["score", "--model", str(trained), str(data), "--jsonl"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and '"score"' in lines[0]
    assert main(["score", "--model", str(trained), str(data), "--method", "likelihood_ratio"]) == 2
    assert "needs a background model" in capsys.readouterr().err
