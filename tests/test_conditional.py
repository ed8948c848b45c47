import pytest
import torch

from textvae import TextVAE
from textvae.config import load_experiment
from textvae.data.corpus import load_dialogue_pairs, load_pairs
from textvae.errors import ConfigError, DataError, TextVAEError
from textvae.latent import DiagonalGaussian
from textvae.models import ConditionalTextVAE
from textvae.training import train


def test_kl_between_gaussians_matches_the_standard_normal_case_and_is_zero_for_equal():
    torch.manual_seed(0)
    q = DiagonalGaussian(torch.randn(4, 3), torch.randn(4, 3))
    prior = DiagonalGaussian(torch.zeros(4, 3), torch.zeros(4, 3))
    assert torch.allclose(q.kl_to(prior), q.kl_per_dim(), atol=1e-6)
    assert torch.allclose(q.kl_to(q), torch.zeros(4, 3), atol=1e-6)
    assert (q.kl_to(DiagonalGaussian(torch.ones(4, 3), torch.full((4, 3), 0.5))) >= 0).all()


def test_pair_loaders(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("how are you ?\thow do you do ?\n\tmissing source\n")
    assert load_pairs(tsv, 0, 1) == (["how are you ?"], ["how do you do ?"])
    dialogue = tmp_path / "dialogues.txt"
    dialogue.write_text("hi there . __eou__ hello ! __eou__ how are you ? __eou__\n")
    assert load_dialogue_pairs(dialogue) == (["hi there .", "hello !"], ["hello !", "how are you ?"])
    # with two turns of context, a response reads the two turns before it (fewer at the start)
    assert load_dialogue_pairs(dialogue, 2) == (["hi there .", "hi there . hello !"], ["hello !", "how are you ?"])
    dialogue.write_text("no markers here\n")
    with pytest.raises(DataError, match="not a dialogue line"):
        load_dialogue_pairs(dialogue)


def test_conditional_model_needs_paired_data():
    with pytest.raises(ConfigError, match="needs paired data"):
        load_experiment(None, ["model.type=conditional_vae"])


@pytest.mark.parametrize("prior", ["standard", "learned"])
def test_cvae_trains_on_pairs_saves_and_generates(tmp_path, prior, capsys):
    from conftest import ptb_lines

    lines = ptb_lines("train", 160)
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("".join(f"{a}\t{b}\n" for a, b in zip(lines[::2], lines[1::2])))
    overrides = [
        f"data.train={tsv}", "data.source_column=0", "data.column=1", "data.valid_fraction=0.1",
        "data.tokenizer=word", "model.type=conditional_vae", f"model.prior={prior}", "model.encoder=gru",
        "model.embed_dim=32", "model.hidden_dim=32", "model.latent_dim=4", "model.condition_dim=16",
        "model.max_length=10", "train.epochs=2", "train.batch_size=16"]
    model = train(load_experiment(None, overrides), tmp_path / "run", show_progress=False)
    assert isinstance(model, ConditionalTextVAE)
    loaded = TextVAE.from_pretrained(tmp_path / "run", device="cpu")
    assert isinstance(loaded, ConditionalTextVAE) and loaded.config.prior == prior
    torch.manual_seed(0)
    outputs = loaded.generate(["the market fell", "stocks rose"], n=3, strategy="sample")
    assert len(outputs) == 2 and all(len(group) == 3 for group in outputs)
    torch.manual_seed(1)
    first = loaded.respond("the market fell", n=3, strategy="sample")
    torch.manual_seed(1)
    assert loaded.respond("the market fell", n=3, strategy="sample") == first and len(first) == 3
    assert len(loaded.paraphrase("the market fell", n=2)) <= 2
    with pytest.raises(TextVAEError, match="samples given a source"):
        loaded.sample(2)
    from textvae.cli.main import main

    assert main(["train", "--output", str(tmp_path / "cli"), "--quiet",  # the CLI trains conditional models too
                 *sum((["--set", o] for o in overrides[:-2] + ["train.epochs=1"]), [])]) == 0
    assert main(["respond", "--model", str(tmp_path / "run"), "the market fell", "-n", "2", "--json"]) == 0
    for seed in ("1", "2"):  # --deterministic: the one reply from the prior mean, whatever the seed
        assert main(["respond", "--model", str(tmp_path / "run"), "stocks rose", "the market fell",
                     "--deterministic", "--jsonl", "--seed", seed]) == 0
    lines = capsys.readouterr().out.strip().splitlines()[-2:]
    assert lines[0] == lines[1] and lines[0].startswith('{"text"')
    assert loaded.reply_decoding() == ("greedy", {})  # replies default to greedy decodes of each z
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "nucleus"),
                 "--reply-top-p", "0.9", "--rerank-overlap", "0.125", "--rerank-likelihood", "0.5",
                 "--paraphrase-beam", "3", "--rerank-brevity", "0.25"]) == 0
    nucleus = TextVAE.from_pretrained(tmp_path / "nucleus", device="cpu")
    assert (nucleus.config.rerank_overlap, nucleus.config.rerank_likelihood) == (0.125, 0.5)
    assert nucleus.paraphrase_decoding() == ("beam", {"beam_size": 3}) and nucleus.config.rerank_brevity == 0.25
    assert len(nucleus.paraphrase("the market fell", n=2)) <= 2  # ranked with those weights
    assert nucleus.reply_decoding() == ("sample", {"top_p": 0.9})
    assert nucleus.reply_decoding("greedy") == ("greedy", {}) and nucleus.reply_decoding(top_p=0.5)[1] == {"top_p": 0.5}
    assert main(["respond", "--model", str(tmp_path / "nucleus"), "the market fell", "-n", "2", "--json"]) == 0
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "bad"),
                 "--reply-top-p", "1.5"]) == 2 and not (tmp_path / "bad").exists()
    for bad in (["--rerank-likelihood", "-1"], ["--paraphrase-beam", "-1"], ["--rerank-brevity", "-0.5"]):
        assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "bad"), *bad]) == 2
        assert not (tmp_path / "bad").exists()
    assert main(["evaluate", "--model", str(tmp_path / "run"), "--data", str(tsv), "--source-column", "0",
                 "--column", "1"]) == 0
    assert main(["evaluate", "--model", str(tmp_path / "run"), "--data", str(tsv)]) == 2


