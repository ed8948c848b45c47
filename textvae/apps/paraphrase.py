"""Paraphrase by sampling latents for a sentence, then deduplicating and ranking the decodes."""

from __future__ import annotations

from dataclasses import dataclass

from textvae.apps.similarity import cosine_to
from textvae.errors import require_count
from textvae.metrics.generation import sentence_bleu
from textvae.metrics.repetition import repeated_words


def _key(text: str) -> str:
    """Case- and space-insensitive form: "rain ." and "rain." are the same sentence."""
    return "".join(text.lower().split())


WIDEN = (1.5, 2.25)  # further draws, at these multiples of the scale, when too few good paraphrases came out


def invented_words(model, candidate: str, text: str) -> int:
    """How many words of `candidate` the model never saw in training and `text` does not hold ("Pepto-Bismism";
    `Lexicon.invented`); 0 for a model saved without a lexicon."""
    return len(model.lexicon.invented(candidate, text)) if model.lexicon is not None else 0


def flawed(model, candidate: str, text: str) -> bool:
    """Whether `candidate` repeats a word `text` does not (`repeated_words`) or invents one (`invented_words`):
    the flaws that similarity to the input does not catch."""
    return repeated_words(candidate, text) > 0 or invented_words(model, candidate, text) > 0


def draw_candidates(model, text: str, n: int = 5, scale: float | None = None, strategy: str | None = None,
                    oversample: int | None = None, widen: bool = True, **options) -> list[str]:
    """The distinct decodes of n * oversample latents for `text` (oversample None: the model's
    `config.paraphrase_oversample`; strategy None: the model's `paraphrase_decoding`), never the input itself
    (see `paraphrase`); with `widen`, more at each WIDEN multiple of the scale until n of them are not `flawed`
    (repeat no word the input does not, invent no word)."""
    require_count(n)
    oversample = require_count(model.config.paraphrase_oversample if oversample is None else oversample, "oversample")
    scale = model.paraphrase_scale(scale)
    strategy, options = model.paraphrase_decoding(strategy, **options)
    seen = {_key(text)}
    candidates: list[str] = []
    clean = 0
    draw = model.sampler([text])  # the text is encoded once for every scale
    for factor in (1.0, *(WIDEN if widen and scale > 0 else ())):
        for candidate in draw(n * oversample, scale * factor, strategy, **options):
            if candidate and _key(candidate) not in seen:  # duplicates dropped as they stream in: flat memory
                seen.add(_key(candidate))
                candidates.append(candidate)
                clean += not flawed(model, candidate, text)
        if clean >= n:
            break
    return candidates


def brevity(candidate: str, text: str) -> float:
    """How much shorter the candidate is than the input, in whitespace words: 1 - len(candidate) / len(text), 0 when
    it is not shorter (a paraphrase that drops part of the input is shorter)."""
    return max(0.0, 1.0 - len(candidate.split()) / max(1, len(text.split())))


@dataclass
class RankFeatures:
    """What ranking weighs, per candidate: similarity to the input (the model's NLU encoder), sentence-BLEU
    overlap with it (0-1), the per-token NLL of the candidate given the input and that of the input given the
    candidate (each None when not needed), how much shorter than the input it is (`brevity`), how often it
    repeats a word where the input does not (`textvae.metrics.repetition.repeated_words`) and how many words it
    invents (`invented_words`; each None: not counted)."""

    similarity: list[float]
    overlap: list[float]
    nll: list[float] | None
    recovery: list[float] | None = None
    brevity: list[float] | None = None
    repeats: list[int] | None = None
    invented: list[int] | None = None

    @classmethod
    def of(cls, model, text: str, candidates: list[str], with_nll: bool = True,
           with_recovery: bool = False) -> RankFeatures:
        return cls(cosine_to(model, text, candidates), [sentence_bleu(c, text) / 100 for c in candidates],
                   model.candidate_nll(text, candidates) if with_nll else None,
                   model.source_nll(text, candidates) if with_recovery else None,
                   [brevity(c, text) for c in candidates], [repeated_words(c, text) for c in candidates],
                   [invented_words(model, c, text) for c in candidates])

    def scores(self, overlap: float = 0.0, likelihood: float = 0.0, recovery: float = 0.0,
               brevity: float = 0.0) -> list[float]:
        """similarity - overlap * BLEU overlap - likelihood * NLL per token - recovery * the input's NLL per token
        given the candidate - brevity * how much shorter than the input it is, per candidate."""
        zeros = [0.0] * len(self.similarity)
        nll = self.nll if likelihood else zeros
        back = self.recovery if recovery else zeros
        short = self.brevity if brevity else zeros
        return [s - overlap * o - likelihood * x - recovery * r - brevity * b
                for s, o, x, r, b in zip(self.similarity, self.overlap, nll, back, short)]

    def order(self, overlap: float = 0.0, likelihood: float = 0.0, recovery: float = 0.0,
              brevity: float = 0.0) -> list[int]:
        """Candidate indices best first: those that repeat no word the input does not and invent no word come
        first ("near near here" keeps every word of the input, "Pepto-Bismism" nearly spells it, so their
        similarity stays high), each group by `scores`."""
        scores = self.scores(overlap, likelihood, recovery, brevity)
        zeros = [0] * len(scores)
        flaws = [r + v for r, v in zip(self.repeats or zeros, self.invented or zeros)]
        return sorted(range(len(scores)), key=lambda i: (flaws[i] > 0, -scores[i]))


def rank(model, text: str, candidates: list[str]) -> list[str]:
    """Candidates best first by the model's ranking weights (`config.rerank_overlap`, `config.rerank_likelihood`,
    `config.rerank_recovery`, `config.rerank_brevity`; all 0: by similarity to the input alone), the `flawed`
    ones (a repeated or an invented word) after the rest (`RankFeatures.order`)."""
    if len(candidates) < 2:
        return candidates
    config = model.config
    features = RankFeatures.of(model, text, candidates, with_nll=config.rerank_likelihood > 0,
                               with_recovery=config.rerank_recovery > 0)
    order = features.order(config.rerank_overlap, config.rerank_likelihood, config.rerank_recovery,
                           config.rerank_brevity)
    return [candidates[i] for i in order]


def paraphrase(model, text: str, n: int = 5, scale: float | None = None, strategy: str | None = None, rerank: bool = True,
               oversample: int | None = None, widen: bool = True, **options) -> list[str]:
    """Up to n distinct paraphrases of `text`, never the input itself.

    Decodes n * oversample candidates (None: the model's `config.paraphrase_oversample`; a VAE: z = center +
    scale * sigma * eps around the input's posterior, `TextVAE.sampler`, scale 0 being the reconstruction, None the
    model's default; a conditional VAE: z ~ p(z | input) scaled), each decoded as `strategy` asks (None: the model's
    default, greedy or beam search, `config.paraphrase_beam`), drops duplicates and the input, and
    (rerank=True) ranks the rest (`rank`: by similarity to the input, less the model's penalties on copying the
    input's words, on candidates it finds unlikely for this input and on candidates shorter than it; candidates
    that repeat a word the input does not or invent a word the model never saw go last). With `widen`, when fewer
    than n distinct paraphrases without such a flaw come out (a sentence the model is sure of decodes to itself,
    or to itself with a word said twice, around its posterior), it draws again at 1.5x and then 2.25x the scale.
    """
    candidates = draw_candidates(model, text, n, scale, strategy, oversample, widen, **options)
    return (rank(model, text, candidates) if rerank else candidates)[:n]
