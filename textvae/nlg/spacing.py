"""Text out: the spaces that tokenized training text (DailyDialog's "I'm sorry , I can't come .") teaches a
decoder to put before punctuation, removed, as Hugging Face tokenizers' `clean_up_tokenization_spaces` does."""

from __future__ import annotations

import re

_CLITIC = r"(?<=\w)\s+(n't|'(?:s|m|re|ve|ll|d))(?=[\s.,!?;:]|$)"  # "do n't", "it 's", "you 'll"
_CURLY = r"(?<=\w)\s+(’)\s*(?=(?:s|m|re|ve|ll|d|t)(?=[\s.,!?;:]|$))"  # DailyDialog's "I ’ m", "won ’ t"
_BEFORE = re.compile(_CLITIC + "|" + _CURLY + r"|\s+([.,!?;:%)\]}])")  # no space before these ...
_AFTER = re.compile(r"([(\[{$])\s+")  # ... nor after these


def clean_up_tokenization(text: str) -> str:
    """`text` without the space before punctuation, a closing bracket or a clitic ("n't", "'s", "'m", "'re",
    "'ve", "'ll", "'d"; a curly apostrophe loses the spaces on both sides, "I ’ m" -> "I’m") and after an opening
    bracket or "$": "sorry , I do n't know ." -> "sorry, I don't know."."""
    return _AFTER.sub(r"\1", _BEFORE.sub(lambda m: next(g for g in m.groups() if g), text)).strip()
