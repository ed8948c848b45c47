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