def test_deterministic_seq2seq_has_no_kl_and_gives_one_answer(tmp_path, word_tokenizer, tiny_config):
    import dataclasses

    model = ConditionalTextVAE(dataclasses.replace(tiny_config, type="conditional_vae", variational=False),
                               word_tokenizer).eval()
    batch = model.make_batch(["the market fell", "stocks rose"])
    batch["source_texts"] = ["prices went down", "shares went up"]
    assert model(batch).kl_per_dim is None
    answers = model.generate(["prices went down"], n=3)[0]
    assert len(set(answers)) == 1


@pytest.mark.parametrize(("variational", "decoder"), [(True, "gru"), (False, "gru"), (True, "transformer")])
def test_source_attention_trains_reloads_identically_and_decodes(tmp_path, variational, decoder):
    from conftest import ptb_lines

    lines = ptb_lines("train", 120)
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("".join(f"{a}\t{b}\n" for a, b in zip(lines[::2], lines[1::2])))
    config = load_experiment(None, [
        f"data.train={tsv}", "data.source_column=0", "data.column=1", "data.tokenizer=word",
        "model.type=conditional_vae", "model.prior=learned", "model.encoder=gru", "model.source_attention=true",
        f"model.variational={str(variational).lower()}", f"model.decoder={decoder}", "model.num_heads=2",
        "model.num_layers=1", "model.ff_dim=32", "model.embed_dim=16", "model.hidden_dim=24",
        "model.latent_dim=4", "model.condition_dim=8", "model.max_length=8", "train.epochs=1", "train.batch_size=16"])
    model = train(config, tmp_path / "run", show_progress=False)
    assert model.source_tokens is not None and model.decoder.attention is not None
    loaded = TextVAE.from_pretrained(tmp_path / "run", device="cpu")
    batch = loaded.make_batch(["the market fell sharply"])
    batch["source_texts"] = ["stocks went down"]
    torch.manual_seed(0)
    expected = model.eval()(batch).reconstruction
    torch.manual_seed(0)
    assert torch.equal(loaded.eval()(batch).reconstruction, expected)
    for strategy in ("greedy", "sample", "beam"):
        outputs = loaded.generate(["stocks went down", "the market fell"], n=2, strategy=strategy)
        assert len(outputs) == 2 and all(len(group) == 2 for group in outputs)


