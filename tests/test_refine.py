"""Latent refinement (textvae.models.refine): steps on z from mu that lower the decoder's NLL of the input."""

import dataclasses

import pytest
import torch

from textvae import TextVAE
from textvae.config import ModelConfig
from textvae.errors import ConfigError, TextVAEError
from textvae.models.refine import Refinement, output_nll, refine_posterior


def build(config, tokenizer, **changes) -> TextVAE:
    torch.manual_seed(0)
    return TextVAE(dataclasses.replace(config, **changes), tokenizer).eval()


def nll_at(model, texts, z) -> torch.Tensor:
    with torch.no_grad():
        return model.reconstruction_nll(model.make_batch(texts), z)


def test_refinement_lowers_the_decoders_nll_of_each_text_and_leaves_the_weights_alone(tiny_config, word_tokenizer,
                                                                                       ptb_texts):
    model = build(tiny_config, word_tokenizer)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    texts = ptb_texts[:6]
    mu, logvar = model.encode(texts, refine_steps=0)
    refined, refined_logvar = model.encode(texts, refine_steps=15)
    assert (nll_at(model, texts, refined) < nll_at(model, texts, mu)).all()
    assert torch.equal(refined_logvar, logvar) and not torch.equal(refined, mu)
    assert all(p.grad is None and torch.equal(p, before[name]) for name, p in model.named_parameters())
    assert {name for name, p in model.named_parameters() if p.requires_grad} == trainable  # restored after


def test_no_steps_is_the_encoders_mean_and_the_models_default_is_its_config(tiny_config, word_tokenizer, ptb_texts):
    model = build(tiny_config, word_tokenizer)
    with torch.no_grad():
        posterior = model.posterior(model.make_batch(ptb_texts[:3]))
    assert torch.allclose(model.encode(ptb_texts[:3])[0], posterior.mu, atol=1e-6)
    model.config = dataclasses.replace(model.config, refine_steps=5)
    assert torch.allclose(model.encode(ptb_texts[:3])[0], model.encode(ptb_texts[:3], refine_steps=5)[0])
    assert not torch.allclose(model.encode(ptb_texts[:3])[0], posterior.mu)


def test_each_text_is_refined_on_its_own_terms(tiny_config, word_tokenizer, ptb_texts):
    model = build(tiny_config, word_tokenizer)
    together = model.encode(ptb_texts[:4], refine_steps=8)[0]
    alone = torch.cat([model.encode([t], refine_steps=8)[0] for t in ptb_texts[:4]])
    assert torch.allclose(together, alone, atol=1e-4)


def test_the_anchor_holds_z_near_the_encoders_posterior(tiny_config, word_tokenizer, ptb_texts):
    model = build(tiny_config, word_tokenizer)
    batch = model.make_batch(ptb_texts[:4])
    with torch.no_grad():
        posterior = model.posterior(batch)

    def distance(anchor: float) -> float:
        refined = refine_posterior(model, batch, posterior, Refinement(steps=20, lr=0.1, anchor=anchor))
        return (refined.mu - posterior.mu).norm().item()

    assert distance(100.0) < 0.5 * distance(0.0)


def test_refinement_is_saved_with_the_model(tiny_config, word_tokenizer, ptb_texts, tmp_path):
    model = build(tiny_config, word_tokenizer, refine_steps=4, refine_lr=0.2, refine_anchor=0.5, refine_momentum=0.5,
                  refine_early_stop=True)
    model.save_pretrained(tmp_path / "m")
    loaded = TextVAE.from_pretrained(tmp_path / "m")
    assert Refinement.of(loaded.config) == Refinement(4, 0.2, 0.5, 0.5, early_stop=True)
    assert torch.allclose(loaded.encode(ptb_texts[:2])[0], model.encode(ptb_texts[:2])[0], atol=1e-5)


def test_samples_are_centered_between_the_encoders_mean_and_the_refined_one(tiny_config, word_tokenizer, ptb_texts):
    model = build(tiny_config, word_tokenizer, refine_steps=6, refine_lr=0.3, paraphrase_center=0.5)
    texts = ptb_texts[:2]
    encoder_mean, logvar = model.encode(texts, refine_steps=0)
    refined, _ = model.encode(texts)
    center = encoder_mean + 0.5 * (refined - encoder_mean)
    torch.manual_seed(1)
    drawn = model.generate(texts, 3, scale=2.0)
    torch.manual_seed(1)
    rows = torch.arange(6) // 3
    by_hand = model.decode(center[rows] + 2.0 * torch.exp(0.5 * logvar[rows]) * torch.randn(6, 8))
    assert [s for group in drawn for s in group] == by_hand
    assert model.generate(texts, 1, scale=0.0) == [[t] for t in model.decode(refined)]  # scale 0: the refined mean
    assert torch.equal(model.sample_center(encoder_mean, refined), center)
    means = model.encode_means(texts)  # one pass gives both means
    assert torch.equal(means[0], refined) and torch.equal(means[2], encoder_mean) and torch.equal(means[1], logvar)
    model.config = dataclasses.replace(model.config, paraphrase_center=1.0)
    assert torch.equal(model.sample_center(encoder_mean, refined), refined)


