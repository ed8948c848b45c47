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
STEM = 4  # the fewest letters of a word that counts as the stem of a longer one


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _stutters(words: list[str]) -> int:
    return sum(a == b for a, b in zip(words, words[1:]))


def _stem_pairs(words: set[str]) -> set[tuple[str, str]]:
    """Pairs of distinct content words where the shorter, of at least STEM letters, begins the longer
    ("deposit", "depositing")."""
    content = [w for w in words if w not in FUNCTION_WORDS and len(w) >= STEM]
    return {(a, b) for a in content for b in content if a != b and b.startswith(a)}


def repeated_words(output: str, source: str) -> int:
    """How often `output` repeats a word where `source` does not: a word said twice in a row ("near near") beyond
    the source's own such pairs, plus each content word (not in FUNCTION_WORDS) that occurs more than once and
    more often than in the source, plus each pair of content words of one stem ("what is depositing deposit",
    "proteins in protein"; `_stem_pairs`) that the source does not hold. 0: it repeats nothing its source does
    not."""
    words, source_words = _words(output), _words(source)
    counts, source_counts = Counter(words), Counter(source_words)
    extra = sum(1 for word, count in counts.items()
                if count > 1 and count > source_counts[word] and word not in FUNCTION_WORDS)
    stems = len(_stem_pairs(set(words)) - _stem_pairs(set(source_words)))
    return max(0, _stutters(words) - _stutters(source_words)) + extra + stems
