"""scripts/eval_dialogue.py: replies are scored on DailyDialog's tokens, however a model spaces them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture()
def eval_dialogue(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))  # the script imports benchkit as scripts/ does
    spec = importlib.util.spec_from_file_location("eval_dialogue", SCRIPTS / "eval_dialogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("tokenized", [
    "sorry , i ’ m late .", "wait ... what ?", "it costs $ 3.5 , about 10 % .", "no , . but mr . smith !",
    "yes , i don't know ! ! ok ?",
])
def test_a_reply_without_tokenization_spaces_is_scored_on_the_same_tokens(eval_dialogue, tokenized):
    from textvae.nlg.spacing import clean_up_tokenization

    assert eval_dialogue.spaced(tokenized) == tokenized  # DailyDialog's own spacing is kept
    assert eval_dialogue.spaced(clean_up_tokenization(tokenized)) == tokenized
