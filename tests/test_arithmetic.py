import dataclasses

import pytest
import torch

from textvae import TextVAE
from textvae.cli.main import main
from textvae.errors import TextVAEError


@pytest.fixture()
def ae(tiny_config, word_tokenizer):
    torch.manual_seed(0)
    return TextVAE(dataclasses.replace(tiny_config, variational=False), word_tokenizer).eval()


def test_analogy_adds_the_difference_of_two_posterior_means(ae):
    c = "the company said"
    assert ae.analogy("prices fell", "prices fell", c) == ae.reconstruct([c])[0]  # no change: c itself
    mu, _ = ae.encode(["stocks rose", "stocks fell", c])
    assert ae.analogy("stocks rose", "stocks fell", c) == ae.decode((mu[2] + mu[1] - mu[0])[None])[0]


def test_attribute_vector_and_shift(ae):
    questions, statements = ["is it new ?", "did they buy it ?"], ["it is new", "they bought it"]
    vector = ae.attribute_vector(questions, statements)
    mu_q, _ = ae.encode(questions)
    mu_s, _ = ae.encode(statements)
    assert torch.allclose(vector, mu_q.mean(0) - mu_s.mean(0), atol=1e-6)
    assert torch.allclose(ae.attribute_vector(questions, questions), torch.zeros_like(vector))
    texts = ["it is new", "the market rose"]
    assert ae.shift(texts, vector, 0.0) == ae.reconstruct(texts)
    shifted = ae.decode(mu_s + 3.0 * vector)
    assert ae.shift(statements, vector, 3.0) == shifted
    with pytest.raises(TextVAEError, match="vector must have 8 numbers"):
        ae.shift(texts, torch.zeros(3))
    with pytest.raises(TextVAEError, match="finite"):
        ae.shift(texts, vector, float("nan"))
    with pytest.raises(TextVAEError, match="neither list empty"):
        ae.attribute_vector([], statements)


def test_arithmetic_needs_a_latent_space(tiny_config, word_tokenizer):
    lm = TextVAE(dataclasses.replace(tiny_config, encoder="none"), word_tokenizer)
    with pytest.raises(TextVAEError, match="latent arithmetic needs"):
        lm.analogy("a", "b", "c")


def test_analogy_command(ae, tmp_path, capsys):
    ae.save_pretrained(tmp_path / "ae")
    assert main(["analogy", "--model", str(tmp_path / "ae"), "stocks rose", "stocks fell", "prices rose",
                 "--json"]) == 0
    out = capsys.readouterr().out
    assert '"answer"' in out and '"c": "prices rose"' in out