def test_source_attention_needs_a_conditional_model():
    with pytest.raises(ConfigError, match="source_attention needs model.type: conditional_vae"):
        load_experiment(None, ["model.source_attention=true"])


@pytest.mark.parametrize("decoder", ["gru", "transformer"])
def test_copy_decoder_training_loss_matches_decoding_and_is_a_distribution(word_tokenizer, tiny_config, decoder):
    import dataclasses

    from textvae.data.tokenizers import BOS

    torch.manual_seed(0)
    config = dataclasses.replace(tiny_config, type="conditional_vae", prior="learned", source_attention=True,
                                 copy=True, decoder=decoder)
    model = ConditionalTextVAE(config, word_tokenizer).eval()
    sources, targets = ["the market fell sharply", "stocks rose"], ["the market went down", "stocks rose again"]
    batch = model.make_batch(targets)
    memory = model.source_memory(sources)
    z = torch.randn(2, config.latent_dim + config.condition_dim)
    with torch.no_grad():
        nll = model.reconstruction_nll(batch, z, memory=memory)
        state = {**model.decoder.init_state(z, 2), **memory}
        tokens, stepwise = torch.full((2,), BOS), torch.zeros(2)
        for t in range(batch["target_ids"].shape[1]):
            log_probs, state = model.decoder.step(tokens, state)
            assert torch.allclose(log_probs.exp().sum(-1), torch.ones(2), atol=1e-4)
            tokens = batch["target_ids"][:, t]
            real = tokens != 0
            stepwise += torch.where(real, -log_probs.gather(1, tokens[:, None])[:, 0], 0.0)
    assert torch.allclose(nll, stepwise, atol=1e-3)
    # the copy term is used: words of the source get more probability than without it
    with torch.no_grad():
        model.decoder.copy_gate.bias.fill_(-20.0)  # p_gen ~ 0: all mass on copying
        log_probs, _ = model.decoder.step(torch.full((2,), BOS), {**model.decoder.init_state(z, 2), **memory})
    source_ids = memory["memory_ids"][0][memory["memory_mask"][0]]
    assert log_probs[0].exp()[source_ids].sum() > 0.99


def test_copy_needs_source_attention():
    with pytest.raises(ConfigError, match="model.copy needs model.source_attention"):
        load_experiment(None, ["model.type=conditional_vae", "model.copy=true"])


def test_both_directions_holds_each_pair_both_ways_on_each_side_of_the_split(tmp_path):
    from textvae.training.texts import split_texts

    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("".join(f"source {i}\ttarget {i}\n" for i in range(10)))
    config = load_experiment(None, [f"data.train={tsv}", "data.source_column=0", "data.column=1",
                                    "data.valid_fraction=0.2", "data.both_directions=true",
                                    "model.type=conditional_vae", "model.encoder=gru"])
    (texts, sources), (valid_texts, valid_sources) = split_texts(config)
    assert texts[:2] == ["target 0", "source 0"] and sources[:2] == ["source 0", "target 0"] and len(texts) == 16
    assert sorted(valid_texts) == ["source 8", "source 9", "target 8", "target 9"]
    with pytest.raises(ConfigError, match="data.both_directions needs pairs"):
        load_experiment(None, ["data.both_directions=true"])


