import math

import pytest
import torch

from textvae.config import ObjectiveConfig
from textvae.objectives import build_beta_schedule, elbo_loss, word_dropout


def schedule(**kwargs):
    return build_beta_schedule(ObjectiveConfig(**kwargs))


def test_constant_and_linear_schedules():
    assert schedule(beta_schedule="constant", beta=0.7)(12345) == 0.7
    linear = schedule(beta_schedule="linear", beta=1.0, anneal_steps=100)
    assert [linear(s) for s in (0, 50, 100, 500)] == [0.0, 0.5, 1.0, 1.0]


def test_logistic_schedule_is_half_at_x0():
    logistic = schedule(beta_schedule="logistic", logistic_k=0.0025, logistic_x0=2500)
    assert logistic(2500) == pytest.approx(0.5)
    assert logistic(0) == pytest.approx(1 / (1 + math.exp(6.25)))
    assert logistic(10000) > 0.99


def test_cyclical_schedule_has_zero_phase_rise_and_plateau():
    cyc = schedule(beta_schedule="cyclical", cycle_steps=100, cycle_zero=0.2, cycle_rise=0.4)
    assert cyc(10) == 0.0
    assert cyc(40) == pytest.approx(0.5)
    assert cyc(70) == 1.0
    assert cyc(110) == 0.0  # the next cycle starts again at zero


def test_unknown_schedule_is_a_clear_error():
    with pytest.raises(ValueError, match="did you mean 'logistic'"):
        ObjectiveConfig(beta_schedule="logistc").validate()


def test_word_dropout_rate_and_kept_positions():
    torch.manual_seed(0)
    ids = torch.full((200, 50), 7)
    keep = torch.zeros_like(ids, dtype=torch.bool)
    keep[:, 0] = True
    dropped = word_dropout(ids, 0.3, unk_id=3, keep=keep)
    rate = (dropped[:, 1:] == 3).float().mean().item()
    assert abs(rate - 0.3) < 0.02
    assert (dropped[:, 0] == 7).all()
    assert torch.equal(word_dropout(ids, 0.0, 3, keep), ids)


def test_elbo_loss_without_latent_is_reconstruction():
    rec = torch.tensor([3.0, 5.0])
    terms = elbo_loss(rec, None, beta=1.0)
    assert terms.loss.item() == 4.0 and terms.kl.sum() == 0
    kl = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    assert elbo_loss(rec, kl, beta=0.5).loss.item() == 4.0 + 0.5 * 2.0


def test_objective_is_chosen_by_name_with_a_clear_error():
    from textvae.config import ModelConfig, from_dict
    from textvae.objectives import ELBO, build_objective

    assert isinstance(build_objective(ObjectiveConfig(), ModelConfig()), ELBO)
    with pytest.raises(ValueError, match="unknown objective 'elbow' \\(did you mean 'elbo'\\?\\)"):
        from_dict(ObjectiveConfig, {"type": "elbow"}, "objective.")


def test_elbo_objective_weighs_the_model_terms_at_the_step(tiny_config, word_tokenizer, ptb_texts):
    import dataclasses

    from textvae import TextVAE
    from textvae.objectives import build_objective

    model = TextVAE(dataclasses.replace(tiny_config, bow_weight=0.5), word_tokenizer)
    objective = build_objective(ObjectiveConfig(beta_schedule="linear", beta=1.0, anneal_steps=10, word_dropout=0.0),
                                model.config)
    batch = model.make_batch(ptb_texts[:4])
    torch.manual_seed(0)
    terms = objective(model, batch, step=5)
    torch.manual_seed(0)
    out = model(batch)
    expected = out.reconstruction.mean() + 0.5 * out.kl_per_dim.sum(-1).mean() + 0.5 * out.bag_of_words.mean()
    assert terms.beta == 0.5 and torch.allclose(terms.loss, expected)
    assert torch.equal(terms.extra["bow"], out.bag_of_words)


def test_uniform_cross_entropy_is_the_mean_negative_log_probability_over_the_vocabulary():
    from textvae.fastcpu.output_loss import linear_cross_entropy
    from textvae.models.token_nll import uniform_cross_entropy

    torch.manual_seed(0)
    states, weight, bias = torch.randn(6, 8), torch.randn(11, 8), torch.randn(11)
    targets = torch.tensor([0, 3, 10, 3, 5, 7])
    nll = linear_cross_entropy(states, weight, bias, targets)
    expected = -torch.log_softmax(states @ weight.t() + bias, dim=-1).mean(-1)
    assert torch.allclose(uniform_cross_entropy(states, nll, weight, bias, targets), expected, atol=1e-5)
    nll = linear_cross_entropy(states, weight, None, targets)
    expected = -torch.log_softmax(states @ weight.t(), dim=-1).mean(-1)
    assert torch.allclose(uniform_cross_entropy(states, nll, weight, None, targets), expected, atol=1e-5)


@pytest.mark.parametrize("conditional", [False, True])
def test_label_smoothing_trains_against_the_smoothed_targets_and_reports_the_true_nll(
        tiny_config, word_tokenizer, ptb_texts, conditional):
    import dataclasses

    from textvae import TextVAE
    from textvae.models.conditional import ConditionalTextVAE
    from textvae.objectives import build_objective

    if conditional:  # a copying decoder: the smoothing applies to its output layer's distribution
        config = dataclasses.replace(tiny_config, type="conditional_vae", prior="learned", source_attention=True,
                                     copy=True)
        model = ConditionalTextVAE(config, word_tokenizer)
        batch = {**model.make_batch(ptb_texts[:4]), "source_texts": ptb_texts[4:8]}
    else:
        model = TextVAE(tiny_config, word_tokenizer)
        batch = model.make_batch(ptb_texts[:4])
    model.eval()  # no dropout: the passes below see the same network
    options = dict(beta_schedule="constant", beta=1.0, word_dropout=0.0)
    plain = build_objective(ObjectiveConfig(**options), model.config)
    smoothed = build_objective(ObjectiveConfig(label_smoothing=0.1, **options), model.config)
    torch.manual_seed(0)
    base = plain(model, batch, step=0)
    torch.manual_seed(0)
    terms = smoothed(model, batch, step=0)
    assert "uniform_ce" not in base.extra and torch.allclose(terms.reconstruction, base.reconstruction)
    uniform = terms.extra["uniform_ce"]
    assert uniform.shape == (4,) and torch.isfinite(uniform).all() and not torch.allclose(uniform, base.reconstruction)
    expected = base.loss + 0.1 * (uniform - base.reconstruction).mean()
    assert torch.allclose(terms.loss, expected)
    terms.loss.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


def test_label_smoothing_must_leave_mass_on_the_text():
    with pytest.raises(ValueError, match=r"objective.label_smoothing must be in \[0, 1\), got 1.0"):
        ObjectiveConfig(label_smoothing=1.0).validate()
