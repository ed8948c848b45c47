import dataclasses
import math

import pytest
import torch

from textvae import TextVAE
from textvae.errors import CheckpointError, TextVAEError
from textvae.io import WEIGHTS_FILE, load_tensors


def build(config, tokenizer, **changes):
    torch.manual_seed(0)
    return TextVAE(dataclasses.replace(config, **changes), tokenizer)


@pytest.mark.parametrize("decoder", ["gru", "transformer"])
@pytest.mark.parametrize("encoder", ["gru", "minilm"])
def test_vae_shapes_and_terms(tiny_config, word_tokenizer, ptb_texts, encoder, decoder):
    model = build(tiny_config, word_tokenizer, encoder=encoder, decoder=decoder)
    batch = model.make_batch(ptb_texts[:5])
    out = model(batch, word_dropout_rate=0.2)
    assert out.reconstruction.shape == (5,) and (out.reconstruction > 0).all()
    assert out.kl_per_dim.shape == (5, 8) and (out.kl_per_dim >= 0).all()
    mu, logvar = model.encode(ptb_texts[:3])
    assert mu.shape == logvar.shape == (3, 8)
    assert len(model.decode(mu)) == 3 and len(model.sample(4)) == 4
    assert len(model.reconstruct(ptb_texts[:2], strategy="beam", beam_size=2)) == 2


def test_autoencoder_has_no_kl_and_is_deterministic(tiny_config, word_tokenizer, ptb_texts):
    model = build(tiny_config, word_tokenizer, variational=False).eval()
    batch = model.make_batch(ptb_texts[:4])
    first, second = model(batch), model(batch)
    assert first.kl_per_dim is None
    assert torch.equal(first.reconstruction, second.reconstruction)
    assert torch.equal(first.z, first.posterior.mu)


@pytest.mark.parametrize("decoder", ["gru", "transformer"])
def test_batches_are_as_wide_as_their_longest_text_and_extra_padding_changes_nothing(tiny_config, word_tokenizer,
                                                                                    ptb_texts, decoder):
    from textvae.data import PAD

    model = build(tiny_config, word_tokenizer, encoder="gru", decoder=decoder, variational=False).eval()
    batch = model.make_batch(ptb_texts[:4])  # 24, 15, 11 and 23 words
    assert batch["input_ids"].shape == batch["target_ids"].shape == (4, 25)  # + BOS / EOS, no rounding up
    wider = {**batch, **{key: torch.cat([batch[key], torch.full((4, 7), PAD)], dim=1)
                         for key in ("input_ids", "target_ids")}}
    assert torch.allclose(model(batch).reconstruction, model(wider).reconstruction, atol=1e-4)
    z = torch.randn(3, 4, 8)
    assert torch.allclose(model.samples_reconstruction_nll(batch, z), model.samples_reconstruction_nll(wider, z),
                          atol=1e-4)


def test_encode_batches_by_length_and_returns_the_input_order(tiny_config, word_tokenizer, ptb_texts):
    model = build(tiny_config, word_tokenizer)
    texts = ptb_texts[:9]
    assert len({len(t) for t in texts}) > 1  # lengths differ: the length order is not the input order
    mu, logvar = model.encode(texts, batch_size=2)
    for i, text in enumerate(texts):
        one_mu, one_logvar = model.encode([text])
        assert torch.allclose(mu[i], one_mu[0], atol=1e-5) and torch.allclose(logvar[i], one_logvar[0], atol=1e-5)


def test_vae_samples_z_in_forward(tiny_config, word_tokenizer, ptb_texts):
    model = build(tiny_config, word_tokenizer).eval()
    batch = model.make_batch(ptb_texts[:4])
    assert not torch.equal(model(batch).z, model(batch).z)


def test_language_model_baseline_has_no_latent(tiny_config, word_tokenizer, ptb_texts):
    model = build(tiny_config, word_tokenizer, encoder="none")
    out = model(model.make_batch(ptb_texts[:3]))
    assert out.kl_per_dim is None and out.z is None
    assert len(model.sample(2)) == 2
    with pytest.raises(TextVAEError, match="without a latent space"):
        model.encode(["a sentence"])


