"""Fidelity of a model on a set of inputs: its reconstructions and samples, judged against the inputs."""

from __future__ import annotations

import statistics

import torch

from benchkit.judges import BATCH, embed, per_token_nll
from textvae import TextVAE
from textvae.metrics.generation import corpus_bleu, self_bleu
from textvae.metrics.repetition import repeated_words
from textvae.nlg.lexicon import Lexicon
from textvae.nlg.spacing import clean_up_tokenization
from textvae.nlu import PretrainedEncoder

SAMPLES = 5  # samples per input


def normalize(text: str) -> str:
    """Case- and space-insensitive form used for exact match and for membership tests."""
    return "".join(text.lower().split())


def generate(model: TextVAE, inputs: list[str], samples: int, batch: int = BATCH, **options) -> list[list[str]]:
    """`samples` outputs per input, `batch` inputs at a time: around its posterior (VAE) or from p(z | input)
    (conditional VAE); `options` go to `model.generate` (scale, strategy, temperature, ...)."""
    out: list[list[str]] = []
    for start in range(0, len(inputs), batch):
        out += model.generate(inputs[start : start + batch], samples, **options)
    return out


def reconstruct_and_sample(model: TextVAE, inputs: list[str], samples: int,
                           scale: float) -> tuple[list[str], list[list[str]]]:
    """The greedy decode of each input's (refined) posterior mean and `samples` greedy decodes around it at `scale`,
    from one encoding (and refinement) per batch of inputs."""
    recons: list[str] = []
    groups: list[list[str]] = []
    for start in range(0, len(inputs), BATCH):
        draw = model.sampler(inputs[start : start + BATCH])
        recons += draw(1, scale=0.0)
        drawn = list(draw(samples, scale=scale))
        groups += [drawn[i : i + samples] for i in range(0, len(drawn), samples)]
    return recons, groups


def reconstruct_and_paraphrase(model: TextVAE, inputs: list[str], samples: int,
                               scale: float) -> tuple[list[str], list[list[str]]]:
    """The greedy decode of each input's (refined) posterior mean, and what `model.paraphrase(input, n=samples)`
    returns at `scale`: up to `samples` distinct ranked paraphrases, never the input (what a user is shown)."""
    recons: list[str] = []
    for start in range(0, len(inputs), BATCH):
        recons += model.sampler(inputs[start : start + BATCH])(1, scale=0.0)
    return recons, [model.paraphrase(text, n=samples, scale=scale) for text in inputs]


def draws_described(model: TextVAE, n: int) -> str:
    """How `model.paraphrase(text, n)` draws its candidates, in words: "30 draws" or "30 draws decoded by beam search
    of 4"."""
    strategy, options = model.paraphrase_decoding()
    how = f" decoded by beam search of {options['beam_size']}" if strategy == "beam" else ""
    return f"{n * model.config.paraphrase_oversample} draws{how}"


def exact_rate(outputs: list[str], inputs: list[str]) -> float:
    """Percentage of outputs equal to their input after `normalize`."""
    return 100 * sum(normalize(o) == normalize(i) for o, i in zip(outputs, inputs)) / len(inputs)


def repeat_rate(outputs: list[str], inputs: list[str]) -> float:
    """Percentage of outputs that repeat a word their input does not (`repeated_words`)."""
    return 100 * sum(repeated_words(o, i) > 0 for o, i in zip(outputs, inputs)) / max(1, len(outputs))


def invented_rate(outputs: list[str], inputs: list[str], lexicon: Lexicon) -> float:
    """Percentage of outputs with a word that neither the lexicon nor their input holds (`Lexicon.invented`)."""
    return 100 * sum(bool(lexicon.invented(o, i)) for o, i in zip(outputs, inputs)) / max(1, len(outputs))


def median_nll(lm: TextVAE | None, texts: list[str]) -> float | None:
    """Median per-token NLL of the texts under the LM (an empty text counts as +inf); None without an LM. Each text
    is scored without tokenization spaces (`clean_up_tokenization`), real inputs and outputs alike: DailyDialog's
    lines put a space before punctuation and a model may decode without it, which is spacing, not fluency."""
    return statistics.median(per_token_nll(lm, [clean_up_tokenization(t) for t in texts])) if lm is not None else None


def evaluate_set(model: TextVAE, judge: PretrainedEncoder, lm: TextVAE | None, inputs: list[str],
                 input_vecs: torch.Tensor, scale: float, app: bool = False,
                 lexicon: Lexicon | None = None) -> tuple[dict, list[dict]]:
    """The metrics of one model on one input set, and its first 3 inputs with their outputs; the samples are raw
    draws around the posterior, or with `app` the paraphrases `model.paraphrase` returns (up to SAMPLES each: the
    means are over the outputs there are, and a missing one counts as not differing). With a judge `lexicon`, the
    share of samples that invent a word too."""
    outputs = reconstruct_and_paraphrase if app else reconstruct_and_sample
    recons, groups = outputs(model, inputs, SAMPLES, scale)
    flat = [s for group in groups for s in group]
    owner = torch.tensor([i for i, group in enumerate(groups) for _ in group], dtype=torch.long)
    owned = [inputs[i] for i in owner.tolist()]  # the input of each sample
    sample_cos = (embed(judge, flat) * input_vecs[owner]).sum(-1).mean().item() if flat else float("nan")
    metrics = {
        "n": len(inputs), "recon_cos": (embed(judge, recons) * input_vecs).sum(-1).mean().item(),
        "recon_exact": exact_rate(recons, inputs), "recon_bleu": corpus_bleu(recons, inputs), "scale": scale,
        "samples": "paraphrase()" if app else "draws", "sample_cos": sample_cos,
        "differ": sum(normalize(s) != normalize(x) for x, g in zip(inputs, groups) for s in g) / len(inputs),
        "self_bleu": self_bleu(groups), "repeats": repeat_rate(flat, owned),
        "invented": invented_rate(flat, owned, lexicon) if lexicon is not None else None,
        "sample_nll": median_nll(lm, flat), "real_nll": median_nll(lm, inputs)}
    examples = [{"input": x, "reconstruction": r, "samples": g} for x, r, g in zip(inputs[:3], recons, groups)]
    return metrics, examples
