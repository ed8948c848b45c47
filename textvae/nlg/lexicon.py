"""Text out: the words a decoder saw in training. A subword decoder can spell a word it never saw by putting
pieces together ("Pepto-Bismism", "exampless", "Selena Gelena Gomez"); the lexicon tells such a word from one it
learned, so that paraphrase ranking can put the candidates that invent one last."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textvae.io import atomic_write_text

LEXICON_FILE = "lexicon.txt"
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")  # letters, with inner apostrophes ("don't", "business's")


def words(text: str) -> set[str]:
    """The distinct lower-cased words of `text` (runs of letters; digits and punctuation split them), without a
    possessive "'s"."""
    return {re.sub(r"['’]s$", "", word) for word in _WORD.findall(text.lower())}


def _forms(word: str) -> tuple[str, ...]:
    """`word` and its singular or plural ("tachyons" for "tachyon" and back, "classes" for "class"): an inflection
    of a known word is known. A word in "ss" is not a plural ("exampless" is not "examples")."""
    singular = (word[:-1],) if word.endswith("s") and not word.endswith("ss") else ()
    return (word, word + "s", word + "es", *singular, *((word[:-2],) if word.endswith("es") else ()))


@dataclass(frozen=True)
class Lexicon:
    """The set of lower-cased words (`words`) of a decoder's training text, saved as `lexicon.txt` (one word per
    line) beside the weights."""

    known: frozenset[str]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Lexicon:
        """The lexicon of these texts."""
        return cls(frozenset(word for text in texts for word in words(text)))

    def invented(self, output: str, source: str = "") -> list[str]:
        """The words of `output` that neither the lexicon nor `source` holds, in any `_forms` (a name copied from
        the input is not invented), sorted: those a decoder made up from pieces."""
        given = words(source)
        return sorted(word for word in words(output)
                      if not any(form in self.known or form in given for form in _forms(word)))

    def save(self, folder: str | Path) -> None:
        """Write `lexicon.txt` into `folder` atomically."""
        atomic_write_text(Path(folder) / LEXICON_FILE, "".join(f"{word}\n" for word in sorted(self.known)))

    @classmethod
    def load(cls, folder: str | Path) -> Lexicon | None:
        """The lexicon saved in `folder`, or None when it holds none (a model saved without one)."""
        path = Path(folder) / LEXICON_FILE
        if not path.is_file():
            return None
        return cls(frozenset(line for line in path.read_text(encoding="utf-8").splitlines() if line))
