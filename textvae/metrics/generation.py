"""Generation quality: BLEU to a reference and to the source, iBLEU, self-BLEU, distinct-n, and the
multi-sample dialogue metrics (distinct per input, BLEU precision / recall over samples)."""

from __future__ import annotations

from itertools import combinations
from statistics import mean

import sacrebleu


def corpus_bleu(hypotheses: list[str], references: list[str]) -> float:
    """sacrebleu corpus BLEU (0-100) with its default 13a tokenization."""
    return sacrebleu.corpus_bleu(hypotheses, [references]).score


def sentence_bleu(hypothesis: str, reference: str) -> float:
    """sacrebleu sentence BLEU (0-100) of one hypothesis against one reference (13a tokenization, exp smoothing)."""
    return sacrebleu.sentence_bleu(hypothesis, [reference]).score


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


def distinct_per_input(samples: list[list[str]], n: int) -> float:
    """Mean over inputs of distinct-n across that input's samples (how different the samples are)."""
    return mean(distinct_n(group, n) for group in samples) if samples else 0.0


def bleu_precision_recall(samples: list[list[str]], references: list[str]) -> tuple[float, float]:
    """Zhao et al. (2017) with one reference per input: smoothed sentence BLEU (0-1, lower-cased) of each
    sample against the reference; precision = its mean over the samples, recall = its max, both
    averaged over inputs."""
    if len(samples) != len(references):
        raise ValueError(f"{len(samples)} sample groups for {len(references)} references")
    scorer = sacrebleu.metrics.BLEU(effective_order=True, lowercase=True)
    precision, recall = [], []
    for group, reference in zip(samples, references):
        scores = [scorer.sentence_score(sample, [reference]).score / 100 for sample in group]
        precision.append(mean(scores))
        recall.append(max(scores))
    return mean(precision), mean(recall)
