"""Text out: the words a decoder saw in training, each in its commonest casing.

A subword decoder can spell a word it never saw by putting pieces together ("Pepto-Bismism", "exampless",
"Selena Gelena Gomez"); the lexicon tells such a word from one it learned, so that paraphrase ranking can put the
candidates that invent one last. A decoder that reads lower-cased text ("no , i'm not sure i know mary .") gets its
casing back from it (`Lexicon.truecase`: "no , I'm not sure I know Mary .")."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from textvae.io import atomic_write_text

LEXICON_FILE = "lexicon.txt"
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")  # letters, with inner apostrophes ("don't", "business's")
_POSSESSIVE = re.compile(r"['’]s$")
_CONTRACTION = re.compile(r"([^'’]*)(['’]?)(.*)")  # "i’ve" -> "i", "’", "ve"
_SENTENCE_END = re.compile(r"[.!?]")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([^\W\d_])")  # the first letter of the text and of each sentence


def words(text: str) -> set[str]:
    """The distinct lower-cased words of `text` (runs of letters; digits and punctuation split them), without a
    possessive "'s"."""
    return {_POSSESSIVE.sub("", word) for word in _WORD.findall(text.lower())}


def _forms(word: str) -> tuple[str, ...]:
    """`word` and its singular or plural ("tachyons" for "tachyon" and back, "classes" for "class"): an inflection
    of a known word is known. A word in "ss" is not a plural ("exampless" is not "examples")."""
    singular = (word[:-1],) if word.endswith("s") and not word.endswith("ss") else ()
    return (word, word + "s", word + "es", *singular, *((word[:-2],) if word.endswith("es") else ()))


def _inner_forms(text: str) -> Iterable[str]:
    """The words of `text` as written, without a possessive "'s", except the first word of each sentence (whose
    capital letter says nothing about the word)."""
    end = 0
    for number, match in enumerate(_WORD.finditer(text)):
        if number and not _SENTENCE_END.search(text, end, match.start()):
            yield _POSSESSIVE.sub("", match.group())
        end = match.end()


@dataclass(frozen=True)
class Lexicon:
    """The lower-cased words (`words`) of a decoder's training text, and the casing of those not commonly written
    in lower case (`cased`: "i" -> "I", "mary" -> "Mary"); saved as `lexicon.txt` beside the weights, one word per
    line in its commonest casing."""

    known: frozenset[str]
    cased: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, texts: Iterable[str]) -> Lexicon:
        """The lexicon of these texts; a word's casing is its commonest one inside a sentence (lower case for a
        word only ever seen first)."""
        known: set[str] = set()
        counts: defaultdict[str, Counter] = defaultdict(Counter)
        for text in texts:
            known |= words(text)
            for form in _inner_forms(text):
                counts[form.lower()][form] += 1
        cased = {word: form for word, forms in counts.items()
                 if (form := forms.most_common(1)[0][0]) != word and word in known}
        return cls(frozenset(known), cased)

    def joined(self, other: Lexicon) -> Lexicon:
        """The words of both lexicons; a word cased in both keeps this lexicon's casing."""
        return Lexicon(self.known | other.known, {**other.cased, **self.cased})

    def invented(self, output: str, source: str = "") -> list[str]:
        """The words of `output` that neither the lexicon nor `source` holds, in any `_forms` (a name copied from
        the input is not invented), sorted: those a decoder made up from pieces."""
        given = words(source)
        return sorted(word for word in words(output)
                      if not any(form in self.known or form in given for form in _forms(word)))

    def truecase(self, text: str, source: str = "") -> str:
        """`text` with each word in its commonest casing (a possessive "'s" kept; a contraction the lexicon does not
        hold, "i’ve", cased by its first part) and the first letter of each sentence upper-case: the casing a
        decoder of lower-cased text cannot write. A word that `source` (the text a conditional model rewrote)
        capitalizes inside a sentence keeps that casing ("IT job", "iPhone")."""
        kept = {form.lower(): form for form in _inner_forms(source) if form != form.lower()}

        def casing(word: str) -> str | None:
            return kept.get(word) or self.cased.get(word)

        def word(match: re.Match) -> str:
            written = match.group()
            base = _POSSESSIVE.sub("", written)
            head, apostrophe, tail = _CONTRACTION.match(base).groups()
            cased = casing(base.lower()) or (casing(head.lower()) or head) + apostrophe + tail
            return cased + written[len(base):]

        text = _WORD.sub(word, text)
        return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)

    def save(self, folder: str | Path) -> None:
        """Write `lexicon.txt` into `folder` atomically."""
        lines = (self.cased.get(word, word) for word in sorted(self.known))
        atomic_write_text(Path(folder) / LEXICON_FILE, "".join(f"{line}\n" for line in lines))

    @classmethod
    def load(cls, folder: str | Path) -> Lexicon | None:
        """The lexicon saved in `folder`, or None when it holds none (a model saved without one)."""
        path = Path(folder) / LEXICON_FILE
        if not path.is_file():
            return None
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
        return cls(frozenset(line.lower() for line in lines), {line.lower(): line for line in lines
                                                               if line != line.lower()})