def copying_cvae(tiny_config, word_tokenizer) -> ConditionalTextVAE:
    """A small conditional VAE with a learned prior, source attention and copying, in eval mode (seeded)."""
    import dataclasses

    torch.manual_seed(0)
    config = dataclasses.replace(tiny_config, type="conditional_vae", prior="learned", source_attention=True,
                                 copy=True)
    return ConditionalTextVAE(config, word_tokenizer).eval()


SOURCE, CANDIDATES = "the market fell sharply", ["the market went down", "stocks rose again today"]


def test_candidate_nll_is_the_decoders_loss_from_the_sources_prior_mean(word_tokenizer, tiny_config):
    model = copying_cvae(tiny_config, word_tokenizer)
    source, candidates = SOURCE, CANDIDATES
    with torch.no_grad():
        h = model.encoder(model.make_batch([source])).float()
        latents = model._latent_input(model.prior(h).mu, h).expand(2, -1)
        memory = {k: v.expand(2, *v.shape[1:]) for k, v in model.source_memory([source]).items()}
        batch = model.make_batch(candidates)
        expected = model.reconstruction_nll(batch, latents, memory=memory) / (batch["target_ids"] != 0).sum(1)
    assert torch.allclose(torch.tensor(model.candidate_nll(source, candidates)), expected, atol=1e-5)
    # one candidate at a time gives the same numbers as a batch (padding does not leak into the loss)
    assert model.candidate_nll(source, candidates[1:], batch_size=1)[0] == pytest.approx(expected[1].item(), abs=1e-5)


def test_source_nll_scores_the_source_from_each_candidates_prior_mean(word_tokenizer, tiny_config):
    model = copying_cvae(tiny_config, word_tokenizer)
    source, candidates = SOURCE, CANDIDATES
    back = model.source_nll(source, candidates, batch_size=1)
    for candidate, got in zip(candidates, back):  # the reverse direction: each candidate as the source
        assert got == pytest.approx(model.candidate_nll(candidate, [source])[0], abs=1e-5)
    assert model.source_nll(source, candidates) == pytest.approx(back, abs=1e-5)  # batched as one at a time


def test_token_novelty_counts_the_targets_tokens_its_source_lacks():
    from textvae.models.control import token_novelty

    targets = torch.tensor([[5, 6, 7, 2, 0], [5, 5, 2, 0, 0]])  # EOS = 2 and PAD = 0 are not tokens
    sources = torch.tensor([[5, 6, 2], [9, 2, 0]])
    assert token_novelty(targets, sources).tolist() == pytest.approx([1 / 3, 1.0])


