"""Paraphrase by sampling latents for a sentence, then deduplicating and reranking the decodes."""

from __future__ import annotations

from textvae.apps.similarity import cosine_to
from textvae.errors import require_count


def _key(text: str) -> str:
    """Case- and space-insensitive form: "rain ." and "rain." are the same sentence."""
    return "".join(text.lower().split())


WIDEN = (1.5, 2.25)  # further draws, at these multiples of the scale, when too few paraphrases differ


def paraphrase(model, text: str, n: int = 5, scale: float | None = None, strategy: str = "greedy", rerank: bool = True,
               oversample: int = 3, widen: bool = True, **options) -> list[str]:
    """Up to n distinct paraphrases of `text`, never the input itself.

    Decodes n * oversample candidates (a VAE: z = mu + scale * sigma * eps around the input's
    posterior, scale 0 being the reconstruction, None the model's default; a conditional VAE: z ~ p(z | input) scaled), drops
    duplicates and the input, and (rerank=True) orders the rest by similarity to the input. With `widen`, when
    fewer than n distinct paraphrases come out (a sentence the model is sure of decodes to itself around its
    posterior), it draws again at 1.5x and then 2.25x the scale.
    """
    require_count(n)
    scale = model.paraphrase_scale(scale)
    seen = {_key(text)}
    candidates: list[str] = []
    for factor in (1.0, *(WIDEN if widen and scale > 0 else ())):
        for candidate in model.iter_generate([text], n * oversample, scale=scale * factor, strategy=strategy,
                                             **options):
            if candidate and _key(candidate) not in seen:  # duplicates dropped as they stream in: flat memory
                seen.add(_key(candidate))
                candidates.append(candidate)
        if len(candidates) >= n:
            break
    if rerank and len(candidates) > 1:
        scores = cosine_to(model, text, candidates)
        candidates = [c for _, c in sorted(zip(scores, candidates), key=lambda pair: -pair[0])]
    return candidates[:n]