@pytest.mark.parametrize(("changes", "message"), [
    ({"refine_steps": -1}, "model.refine_steps must be >= 0"),
    ({"refine_lr": 0.0}, "model.refine_lr must be > 0"),
    ({"refine_anchor": -0.1}, "model.refine_anchor must be >= 0"),
    ({"refine_momentum": 1.0}, "model.refine_momentum must be in"),
    ({"paraphrase_center": 1.5}, r"model.paraphrase_center must be in \[0, 1\]"),
    ({"refine_steps": 3, "type": "conditional_vae"}, "model.refine_steps needs model.type: text_vae"),
    ({"refine_steps": 3, "encoder": "none"}, "model.refine_steps needs model.type: text_vae"),
])
def test_bad_refinement_settings_are_config_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(ModelConfig(), **changes).validate()


@pytest.mark.parametrize("steps", [-1, 1.5, True])
def test_bad_refine_steps_in_a_call_are_clear_errors(tiny_config, word_tokenizer, steps):
    model = build(tiny_config, word_tokenizer)
    with pytest.raises(TextVAEError, match="refine_steps must be"):
        model.encode(["a test"], refine_steps=steps)


def test_refining_sets_the_steps_and_refuses_what_the_model_cannot_do(tiny_config, word_tokenizer):
    model = build(tiny_config, word_tokenizer)
    assert model.refining(None).config.refine_steps == 0 and model.refining(4).config.refine_steps == 4
    with pytest.raises(ConfigError, match="model.refine_steps must be >= 0"):
        model.refining(-1)
    assert model.config.refine_steps == 4  # a refused setting leaves the model as it was
    language_model = build(tiny_config, word_tokenizer, encoder="none")
    with pytest.raises(ConfigError, match="needs model.type: text_vae with a latent"):
        language_model.refining(2)


def memorized(config, tokenizer, texts: list[str]) -> TextVAE:
    """A tiny model trained until its decoder reproduces `texts` from the encoder's means."""
    model = build(config, tokenizer).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    batch = model.make_batch(texts)
    for _ in range(150):
        optimizer.zero_grad()
        model.reconstruction_nll(batch, model.posterior(batch).mu).sum().backward()
        optimizer.step()
    return model.eval()


def test_early_stop_keeps_a_reproduced_text_where_it_is_and_refines_the_others(tiny_config, word_tokenizer):
    texts = ["the market fell", "stocks rose sharply", "he said"]
    model = memorized(tiny_config, word_tokenizer, texts)
    mu = model.encode(texts, refine_steps=0)[0]
    assert model.decode(mu) == texts
    stopped = dataclasses.replace(model.config, refine_steps=5, refine_early_stop=True)
    model.config = stopped
    assert torch.equal(model.encode(texts)[0], mu)  # every text is reproduced: no step is taken
    other = "the company said it would sell its stake"
    assert model.decode(model.encode([other], refine_steps=0)[0]) != [other]
    together = model.encode(texts + [other])[0]
    assert torch.allclose(together[:3], mu, atol=1e-5)
    model.config = dataclasses.replace(stopped, refine_early_stop=False)
    assert torch.allclose(together[3], model.encode([other])[0], atol=1e-5)  # never reproduced: every step runs
    assert not torch.allclose(model.encode(texts)[0], mu)  # without early stop the reproduced texts move too


def test_the_refinements_output_layer_agrees_with_the_float_one(tiny_config, word_tokenizer, ptb_texts):
    model = build(tiny_config, word_tokenizer)
    batch = model.make_batch(ptb_texts[:4])
    z = model.encode(ptb_texts[:4], refine_steps=0)[0].requires_grad_(True)
    states, targets, position = model.reconstruction_states(batch)(z)
    nll, argmax = output_nll(model, states, targets)
    logits = model.decoder.output(states)
    exact = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    assert torch.allclose(nll, exact, atol=1e-2) and torch.equal(argmax, logits.argmax(-1) == targets)
    (grad,) = torch.autograd.grad(nll.sum(), z, retain_graph=True)
    (exact_grad,) = torch.autograd.grad(exact.sum(), z)
    assert torch.allclose(grad, exact_grad, atol=1e-2 * exact_grad.abs().max().item())
    assert model.reconstruction_nll(batch, z.detach()).allclose(
        torch.zeros(4).index_add(0, position // batch["target_ids"].shape[1], exact.detach()), atol=1e-4)


def test_a_refinement_says_what_it_does():
    assert Refinement().describe() == "no refinement"
    assert Refinement(20).describe() == "20 refinement steps"
    assert Refinement(20, early_stop=True).describe() == "up to 20 refinement steps, stopping once the text is reproduced"
