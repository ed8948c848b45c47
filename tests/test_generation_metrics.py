import pytest

from textvae.metrics.generation import corpus_bleu, distinct_n, ibleu, self_bleu


def test_bleu_identity_and_ibleu():
    refs = ["how do i learn python quickly ?", "what is the capital of france ?"]
    assert corpus_bleu(refs, refs) == pytest.approx(100.0)
    assert corpus_bleu(["completely different words here"] * 2, refs) < 5
    assert ibleu(40.0, 100.0) == pytest.approx(0.8 * 40 - 0.2 * 100)


def test_distinct_and_self_bleu_measure_diversity():
    assert distinct_n(["a b c", "a b d"], 1) == pytest.approx(4 / 6)
    assert distinct_n(["a b c", "a b d"], 2) == pytest.approx(3 / 4)
    assert distinct_n([], 2) == 0.0
    same = [["how are you today ?"] * 3]
    varied = [["how are you today ?", "what is new with you ?", "where did you go ?"]]
    assert self_bleu(same) == pytest.approx(100.0)
    assert self_bleu(varied) < 30


def test_distinct_per_input_separates_identical_from_varied_samples():
    from textvae.metrics.generation import distinct_per_input

    same = [["the cat sat down", "the cat sat down"]]
    varied = [["the cat sat down", "a dog ran off"]]
    assert distinct_per_input(same, 2) == pytest.approx(0.5)
    assert distinct_per_input(varied, 2) == pytest.approx(1.0)
    assert distinct_per_input([], 2) == 0.0


def test_bleu_precision_is_the_mean_and_recall_the_max_over_samples():
    from textvae.metrics.generation import bleu_precision_recall

    reference = ["How are you doing today ?"]
    precision, recall = bleu_precision_recall([["how are you doing today ?", "no idea"]], reference)
    assert recall == pytest.approx(1.0) and 0.0 < precision < recall
    with pytest.raises(ValueError, match="2 sample groups for 1 references"):
        bleu_precision_recall([["a"], ["b"]], reference)


def test_repeated_words_counts_what_the_output_repeats_and_its_source_does_not():
    from textvae.metrics.repetition import repeated_words

    assert repeated_words("Which is best best country?", "Which is best country?") == 2  # a stutter, and 'best' twice
    assert repeated_words("How do you treat swollen gums around swollen?", "How do you treat swollen gums?") == 1
    assert repeated_words("What is the the best way?", "What is the best way?") == 1  # a function word stuttered
    assert repeated_words("What is the best way to learn the guitar?", "How do I learn guitar?") == 0  # 'the' twice is fine
    assert repeated_words("Which country is best?", "Which is best country?") == 0
    assert repeated_words("Very, very good news", "very, very good news") == 0  # the source repeats it too
    assert repeated_words("", "anything") == 0


def test_repeated_words_counts_two_words_of_one_stem_that_the_source_does_not_hold():
    from textvae.metrics.repetition import repeated_words

    assert repeated_words("What is depositing deposit?", "What is a deposit?") == 1
    assert repeated_words("How do banks get job in bank?", "How do I get a job in a bank?") == 1
    assert repeated_words("Is a stock broker good for stocks?", "Are stocks and a stock broker good?") == 0  # as in the source
    assert repeated_words("Is this a good use of user data?", "Is this good use of data?") == 0  # 'use' has 3 letters
    assert repeated_words("How do I learn to learning?", "How do I learn?") == 1