def test_control_is_read_from_each_pair_in_training_and_from_the_config_in_generation(tmp_path, word_tokenizer,
                                                                                      tiny_config):
    import dataclasses

    torch.manual_seed(0)
    config = dataclasses.replace(tiny_config, type="conditional_vae", prior="learned", source_attention=True,
                                 copy=True, control=True, control_similarity=0.8, control_novelty=0.5)
    model = ConditionalTextVAE(config, word_tokenizer).eval()
    batch = model.make_batch(["the market fell", "stocks rose"])
    batch["source_texts"] = ["the market fell", "shares went up"]
    h_source = model.source_features(batch)
    control = model.control(batch, model.encoder(batch).float(), h_source, model.source_memory(batch["source_texts"]))
    assert control[0].tolist() == pytest.approx([1.0, 0.0], abs=1e-5)  # a copy: same features, no new token
    assert control[1, 1].item() == pytest.approx(1.0)  # no word of "stocks rose" is in "shares went up"
    # the pair's control reaches the prior and the decoder: another control, another loss
    torch.manual_seed(0)
    loss = model(batch).reconstruction
    seen = []
    original = model.control
    model.control = lambda *args: original(*args).flip(0)
    torch.manual_seed(0)
    seen.append(model(batch).reconstruction)
    model.control = original
    assert not torch.allclose(loss, seen[0])
    # generation asks for the configured values, and a saved model reads them back
    assert model.requested(h_source).tolist() == [pytest.approx([0.8, 0.5])] * 2
    model.save_pretrained(tmp_path / "m")
    loaded = TextVAE.from_pretrained(tmp_path / "m", device="cpu")
    assert loaded.config.control and loaded.config.control_novelty == 0.5
    assert len(loaded.generate(["the market fell"], n=2)[0]) == 2
    assert len(loaded.paraphrase("the market fell", n=2, strategy="beam", beam_size=2)) <= 2
    # a controlled twin asks for other values and shares the weights; the model itself is unchanged
    twin = loaded.controlled(novelty=0.9)
    assert (twin.config.control_similarity, twin.config.control_novelty) == (0.8, 0.9)
    assert loaded.config.control_novelty == 0.5 and twin.decoder is loaded.decoder
    assert twin.requested(h_source)[0, 1].item() == pytest.approx(0.9)
    with pytest.raises(ConfigError, match="control_novelty"):
        loaded.controlled(novelty=-0.1)
    # export sets what generation asks for; a model trained without control refuses the flags
    from textvae.cli.main import main

    assert main(["export", "--model", str(tmp_path / "m"), "--output", str(tmp_path / "x"),
                 "--control-similarity", "0.7", "--control-novelty", "0.6"]) == 0
    exported = TextVAE.from_pretrained(tmp_path / "x", device="cpu").config
    assert (exported.control_similarity, exported.control_novelty) == (0.7, 0.6)
    assert main(["export", "--model", str(tmp_path / "x"), "--output", str(tmp_path / "bad"),
                 "--control-novelty", "2"]) == 2
    plain = ConditionalTextVAE(dataclasses.replace(config, control=False), word_tokenizer)
    plain.save_pretrained(tmp_path / "plain")
    assert main(["export", "--model", str(tmp_path / "plain"), "--output", str(tmp_path / "bad"),
                 "--control-novelty", "0.5"]) == 2
    assert not (tmp_path / "bad").exists()
    with pytest.raises(TextVAEError, match="model.control: true"):
        plain.controlled(novelty=0.5)
    assert main(["paraphrase", "--model", str(tmp_path / "x"), "the market fell", "-n", "2", "--novelty", "0.9",
                 "--strategy", "greedy"]) == 0
    assert main(["paraphrase", "--model", str(tmp_path / "plain"), "the market fell", "--novelty", "0.5"]) == 2


def test_control_needs_a_conditional_model_and_values_in_range():
    with pytest.raises(ConfigError, match="model.control needs model.type: conditional_vae"):
        load_experiment(None, ["model.control=true"])
    with pytest.raises(ConfigError, match="control_novelty must be in"):
        load_experiment(None, ["model.type=conditional_vae", "model.control=true", "model.control_novelty=1.5"])


def test_each_drawn_output_is_detokenized_with_the_source_it_rewrites(monkeypatch):
    from textvae.config import ModelConfig
    from textvae.data import train_tokenizer

    texts = ["the market fell", "stocks rose", "prices held"]
    config = ModelConfig(type="conditional_vae", encoder="gru", embed_dim=8, hidden_dim=8, latent_dim=2,
                         condition_dim=4, max_length=4)
    model = ConditionalTextVAE(config, train_tokenizer("word", texts, 0, False))
    seen = []
    monkeypatch.setattr(model, "detokenize", lambda ids, source="": seen.append(source) or "x")
    torch.manual_seed(0)
    assert list(model.sampler(texts)(n=2, batch_size=4)) == ["x"] * 6  # decoded in parts of 4 rows
    assert seen == ["the market fell"] * 2 + ["stocks rose"] * 2 + ["prices held"] * 2
