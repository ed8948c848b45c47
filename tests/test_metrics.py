import dataclasses

import pytest
import torch

from textvae import TextVAE
from textvae.data import TextDataset
from textvae.errors import ConfigError
from textvae.metrics import (
    active_units,
    evaluate_elbo,
    evaluate_iw_nll,
    iw_log_likelihood,
    mutual_information,
)


@pytest.fixture()
def model(tiny_config, word_tokenizer):
    torch.manual_seed(0)
    return TextVAE(tiny_config, word_tokenizer).eval()


def test_iw_nll_is_at_most_the_negative_elbo(model, ptb_texts):
    dataset = TextDataset(ptb_texts[:24], model.tokenizer)
    torch.manual_seed(0)
    elbo = evaluate_elbo(model, dataset)
    iw = evaluate_iw_nll(model, dataset, num_samples=64, chunk=16)
    assert iw["iw_nll"] <= elbo["neg_elbo"]
    assert elbo["tokens"] == sum(len(t.split()) + 1 for t in ptb_texts[:24])


def test_iw_nll_with_bf16_decoder_passes_is_close_to_fp32(model, ptb_texts):
    dataset = TextDataset(ptb_texts[:16], model.tokenizer)
    results = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)  # the same z samples: only the decoder's arithmetic differs
        results[precision] = evaluate_iw_nll(model, dataset, num_samples=8, precision=precision)
    assert results["bf16"]["iw_precision"] == "bf16"
    assert abs(results["bf16"]["iw_nll"] - results["fp32"]["iw_nll"]) < 0.05  # nats per sentence
    with pytest.raises(ConfigError, match="batch_size and chunk must be > 0"):
        evaluate_iw_nll(model, dataset, num_samples=2, batch_size=0)
    with pytest.raises(ConfigError, match="precision must be one of fp32, bf16"):
        evaluate_iw_nll(model, dataset, num_samples=2, precision="fp16")


def tile(batch: dict, times: int) -> dict:
    """The batch repeated `times` times along the batch dimension."""
    return {k: v.repeat(times, *([1] * (v.dim() - 1))) if isinstance(v, torch.Tensor) else v * times
            for k, v in batch.items()}


def test_samples_reconstruction_equals_the_tiled_batch(model, ptb_texts):
    batch = model.make_batch(ptb_texts[:6])
    z = torch.randn(4, 6, model.config.latent_dim)
    with torch.no_grad():
        per_sample = model.samples_reconstruction_nll(batch, z)
        tiled = model.reconstruction_nll(tile(batch, 4), z.flatten(0, 1)).view(4, 6)
    assert per_sample.shape == (4, 6)
    assert torch.allclose(per_sample, tiled, atol=1e-4)


def test_iw_with_one_sample_is_the_elbo_in_expectation(model, ptb_texts):
    batch = tile(model.make_batch(ptb_texts[:8]), 150)  # 150 independent draws per sentence
    torch.manual_seed(0)
    iw1 = iw_log_likelihood(model, batch, 1).view(150, 8).mean(0)
    with torch.no_grad():
        out = model(batch)
    elbo = -(out.reconstruction + out.kl_per_dim.sum(-1)).view(150, 8).mean(0)
    assert torch.allclose(iw1, elbo, rtol=0.01)


def test_mi_and_active_units_separate_collapsed_from_used_latents():
    torch.manual_seed(0)
    n, d = 2000, 8
    collapsed_mu, collapsed_logvar = torch.zeros(n, d) + 0.001 * torch.randn(n, d), torch.zeros(n, d)
    assert abs(mutual_information(collapsed_mu, collapsed_logvar)) < 0.05
    assert active_units(collapsed_mu) == 0
    used_mu, used_logvar = torch.randn(n, d), torch.full((n, d), -4.0)
    assert mutual_information(used_mu, used_logvar) > 4.0
    assert active_units(used_mu) == d
    half = torch.cat([torch.randn(n, 3), torch.zeros(n, 5)], dim=1)
    assert active_units(half) == 3


def test_mi_equals_the_direct_pairwise_estimate():
    """The expanded-square matmuls give log q(z_i|x_j) exactly as the (N, N, D) formula does."""
    from textvae.latent import LOG_2PI, DiagonalGaussian

    torch.manual_seed(0)
    mu, logvar = 2 * torch.randn(300, 6), torch.randn(300, 6) - 1
    torch.manual_seed(1)
    fast = mutual_information(mu, logvar, chunk=64)
    torch.manual_seed(1)
    z = DiagonalGaussian(mu, logvar).rsample().double()
    mu64, logvar64 = mu.double(), logvar.double()
    pairs = -0.5 * ((z[:, None] - mu64) ** 2 / logvar64.exp() + logvar64 + LOG_2PI).sum(-1)  # (N, N)
    log_qz = torch.logsumexp(pairs, dim=1) - torch.log(torch.tensor(300.0, dtype=torch.float64))
    neg_entropy = (-0.5 * 6 * LOG_2PI - 0.5 * (1 + logvar64).sum(-1)).mean()
    assert fast == pytest.approx(float(neg_entropy - log_qz.mean()), abs=1e-6)


def test_autoencoder_rejects_nothing_but_has_no_kl(tiny_config, word_tokenizer, ptb_texts):
    ae = TextVAE(dataclasses.replace(tiny_config, variational=False), word_tokenizer)
    result = evaluate_elbo(ae, TextDataset(ptb_texts[:10], word_tokenizer))
    assert result["kl"] == 0.0 and result["neg_elbo"] == result["reconstruction"]
