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


def test_a_partly_fine_tuned_encoder_caches_the_states_below_its_trained_layers(tiny_config, word_tokenizer,
                                                                               ptb_texts, tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTVAE_CACHE", str(tmp_path))
    torch.manual_seed(0)
    config = dataclasses.replace(tiny_config, encoder="minilm", encoder_trainable_layers=1, variational=False,
                                 encoder_pooling="mean+max+embeddings")
    model = TextVAE(config, word_tokenizer).eval()
    assert model.encoder.split_layer == 5
    texts = ptb_texts[:10]
    cached, live = TextDataset(texts, word_tokenizer), TextDataset(texts, word_tokenizer)
    attach_cached_features(model, cached)
    assert cached.features is None and len(cached.encoder_states) == 10
    batch = cached.collate([3, 0, 7])
    assert "encoder_states" in batch
    # the trained top layer runs on the cached states: the same features as the whole encoder, live
    from_cache = model.encoder(batch)
    from_text = model.encoder.pool([texts[i] for i in (3, 0, 7)])
    assert torch.allclose(from_cache, from_text, atol=5e-3)
    assert evaluate_elbo(model, cached) == pytest.approx(evaluate_elbo(model, live), rel=1e-3)
    # gradients reach the trained layer through the cached path
    model.encoder(batch).sum().backward()
    top = model.encoder._top_layers[0]
    assert all(p.grad is not None for p in top.parameters())
    again = TextDataset(texts, word_tokenizer)
    attach_cached_features(model, again)
    assert torch.equal(again.encoder_states.lower, cached.encoder_states.lower)


def test_repeated_texts_are_encoded_once(tiny_config, word_tokenizer, ptb_texts, tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTVAE_CACHE", str(tmp_path))
    model = build(tiny_config, word_tokenizer, "minilm")
    seen = []
    original = model.encoder.pool_all
    monkeypatch.setattr(model.encoder, "pool_all", lambda texts: seen.append(len(texts)) or original(texts))
    texts = ptb_texts[:3] + ptb_texts[:3] + ptb_texts[3:5]
    dataset = TextDataset(texts, word_tokenizer)
    attach_cached_features(model, dataset)
    assert seen == [5] and dataset.features.shape[0] == 8
    assert torch.equal(dataset.features[0], dataset.features[3]) and torch.allclose(
        dataset.features[:5], model.encoder.pool(texts[:5]), atol=1e-5)


def test_sources_reuse_the_features_of_targets_they_repeat(tiny_config, word_tokenizer, ptb_texts, tmp_path,
                                                           monkeypatch):
    from textvae.data.corpus import both_directions

    monkeypatch.setenv("TEXTVAE_CACHE", str(tmp_path))
    model = build(tiny_config, word_tokenizer, "minilm")
    targets, sources = both_directions(ptb_texts[:4], ptb_texts[4:8])  # every pair both ways
    assert targets[:2] == [ptb_texts[0], ptb_texts[4]] and sources[:2] == [ptb_texts[4], ptb_texts[0]]
    encoded = []
    pool_all = model.encoder.pool_all
    monkeypatch.setattr(model.encoder, "pool_all", lambda texts: encoded.append(len(texts)) or pool_all(texts))
    dataset = TextDataset(targets, model.tokenizer, sources=sources)
    attach_cached_features(model, dataset)
    assert encoded == [8]  # the sources are the targets' texts: nothing encoded twice
    assert torch.allclose(dataset.source_features[0], dataset.features[1])
    assert torch.allclose(dataset.source_features, pool_all(sources), atol=1e-5)
