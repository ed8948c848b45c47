"""The fixed judges of generated text: one reference MiniLM's embeddings, a decoder-only LM's per-token NLL and the
lexicon of the training corpora."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from benchkit.paths import DAILYDIALOG, QQP
from textvae import TextVAE
from textvae.data import load_texts
from textvae.nlg.lexicon import Lexicon
from textvae.nlu import PretrainedEncoder
from textvae.training.features import cached_features

BATCH = 256


def embed(judge: PretrainedEncoder, texts: list[str], batch: int = BATCH) -> torch.Tensor:
    """Unit-length sentence embeddings (N, H) of the reference judge, in batches."""
    parts = [judge.sentence_embedding(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    return F.normalize(torch.cat(parts).float(), dim=-1)


def reference_lexicon() -> Lexicon:
    """The words of every training text the text models here may have seen: both columns of QQP-50K train.tsv and
    the DailyDialog training dialogues. A word of an output that it lacks (and the input does not hold) was made
    up from subword pieces."""
    texts = [t for column in (0, 1) for t in load_texts(QQP / "train.tsv", column)]
    return Lexicon.of(texts + load_texts(DAILYDIALOG / "train" / "dialogues_train.txt"))


@torch.no_grad()
def per_token_nll(lm: TextVAE, texts: list[str], batch: int = 128) -> list[float]:
    """Mean NLL per token (incl. EOS) of each text under the LM; empty texts score +inf."""
    scores = []
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        keep = [t for t in chunk if t.strip()]
        values = iter([])
        if keep:
            b = lm.make_batch(keep)
            values = iter((lm.reconstruction_nll(b, None) / b["lengths"]).tolist())
        scores += [next(values) if t.strip() else float("inf") for t in chunk]
    return scores


def posterior_means(model: TextVAE, texts: list[str], batch: int = BATCH) -> np.ndarray:
    """μ for every text; a frozen pretrained encoder's features come from the on-disk cache."""
    with torch.no_grad():
        if isinstance(model.encoder, PretrainedEncoder) and model.encoder.frozen:
            features = cached_features(model.encoder, texts)
            return torch.cat([model.posterior_head(features[i : i + batch]).mu
                              for i in range(0, len(texts), batch)]).numpy()
        return model.encode(texts, batch_size=batch)[0].numpy()


def minilm_mean(model: TextVAE, texts: list[str]) -> np.ndarray:
    """The pretrained MiniLM's own sentence embedding (mean of the last layer): the first features of a frozen
    encoder pooled 'mean+...' (cached), else a fresh, unmodified MiniLM's."""
    encoder = model.encoder
    if encoder.frozen and encoder.name == "minilm" and encoder.pooling.split("+")[0].strip() == "mean":
        return cached_features(encoder, texts)[:, : encoder.model.config.hidden_size].numpy()
    return cached_features(PretrainedEncoder("minilm"), texts).numpy()
