import dataclasses
import json
from types import SimpleNamespace

import pytest
import torch

from textvae import TextVAE
from textvae.apps import contrast, latent_path
from textvae.cli.main import main
from textvae.errors import TextVAEError


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny VAE and its AE twin (GRU encoder), briefly fitted to real PTB sentences and saved."""
    from conftest import ptb_lines

    from textvae.config import ModelConfig
    from textvae.data import TextDataset, train_tokenizer
    from textvae.data.batching import BucketBatchSampler

    texts = ptb_lines("train", 200)
    tokenizer = train_tokenizer("word", texts, 0, False)
    config = ModelConfig(encoder="gru", latent_dim=8, embed_dim=32, hidden_dim=48, dropout=0.0, max_length=15)
    folder = tmp_path_factory.mktemp("apps")
    for name, variational in (("vae", True), ("ae", False)):
        torch.manual_seed(0)
        model = TextVAE(dataclasses.replace(config, variational=variational), tokenizer)
        dataset = TextDataset(texts, tokenizer)
        optimizer = torch.optim.Adam(model.parameters(), 3e-3)
        for indices in list(BucketBatchSampler(dataset.lengths, 20)) * 3:
            out = model(dataset.collate(indices))
            kl = out.kl_per_dim.sum(-1).mean() * 0.1 if out.kl_per_dim is not None else 0
            loss = out.reconstruction.mean() + kl
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.save_pretrained(folder / name)
    return folder / "vae", folder / "ae"


def test_paraphrases_are_distinct_and_never_the_input(models):
    vae = TextVAE.from_pretrained(models[0], device="cpu")
    text = "the company said it would buy the shares"
    torch.manual_seed(0)
    out = vae.paraphrase(text, n=5, scale=2.0, strategy="sample")
    assert 0 < len(out) <= 5
    assert len({o.lower() for o in out}) == len(out) and text not in out
    # scale 0 is the deterministic reconstruction: one candidate at most
    assert len(vae.paraphrase(text, n=5, scale=0.0)) <= 1
    with pytest.raises(TextVAEError, match="scale must be >= 0"):
        vae.paraphrase(text, scale=-1)


def test_paraphrase_decodes_by_the_models_beam_unless_told_otherwise(models):
    vae = TextVAE.from_pretrained(models[0], device="cpu")
    text = "the company said it would buy the shares"
    assert vae.paraphrase_decoding() == ("greedy", {})
    vae.config = dataclasses.replace(vae.config, paraphrase_beam=3)
    assert vae.paraphrase_decoding() == ("beam", {"beam_size": 3})
    assert vae.paraphrase_decoding(beam_size=2) == ("beam", {"beam_size": 2})
    assert vae.paraphrase_decoding("sample", top_p=0.9) == ("sample", {"top_p": 0.9})
    outputs = {}
    for strategy, options in ((None, {}), ("beam", {"beam_size": 3}), ("greedy", {})):
        torch.manual_seed(0)
        outputs[strategy] = vae.paraphrase(text, n=4, scale=2.0, strategy=strategy, rerank=False, **options)
    assert outputs[None] == outputs["beam"] and outputs[None] != outputs["greedy"]


def test_latent_paths_start_and_end_at_the_endpoints():
    a, b = torch.randn(6), torch.randn(6)
    for method in ("linear", "slerp"):
        path = latent_path(a, b, 5, method)
        assert path.shape == (5, 6)
        assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    with pytest.raises(TextVAEError, match="steps must be >= 2"):
        latent_path(a, b, 1)


def test_interpolation_endpoints_are_the_reconstructions(models):
    vae = TextVAE.from_pretrained(models[0], device="cpu")
    a, b = "the market fell", "stocks rose sharply"
    path = vae.interpolate(a, b, steps=5, method="slerp")
    assert len(path) == 5
    assert path[0] == vae.reconstruct([a])[0] and path[-1] == vae.reconstruct([b])[0]


def test_contrast_needs_a_vae_and_an_ae(models):
    vae = TextVAE.from_pretrained(models[0], device="cpu")
    ae = TextVAE.from_pretrained(models[1], device="cpu")
    result = contrast(vae, ae, "the market fell", n=3)
    assert len(result["vae_posterior_samples"]) == 3 and len(result["ae_random_z"]) == 3
    assert result["ae_reconstruction"] == ae.reconstruct(["the market fell"])[0]
    with pytest.raises(TextVAEError, match="must be an autoencoder"):
        contrast(vae, vae, "x")


def test_app_commands_print_json(models, capsys):
    vae, ae = (str(p) for p in models)
    assert main(["paraphrase", "--model", vae, "the market fell", "-n", "3", "--json", "--seed", "0",
                 "--strategy", "sample"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["input"] == "the market fell" and len(result["paraphrases"]) <= 3
    assert main(["interpolate", "--model", vae, "the market fell", "stocks rose", "--steps", "4", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["path"]) == 4
    assert main(["contrast", "--model", vae, "--ae-model", ae, "the market fell", "-n", "2", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) >= {"ae_reconstruction", "vae_prior_samples", "ae_random_z"}


class ScaledDraws:
    """A stand-in model whose draws depend only on the scale (`text(source, scale, i)`), recording each call."""

    def __init__(self, oversample: int) -> None:
        self.scales: list = []
        self.draws: list = []
        self.config = SimpleNamespace(paraphrase_oversample=oversample)
        self.lexicon = None  # no words known: none counts as invented

    def paraphrase_scale(self, scale):
        return 1.0 if scale is None else scale

    def paraphrase_decoding(self, strategy, **options):
        return strategy or "greedy", options

    def sampler(self, texts):
        def draw(n, scale, strategy, **options):
            self.scales.append(scale)
            self.draws.append(n)
            return iter([self.text(texts[0], scale, i) for i in range(n)])

        return draw


def test_paraphrase_widens_the_scale_when_every_draw_repeats_the_input():
    from textvae.apps.paraphrase import paraphrase

    class Sure(ScaledDraws):
        """Decodes the input itself at scale <= 1 and distinct texts beyond, like a model sure of a sentence."""

        def text(self, source, scale, i):
            return source if scale <= 1 else f"{source} {scale} {i}"

    model = Sure(oversample=3)
    out = paraphrase(model, "the market fell", n=2, rerank=False)
    assert model.scales == [1.0, 1.5] and out == ["the market fell 1.5 0", "the market fell 1.5 1"]
    assert model.draws == [6, 6]  # n * the model's paraphrase_oversample per scale
    model.scales.clear()
    assert paraphrase(model, "the market fell", n=2, rerank=False, widen=False) == [] and model.scales == [1.0]
    model.config.paraphrase_oversample = 5
    model.draws.clear()
    paraphrase(model, "the market fell", n=2, rerank=False, widen=False)
    paraphrase(model, "the market fell", n=2, rerank=False, widen=False, oversample=1)
    assert model.draws == [10, 2]
    with pytest.raises(TextVAEError, match="oversample must be > 0"):
        paraphrase(model, "the market fell", n=2, oversample=0)


def test_paraphrase_widens_the_scale_until_enough_draws_repeat_no_word():
    from textvae.apps.paraphrase import draw_candidates

    class Stutters(ScaledDraws):
        """At scale <= 1 says the input with its last word twice ("the market fell fell 0"), distinct each time;
        beyond, distinct texts that repeat nothing."""

        def text(self, source, scale, i):
            return f"{source} {source.split()[-1]} {i}" if scale <= 1 else f"a new wording {scale} {i}"

    model = Stutters(oversample=2)
    candidates = draw_candidates(model, "the market fell", n=2)
    assert model.scales == [1.0, 1.5]  # 4 distinct draws at the scale, none good: 4 more at 1.5x
    assert candidates == [f"the market fell fell {i}" for i in range(4)] + [f"a new wording 1.5 {i}" for i in range(4)]
    model.scales.clear()
    assert len(draw_candidates(model, "the market fell", n=2, widen=False)) == 4 and model.scales == [1.0]


def test_paraphrase_widens_the_scale_until_enough_draws_invent_no_word():
    from textvae.apps.paraphrase import draw_candidates
    from textvae.nlg.lexicon import Lexicon

    class Misspells(ScaledDraws):
        """At scale <= 1 spells a word it never saw ("the markett fell 0"); beyond, words it knows."""

        def text(self, source, scale, i):
            return f"the markett fell {i}" if scale <= 1 else f"a new wording {scale} {i}"

    model = Misspells(oversample=2)
    assert len(draw_candidates(model, "the market fell", n=2)) == 4 and model.scales == [1.0]  # no lexicon
    model.lexicon = Lexicon.of(["the market fell", "a new wording"])
    model.scales.clear()
    candidates = draw_candidates(model, "the market fell", n=2)
    assert model.scales == [1.0, 1.5] and candidates[4:] == [f"a new wording 1.5 {i}" for i in range(4)]


def test_rank_weighs_similarity_overlap_and_likelihood_as_the_model_says(word_tokenizer, tiny_config):
    from textvae.apps.paraphrase import RankFeatures, brevity, rank
    from textvae.errors import ConfigError

    features = RankFeatures(similarity=[0.9, 0.8], overlap=[1.0, 0.2], nll=[1.0, 3.0])
    assert features.scores() == [0.9, 0.8]  # no weights: by similarity alone
    assert features.scores(overlap=0.5) == pytest.approx([0.4, 0.7])  # copying the input costs
    assert features.scores(likelihood=0.1) == pytest.approx([0.8, 0.5])  # so does what the model finds unlikely
    recovered = RankFeatures(similarity=[0.9, 0.8], overlap=[1.0, 0.2], nll=None, recovery=[4.0, 1.0])
    assert recovered.scores(recovery=0.1) == pytest.approx([0.5, 0.7])  # and losing what the input says
    short = RankFeatures(similarity=[0.9, 0.8], overlap=[1.0, 0.2], nll=None, brevity=[0.5, 0.0])
    assert short.scores(brevity=0.4) == pytest.approx([0.7, 0.8])  # and dropping part of it
    repeating = RankFeatures(similarity=[0.9, 0.8, 0.7], overlap=[0.0] * 3, nll=None, repeats=[1, 0, 0])
    assert repeating.order() == [1, 2, 0]  # a candidate that repeats a word goes after the others, however similar
    assert RankFeatures(similarity=[0.7, 0.9], overlap=[0.0] * 2, nll=None).order() == [1, 0]  # repeats not counted
    assert brevity("why do people cry ?", "why do onions make people cry ?") == pytest.approx(2 / 7)
    assert brevity("how do I cook rice well at home ?", "how do I cook rice ?") == 0.0  # longer is not penalised
    torch.manual_seed(0)
    model = TextVAE(tiny_config, word_tokenizer).eval()
    text, candidates = "the market fell", ["the market fell again", "prices went down", "stocks"]
    plain = RankFeatures.of(model, text, candidates, with_nll=False)
    assert plain.nll is None and plain.overlap[0] > plain.overlap[1] == 0.0
    assert plain.repeats == [0, 0, 0]
    by_similarity = rank(model, text, candidates)
    assert by_similarity == [c for _, c in sorted(zip(plain.similarity, candidates), key=lambda p: -p[0])]
    model.config = dataclasses.replace(model.config, rerank_overlap=100.0)
    assert rank(model, text, candidates)[-1] == "the market fell again"  # the copy goes last
    model.config = dataclasses.replace(model.config, rerank_overlap=0.0, rerank_likelihood=100.0)
    nll = model.candidate_nll(text, candidates)
    assert rank(model, text, candidates) == [c for _, c in sorted(zip(nll, candidates))]
    model.config = dataclasses.replace(model.config, rerank_likelihood=0.0, rerank_recovery=1e4)
    back = model.source_nll(text, candidates)
    assert rank(model, text, candidates) == [c for _, c in sorted(zip(back, candidates))]
    model.config = dataclasses.replace(model.config, rerank_recovery=0.0, rerank_brevity=100.0)
    assert rank(model, text, candidates)[-1] == "stocks"  # the one much shorter than the input goes last
    with pytest.raises(ConfigError, match="rerank_overlap must be >= 0"):
        dataclasses.replace(model.config, rerank_overlap=-1.0).validate()


def test_rank_puts_a_candidate_that_repeats_a_word_last_however_similar(word_tokenizer, tiny_config, monkeypatch):
    import importlib

    app = importlib.import_module("textvae.apps.paraphrase")  # the module: textvae.apps exports its function
    model = TextVAE(tiny_config, word_tokenizer).eval()
    candidates = ["the market fell fell", "prices went down", "stocks"]
    monkeypatch.setattr(app, "cosine_to", lambda model, text, outputs: [0.99, 0.5, 0.2][: len(outputs)])
    assert app.rank(model, "the market fell", candidates) == ["prices went down", "stocks", "the market fell fell"]


def test_rank_puts_a_candidate_that_invents_a_word_last_however_similar(word_tokenizer, tiny_config, monkeypatch):
    import importlib

    from textvae.nlg.lexicon import Lexicon

    app = importlib.import_module("textvae.apps.paraphrase")
    model = TextVAE(tiny_config, word_tokenizer, Lexicon.of(["the market fell", "prices went down"])).eval()
    candidates = ["the marklet fell", "the markets fell", "prices went down"]
    monkeypatch.setattr(app, "cosine_to", lambda model, text, outputs: [0.99, 0.9, 0.5][: len(outputs)])
    assert app.RankFeatures.of(model, "the market fell", candidates, with_nll=False).invented == [1, 0, 0]
    assert app.rank(model, "the market fell", candidates) == ["the markets fell", "prices went down",
                                                              "the marklet fell"]
    model.lexicon = None  # a model saved without a lexicon ranks by the score alone
    assert app.rank(model, "the market fell", candidates) == candidates
