"""Decoded text without tokenization spaces, and truecased: the functions, and models that ask for them in their config."""

import dataclasses

import pytest
import torch

from textvae.nlg.spacing import clean_up_tokenization


@pytest.mark.parametrize(("text", "clean"), [
    ("I'm sorry , I can't come to your party .", "I'm sorry, I can't come to your party."),
    ("sorry , i do n't know .", "sorry, i don't know."),
    ("it 's fine , you 'll see !", "it's fine, you'll see!"),
    ("It costs $ 5 ( about 4 euros ) .", "It costs $5 (about 4 euros)."),
    ("Wait ... what ?", "Wait... what?"),
    ("Is it 3.5 or 4?", "Is it 3.5 or 4?"),  # already clean: unchanged
    ("press the 'd' key", "press the 'd' key"),  # a quoted letter is not a clitic
    ("I ’ m sure they won ’ t .", "I’m sure they won’t."),
    ("the ’ mad ’ king", "the ’ mad ’ king"),  # a curly quote is not a clitic
])
def test_clean_up_tokenization_removes_the_spaces_tokenized_text_puts_before_punctuation(text, clean):
    assert clean_up_tokenization(text) == clean


def test_a_model_cleans_what_it_decodes_only_when_its_config_asks(tiny_config):
    from textvae import TextVAE
    from textvae.data.tokenizers import WordTokenizer

    tokenizer = WordTokenizer.train(["sorry , i do n't know .", "yes , it 's here !"])
    torch.manual_seed(0)
    model = TextVAE(tiny_config, tokenizer).eval()
    ids = tokenizer.encode("sorry , i do n't know .")
    assert model.detokenize(ids) == "sorry , i do n't know ."
    z = torch.randn(40, tiny_config.latent_dim)
    raw = model.decode(z, strategy="sample")
    assert any(" ," in t or " ." in t or " !" in t for t in raw)  # a random decoder says punctuation somewhere
    model.config = dataclasses.replace(model.config, clean_up_tokenization_spaces=True)
    assert model.detokenize(ids) == "sorry, i don't know."
    torch.manual_seed(1)
    cleaned = model.decode(z, strategy="sample")
    assert cleaned and not any(" ," in t or " ." in t or " !" in t for t in cleaned)


def test_a_model_of_lower_cased_text_truecases_what_it_decodes_when_its_config_asks(tiny_config, tmp_path):
    from textvae import TextVAE
    from textvae.data.tokenizers import WordTokenizer
    from textvae.errors import CheckpointError
    from textvae.nlg.lexicon import LEXICON_FILE, Lexicon

    texts = ["Sorry , I don't know Mary .", "Yes , I met Mary here !"]
    tokenizer = WordTokenizer.train(texts, lowercase=True)
    model = TextVAE(tiny_config, tokenizer, Lexicon.of(texts)).eval()
    ids = tokenizer.encode("sorry , i don't know mary .")
    assert model.detokenize(ids) == "sorry , i don't know mary ."
    model.config = dataclasses.replace(model.config, truecase=True, clean_up_tokenization_spaces=True)
    assert model.detokenize(ids) == "Sorry, I don't know Mary."
    model.save_pretrained(tmp_path / "cased")
    assert TextVAE.from_pretrained(tmp_path / "cased", device="cpu").detokenize(ids) == "Sorry, I don't know Mary."
    (tmp_path / "cased" / LEXICON_FILE).unlink()
    with pytest.raises(CheckpointError, match="truecasing but the folder has no lexicon.txt"):
        TextVAE.from_pretrained(tmp_path / "cased", device="cpu")