@pytest.mark.parametrize("encoder,decoder,tie", [("gru", "gru", False), ("gru", "gru", True),
                                                 ("minilm", "transformer", False), ("gru", "transformer", True)])
def test_save_and_load_give_identical_outputs(tiny_config, word_tokenizer, ptb_texts, tmp_path, encoder, decoder, tie):
    model = build(tiny_config, word_tokenizer, encoder=encoder, decoder=decoder, tie_embeddings=tie).eval()
    model.save_pretrained(tmp_path)
    loaded = TextVAE.from_pretrained(tmp_path, device="cpu")
    assert (loaded.decoder.output.weight is loaded.decoder.embedding.weight) == tie  # the tie survives loading
    assert ("decoder.output.weight" in load_tensors(tmp_path / WEIGHTS_FILE)) == (not tie)  # a tied table is saved once
    mu, logvar = model.encode(ptb_texts[:3])
    mu2, logvar2 = loaded.encode(ptb_texts[:3])
    assert torch.equal(mu, mu2) and torch.equal(logvar, logvar2)
    assert model.decode(mu) == loaded.decode(mu2)
    torch.manual_seed(1)
    a = model.sample(3, strategy="sample")
    torch.manual_seed(1)
    assert loaded.sample(3, strategy="sample") == a
    if encoder == "minilm":  # a frozen pretrained encoder is reloaded from its source, not copied
        assert not any(k.startswith("encoder.model.") for k in load_tensors(tmp_path / WEIGHTS_FILE))


def test_reference_layout_one_embedding_table_and_a_forward_only_encoder(tiny_config, word_tokenizer, ptb_texts,
                                                                        tmp_path):
    model = build(tiny_config, word_tokenizer, encoder="gru", encoder_bidirectional=False, share_embeddings=True)
    assert model.encoder.embedding is model.decoder.embedding and model.encoder.output_dim == tiny_config.hidden_dim
    separate = build(tiny_config, word_tokenizer, encoder="gru")
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in separate.parameters())
    out = model(model.make_batch(ptb_texts[:4]))
    out.reconstruction.sum().backward()
    assert model.decoder.embedding.weight.grad is not None
    model.eval().save_pretrained(tmp_path)
    loaded = TextVAE.from_pretrained(tmp_path, device="cpu")
    assert loaded.encoder.embedding is loaded.decoder.embedding  # the sharing survives loading
    mu, _ = model.encode(ptb_texts[:3])
    assert torch.equal(mu, loaded.encode(ptb_texts[:3])[0]) and model.decode(mu) == loaded.decode(mu)


@pytest.mark.parametrize("changes,message", [({"encoder": "minilm", "share_embeddings": True}, "share_embeddings needs"),
                                             ({"encoder": "minilm", "encoder_bidirectional": False},
                                              "encoder_bidirectional: false needs")])
def test_reference_layout_options_need_the_gru_encoder(tiny_config, changes, message):
    from textvae.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(tiny_config, **changes).validate()


def test_broken_checkpoints_give_clear_errors(tiny_config, word_tokenizer, tmp_path):
    with pytest.raises(CheckpointError, match="model folder not found"):
        TextVAE.from_pretrained(tmp_path / "nope")
    build(tiny_config, word_tokenizer).save_pretrained(tmp_path)
    weights = tmp_path / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        TextVAE.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"format_version": 99, "model_type": "text_vae", "config": {}}')
    with pytest.raises(CheckpointError, match="format version 99"):
        TextVAE.from_pretrained(tmp_path)


def test_bad_user_input(tiny_config, word_tokenizer):
    model = build(tiny_config, word_tokenizer)
    with pytest.raises(TextVAEError, match="empty or whitespace"):
        model.encode(["fine", "   "])
    with pytest.raises(TextVAEError, match=r"z must have shape \(n, 8\)"):
        model.decode(torch.zeros(2, 3))
    with pytest.raises(TextVAEError, match="n must be > 0"):
        model.sample(0)


