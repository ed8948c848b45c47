import dataclasses

import pytest
import torch

from textvae import TextVAE
from textvae.data import TextDataset
from textvae.metrics import evaluate_elbo
from textvae.training.features import attach_cached_features, cache_dir


def build(config, tokenizer, encoder):
    torch.manual_seed(0)
    return TextVAE(dataclasses.replace(config, encoder=encoder, variational=False), tokenizer).eval()


def test_frozen_encoder_features_are_cached_once_and_equal_the_live_ones(tiny_config, word_tokenizer, ptb_texts,
                                                                          tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTVAE_CACHE", str(tmp_path))
    model = build(tiny_config, word_tokenizer, "minilm")
    live = TextDataset(ptb_texts[:12], model.tokenizer)
    cached = TextDataset(ptb_texts[:12], model.tokenizer)
    attach_cached_features(model, cached, None)
    assert cached.features.shape[0] == 12 and len(list(cache_dir().iterdir())) == 1
    # an AE is deterministic: the metrics from cached features equal those from running the encoder
    assert evaluate_elbo(model, cached) == pytest.approx(evaluate_elbo(model, live), rel=1e-5)
    again = TextDataset(ptb_texts[:12], model.tokenizer)
    attach_cached_features(model, again)  # read back from disk, not recomputed
    assert torch.equal(again.features, cached.features)


def test_encoders_trained_with_the_model_are_never_cached(tiny_config, word_tokenizer, ptb_texts, tmp_path,
                                                          monkeypatch):
    monkeypatch.setenv("TEXTVAE_CACHE", str(tmp_path))
    dataset = TextDataset(ptb_texts[:4], word_tokenizer)
    attach_cached_features(build(tiny_config, word_tokenizer, "gru"), dataset)
    attach_cached_features(build(tiny_config, word_tokenizer, "none"), dataset)
    assert dataset.features is None and not cache_dir().exists()
