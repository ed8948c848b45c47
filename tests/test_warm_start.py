"""A decoder that starts from the pretrained encoder: its vocabulary (`data.tokenizer: pretrained`) and its weights
(`model.decoder_init: encoder`)."""

import dataclasses

import pytest
import torch
from safetensors import safe_open

from textvae import TextVAE
from textvae.config import ModelConfig, load_experiment
from textvae.data.tokenizers import BOS, EOS, PAD, UNK, PretrainedTokenizer, load_tokenizer, train_tokenizer
from textvae.errors import ConfigError
from textvae.models import ConditionalTextVAE
from textvae.training.trainer import parameter_groups


@pytest.fixture(scope="module")
def wordpiece():
    return train_tokenizer("pretrained", [], 0, False, "minilm")


def test_pretrained_tokenizer_maps_the_specials_and_writes_words_back(wordpiece, tmp_path):
    hf = wordpiece.hf
    assert [wordpiece.pretrained_ids[i] for i in (PAD, BOS, EOS, UNK)] == [
        hf.pad_token_id, hf.cls_token_id, hf.sep_token_id, hf.unk_token_id]
    assert wordpiece.vocab_size == len(hf) and sorted(wordpiece.pretrained_ids) == list(range(len(hf)))
    ids = wordpiece.encode("Is e-mail 2.5 times faster than 1,000 letters?")
    assert BOS not in ids and EOS not in ids
    # uncased WordPiece: the words come back lower-cased, joined where the tokenizer split them
    assert wordpiece.decode([BOS, *ids, EOS, PAD]) == "is e-mail 2.5 times faster than 1,000 letters?"
    assert wordpiece.decode(ids + [EOS] + ids) == wordpiece.decode(ids)  # stops at the end token
    (tmp_path / "pretrained_tokenizer").mkdir()  # a copy of the files that an earlier save left
    wordpiece.save(tmp_path)
    assert not (tmp_path / "pretrained_tokenizer").exists()  # only the name is saved: the files load from it
    loaded = load_tokenizer(tmp_path)
    assert isinstance(loaded, PretrainedTokenizer) and loaded.name == "minilm"
    assert loaded.encode("Why is the sky blue?") == wordpiece.encode("Why is the sky blue?")
    wordpiece.hf.save_pretrained(tmp_path / "pretrained_tokenizer")  # a folder with its own copy reads that
    assert load_tokenizer(tmp_path).encode("Why is the sky blue?") == wordpiece.encode("Why is the sky blue?")
    wordpiece.save(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"kind": "pretrained", "name": "no/such-model"}')
    with pytest.raises(ConfigError, match="cannot load tokenizer 'no/such-model'"):
        load_tokenizer(tmp_path)


def test_an_unknown_pretrained_tokenizer_fails_clearly():
    with pytest.raises(ConfigError, match="cannot load tokenizer 'no/such-model'"):
        train_tokenizer("pretrained", [], 0, False, "no/such-model")


def _config(**changes) -> ModelConfig:
    base = dict(type="conditional_vae", prior="learned", encoder="minilm", decoder="transformer",
                decoder_init="encoder", num_layers=2, source_attention=True, copy=True, latent_dim=8,
                condition_dim=16, hidden_dim=32, max_length=12)
    return ModelConfig(**{**base, **changes})


def test_the_decoder_starts_from_minilm_and_saves_and_loads(wordpiece, tmp_path):
    torch.manual_seed(0)
    model = ConditionalTextVAE(_config(), wordpiece)
    decoder, minilm = model.decoder, model.encoder.model
    # shaped like MiniLM, its output tied to the pretrained word embeddings in the tokenizer's order
    assert (model.config.embed_dim, model.config.num_heads, model.config.ff_dim) == (384, 12, 1536)
    assert decoder.output.weight is decoder.embedding.weight
    the = wordpiece.encode("the")[0]
    assert torch.equal(decoder.embedding.weight[the], minilm.embeddings.word_embeddings.weight[
        wordpiece.pretrained_ids[the]])
    assert torch.equal(decoder.embedding.weight[BOS], minilm.embeddings.word_embeddings.weight[
        wordpiece.hf.cls_token_id])
    layer = minilm.encoder.layer[1]
    assert torch.equal(decoder.blocks[1].self_attn.q.weight, layer.attention.self.query.weight)
    assert torch.equal(decoder.blocks[1].self_attn.kv.weight[384:], layer.attention.self.value.weight)
    assert torch.equal(decoder.blocks[1].mlp[2].weight, layer.output.dense.weight)
    assert model.source_tokens.embedding is decoder.embedding  # the question's reader shares the table
    model.eval()
    nll = model.candidate_nll("which city is peru's capital?", ["what is the capital of peru?", "peru"])
    assert all(0 < value < 50 for value in nll)
    model.save_pretrained(tmp_path)
    loaded = TextVAE.from_pretrained(tmp_path, device="cpu")
    assert isinstance(loaded.tokenizer, PretrainedTokenizer) and loaded.config.decoder_init == "encoder"
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name
    assert len(loaded.paraphrase("what is the capital of peru?", n=2)) == 2


