"""Generation quality: BLEU to a reference and to the source, iBLEU, self-BLEU, distinct-n."""

from __future__ import annotations

from itertools import combinations

import sacrebleu


def corpus_bleu(hypotheses: list[str], references: list[str]) -> float:
    """sacrebleu corpus BLEU (0-100) with its default 13a tokenization."""
    return sacrebleu.corpus_bleu(hypotheses, [references]).score


def ibleu(bleu_ref: float, bleu_src: float, alpha: float = 0.8) -> float:
    """iBLEU = alpha * BLEU(out, ref) - (1 - alpha) * BLEU(out, src) (Sun & Zhou 2012)."""
    return alpha * bleu_ref - (1 - alpha) * bleu_src


def self_bleu(samples: list[list[str]]) -> float:
    """Mean BLEU of each sample against the other samples for the same input (lower = more diverse)."""
    hyps, refs = [], []
    for group in samples:
        for i, j in combinations(range(len(group)), 2):
            hyps.append(group[i])
            refs.append(group[j])
    return corpus_bleu(hyps, refs) if hyps else 0.0


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct n-grams / all n-grams over lower-cased whitespace tokens."""
    total, unique = 0, set()
    for text in texts:
        tokens = text.lower().split()
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        unique.update(grams)
    return len(unique) / total if total else 0.0