def test_top_layers_of_the_pretrained_encoder_train_and_are_saved(tiny_config, word_tokenizer, ptb_texts, tmp_path):
    model = build(tiny_config, word_tokenizer, encoder="minilm", encoder_trainable_layers=1)
    trainable = {n for n, p in model.encoder.model.named_parameters() if p.requires_grad}
    assert trainable and all(".5." in n for n in trainable)  # MiniLM has 6 layers: only the top one
    assert not model.encoder.frozen
    with torch.no_grad():
        for p in model.encoder.model.parameters():
            if p.requires_grad:
                p.add_(0.01)  # as if fine-tuned
    model.eval().save_pretrained(tmp_path)
    saved = load_tensors(tmp_path / WEIGHTS_FILE)
    assert {f"encoder.model.{n}" for n in trainable} <= saved.keys()
    loaded = TextVAE.from_pretrained(tmp_path, device="cpu")
    assert torch.equal(model.encode(ptb_texts[:2])[0], loaded.encode(ptb_texts[:2])[0])


def test_pooling_concatenates_views_and_keeps_the_sentence_embedding(tiny_config, word_tokenizer, ptb_texts):
    mean = build(tiny_config, word_tokenizer, encoder="minilm")
    pooled = build(tiny_config, word_tokenizer, encoder="minilm", encoder_pooling="mean+max+embeddings")
    assert pooled.encoder.output_dim == 3 * mean.encoder.output_dim
    texts = ptb_texts[:3]
    with torch.no_grad():
        features = pooled.encoder.pool(texts)
        assert torch.allclose(features[:, : mean.encoder.output_dim], mean.encoder.pool(texts), atol=1e-5)
        assert not torch.allclose(features[:, 384:768], features[:, :384])  # max differs from mean
    # similarity (reranking, evaluation) uses MiniLM's own sentence embedding, whatever the pooling
    assert torch.allclose(pooled.encoder.sentence_embedding(texts), mean.encoder.pool(texts), atol=1e-5)
    assert pooled.encode(texts)[0].shape == (3, tiny_config.latent_dim)


@pytest.mark.parametrize("pooling, message", [("mean+avg", "unknown encoder pooling 'avg'"),
                                              ("", "unknown encoder pooling ''")])
def test_unknown_pooling_is_a_config_error(pooling, message):
    from textvae.config import ModelConfig, from_dict
    from textvae.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        from_dict(ModelConfig, {"encoder_pooling": pooling}, "model.")


def test_default_paraphrase_scale_comes_from_the_config(tiny_config, word_tokenizer, ptb_texts):
    model = build(tiny_config, word_tokenizer, paraphrase_scale=0.0).eval()
    assert model.paraphrase_scale() == 0.0 and model.paraphrase_scale(2.0) == 2.0
    # scale 0 around the posterior is the reconstruction, n times
    assert model.generate(ptb_texts[:1], n=3)[0] == model.reconstruct(ptb_texts[:1]) * 3
    with pytest.raises(TextVAEError, match="scale must be >= 0"):
        model.generate(ptb_texts[:1], n=2, scale=-1.0)


def test_bag_of_words_head_scores_the_texts_tokens_and_is_saved(tiny_config, word_tokenizer, ptb_texts, tmp_path):
    model = build(tiny_config, word_tokenizer, bow_weight=1.0).eval()
    batch = model.make_batch(ptb_texts[:4])
    out = model(batch)
    tokens = ((batch["target_ids"] != 0) & (batch["target_ids"] != 2)).sum(1)  # real tokens, EOS excluded
    # an untrained head is near uniform: about log(vocab) nats per token
    per_token = out.bag_of_words / tokens
    assert torch.allclose(per_token, torch.full_like(per_token, math.log(model.config.vocab_size)), rtol=0.2)
    out.bag_of_words.sum().backward()
    assert model.posterior_head.proj.weight.grad.abs().sum() > 0  # the BOW loss trains the encoder side
    model.save_pretrained(tmp_path)
    loaded = TextVAE.from_pretrained(tmp_path, device="cpu")
    assert torch.equal(loaded.bow_head.weight, model.bow_head.weight)
    assert build(tiny_config, word_tokenizer)(batch).bag_of_words is None
