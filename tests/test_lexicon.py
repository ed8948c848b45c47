import pytest

from textvae.nlg.lexicon import LEXICON_FILE, Lexicon, words


def test_words_are_lower_cased_runs_of_letters_without_a_possessive():
    assert words("Does Pepto-Bismol help? It's Sam's 2nd try.") == {
        "does", "pepto", "bismol", "help", "it", "sam", "nd", "try"}
    assert words("I won ’ t go , I’m tired") == {"i", "won", "t", "go", "i’m", "tired"}


def test_invented_words_are_those_neither_the_lexicon_nor_the_source_holds():
    lexicon = Lexicon.of(["How do examples help?", "Why is gas cheap? A cent or two.", "What are the tachyons?"])
    assert lexicon.invented("Does Pepto-Bismism help with gas?", "Does Pepto-Bismol help with gas?") == ["bismism"]
    assert lexicon.invented("How do exampless help?") == ["exampless"]
    # a word of the source (a name copied over) is not invented, nor is an inflection of a known word
    assert lexicon.invented("Does Pepto-Bismol help?", "Does Pepto-Bismol help with gas?") == []
    assert lexicon.invented("What is the tachyon? The example.") == []
    assert lexicon.invented("Why is the gas's help cheap, 40 cents or 400?") == []


def test_a_lexicon_saves_as_one_word_per_line_in_its_casing_and_loads_back(tmp_path):
    lexicon = Lexicon.of(["the market fell", "Stocks rose after I met Mary"])
    lexicon.save(tmp_path)
    assert (tmp_path / LEXICON_FILE).read_text(encoding="utf-8") == (
        "after\nfell\nI\nmarket\nMary\nmet\nrose\nstocks\nthe\n")
    assert Lexicon.load(tmp_path) == lexicon
    assert Lexicon.load(tmp_path / "elsewhere") is None


def test_truecasing_gives_each_word_its_commonest_casing_inside_a_sentence():
    lexicon = Lexicon.of(["I think Mary's right.", "Mary and I watch TV.", "Well, I know. Well done, Tv fans!",
                          "Sure, I'm told the tv is on."])
    # "Well" is only ever first in its sentence: its capital says nothing; "TV" beats "tv" and "Tv" two to one
    assert lexicon.cased == {"i": "I", "mary": "Mary", "tv": "TV", "i'm": "I'm"}
    assert lexicon.truecase("well , i'm sure mary's tv is on . sure i know !") == (
        "Well , I'm sure Mary's TV is on . Sure I know !")
    assert lexicon.truecase("no, idk.") == "No, idk."  # unknown words keep their casing
    assert lexicon.truecase("yes, i’ve met mary’s dog") == "Yes, I’ve met Mary’s dog"  # by its first part
    # a word the rewritten source capitalizes inside a sentence keeps its casing; its first word and its
    # lower-case words say nothing
    assert lexicon.truecase("is the tv on in my it job?", source="Is the Tv on in my IT job? Well i know mary") == (
        "Is the Tv on in my IT job?")
    assert lexicon.truecase("well, mary watches tv", source="Well mary watches TV") == "Well, Mary watches TV"


def test_joined_lexicons_know_the_words_and_casings_of_both():
    first, second = Lexicon.of(["so I met Mary here"]), Lexicon.of(["we watch TV with mary"])
    joined = first.joined(second)
    assert joined.known == first.known | second.known
    assert joined.cased == {"i": "I", "mary": "Mary", "tv": "TV"}  # "Mary" from the first, "TV" from the second


@pytest.mark.parametrize("conditional", [False, True])
def test_a_model_keeps_its_lexicon_through_save_and_load(tmp_path, tiny_config, word_tokenizer, conditional):
    import dataclasses

    from textvae import TextVAE
    from textvae.models.conditional import ConditionalTextVAE

    config = dataclasses.replace(tiny_config, type="conditional_vae") if conditional else tiny_config
    klass = ConditionalTextVAE if conditional else TextVAE
    model = klass(config, word_tokenizer, Lexicon.of(["the market fell"]))
    model.save_pretrained(tmp_path / "with")
    assert TextVAE.from_pretrained(tmp_path / "with", device="cpu").lexicon == model.lexicon
    klass(config, word_tokenizer).save_pretrained(tmp_path / "without")
    assert not (tmp_path / "without" / LEXICON_FILE).exists()
    assert TextVAE.from_pretrained(tmp_path / "without", device="cpu").lexicon is None