def test_a_frozen_decoder_table_stays_minilms_and_is_not_saved(wordpiece, tmp_path):
    torch.manual_seed(0)
    model = ConditionalTextVAE(_config(freeze_decoder_embeddings=True), wordpiece)
    table = model.decoder.embedding.weight
    optimized = [p for group in parameter_groups(model, None) for p in group["params"]]
    assert not any(p is table for p in optimized)  # the optimizer never sees the table
    assert any(p is model.decoder.blocks[0].mlp[0].weight for p in optimized)
    with torch.no_grad():
        model.decoder.blocks[0].mlp[0].weight.add_(0.5)  # a trained weight, changed: it must be saved
    model.save_pretrained(tmp_path, dtype=torch.int8)
    saved = set(safe_open(tmp_path / "model.safetensors", "pt").keys())
    assert not {"decoder.embedding.weight", "decoder.output.weight", "source_tokens.embedding.weight"} & saved
    loaded = TextVAE.from_pretrained(tmp_path, device="cpu")
    assert torch.equal(loaded.decoder.embedding.weight, table)  # reloaded from MiniLM itself
    assert loaded.source_tokens.embedding is loaded.decoder.embedding
    step = model.decoder.blocks[0].mlp[0].weight
    assert torch.allclose(loaded.decoder.blocks[0].mlp[0].weight, step, atol=step.abs().max().item() / 200)
    assert len(loaded.paraphrase("what is the capital of peru?", n=2)) == 2


def test_a_table_saved_as_a_low_rank_difference_loads_back_as_its_best_approximation(wordpiece, tmp_path):
    torch.manual_seed(0)
    model = ConditionalTextVAE(_config(), wordpiece).eval()
    start = model.decoder.embedding.weight.detach().clone()  # MiniLM's table
    left, right = torch.randn(30522, 3), torch.randn(3, 384)
    with torch.no_grad():  # training moved the table by a rank-3 difference and a little noise
        model.decoder.embedding.weight.add_(0.01 * left @ right + 1e-4 * torch.randn_like(start))
    trained = model.decoder.embedding.weight.detach().clone()
    model.config = dataclasses.replace(model.config, decoder_table_rank=3)
    model.save_pretrained(tmp_path)
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "started from the encoder's embeddings and bottom 2 layers" in card and "rank-3 difference" in card
    saved = safe_open(tmp_path / "model.safetensors", "pt")
    assert "decoder.embedding.weight" not in saved.keys()
    assert saved.get_slice("decoder.embedding.weight.rank_left").get_shape() == [3, 30522]
    loaded = TextVAE.from_pretrained(tmp_path, device="cpu")
    table = loaded.decoder.embedding.weight
    assert loaded.decoder.output.weight is table and loaded.source_tokens.embedding.weight is table
    assert (table - trained).abs().max() < 2e-3 < (start - trained).abs().max()  # the noise alone is lost
    for name, value in model.state_dict().items():  # every other weight exactly as saved
        if "embedding" not in name and not name.startswith("decoder.output.weight"):
            assert torch.equal(value, loaded.state_dict()[name]), name
    with pytest.raises(ConfigError, match="decoder_table_rank needs model.decoder_init: encoder"):
        _config(decoder_init="random", decoder_table_rank=3).validate()


def test_decoder_init_needs_a_transformer_decoder_and_the_encoders_vocabulary(wordpiece):
    with pytest.raises(ConfigError, match="needs model.decoder: transformer"):
        _config(decoder="gru").validate()
    with pytest.raises(ConfigError, match="must be random or encoder"):
        _config(decoder_init="bert").validate()
    with pytest.raises(ConfigError, match="needs the encoder's vocabulary"):
        load_experiment(None, ["data.train=x.tsv", "data.source_column=0", "data.column=1",
                               "model.type=conditional_vae", "model.decoder=transformer",
                               "model.decoder_init=encoder"])
    with pytest.raises(ConfigError, match="freeze_decoder_embeddings needs model.decoder_init: encoder"):
        _config(decoder_init="random", freeze_decoder_embeddings=True).validate()
    words = train_tokenizer("word", ["a b c"], 0, False)
    with pytest.raises(ConfigError, match="needs the vocabulary of model.encoder"):
        ConditionalTextVAE(_config(), words)
