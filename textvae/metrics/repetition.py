"""Repeated words: the commonest way a decoded paraphrase goes wrong ("a good restaurant near near here", "how do
you treat swollen gums around swollen") while keeping every word of its input, so that similarity to the input
does not catch it."""

from __future__ import annotations

import re
from collections import Counter

# Words a rewording may well use more often than its input ("the", "is", "you"): their counts are not compared.
FUNCTION_WORDS = frozenset(
    "a an the of to in on at for from by with about as into and or but if then than so not no is are was were be "
    "been being am do does did done have has had i me my you your he him his she her it its we us our they them "
    "their this that these those what which who whom whose when where why how there here can could will would "
    "shall should may might must just also very more most some any all each one".split())

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _stutters(words: list[str]) -> int:
    return sum(a == b for a, b in zip(words, words[1:]))


def repeated_words(output: str, source: str) -> int:
    """How often `output` repeats a word where `source` does not: a word said twice in a row ("near near") beyond
    the source's own such pairs, plus each content word (not in FUNCTION_WORDS) that occurs more than once and
    more often than in the source. 0: it repeats nothing its source does not."""
    words, source_words = _words(output), _words(source)
    counts, source_counts = Counter(words), Counter(source_words)
    extra = sum(1 for word, count in counts.items()
                if count > 1 and count > source_counts[word] and word not in FUNCTION_WORDS)
    return max(0, _stutters(words) - _stutters(source_words)) + extra
