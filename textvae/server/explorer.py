"""The models an explorer serves, each behind its own lock, and the latent maps made once from the corpus."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from textvae.errors import DataError, TextVAEError
from textvae.fastcpu.machine import bf16_where_native
from textvae.models import TextVAE
from textvae.models.registry import DEFAULT_AE, default_model_path
from textvae.server.errors import UnavailableError
from textvae.server.latent_map import LatentMap

DEFAULT_CORPUS = Path(__file__).with_name("sentences.txt")  # short everyday English, several topics
MAX_CORPUS = 10_000  # sentences on a map: ~10 ms of CPU each with the bundled MiniLM encoder, once


def read_corpus(path: Path | None = None) -> list[str]:
    """The distinct non-empty lines of a sentence-per-line file (the shipped sentences by default)."""
    path = DEFAULT_CORPUS if path is None else Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text") from None
    texts = list(dict.fromkeys(" ".join(line.split()) for line in lines if line.strip()))
    if len(texts) < 2:
        raise DataError(f"{path} has {len(texts)} sentence(s); a map needs at least 2")
    if len(texts) > MAX_CORPUS:
        raise DataError(f"{path} has {len(texts):,} sentences; a map takes at most {MAX_CORPUS:,}")
    return texts


def corpus_means(model: TextVAE, texts: list[str], batch_size: int = 32) -> Tensor:
    """The encoder's posterior means (n, latent_dim) of many texts in their order, encoded in batches of similar
    length (padding to a batch's longest text would otherwise cost about as much again). Not refined: a map
    shows the NLU side's view of thousands of texts, and refinement costs decoder passes per text. The encoder
    runs in bf16 where bf16 matmuls are native (`bf16_where_native`): 2.4x faster on an AVX512-BF16 CPU, the
    means within 0.01 of float32 ones."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with bf16_where_native(model.device):
        mu, _ = model.encode([texts[i] for i in order], batch_size=batch_size, refine_steps=0)
    means = torch.empty_like(mu)
    means[order] = mu
    return means


@dataclass
class Slot:
    """One model; its lock lets one call at a time use it (re-entrant: a call may use its map)."""

    label: str  # what the page shows: the model folder's name
    model: TextVAE
    lock: threading.RLock = field(default_factory=threading.RLock)
    latent_map: LatentMap | None = None


class Explorer:
    """A VAE and its autoencoder twin (latent spaces 'vae' and 'ae'), optionally a dialogue model,
    and the corpus their maps are made of."""

    def __init__(self, vae: TextVAE, ae: TextVAE, dialogue: TextVAE | None = None,
                 corpus: list[str] | None = None, corpus_name: str = "",
                 labels: dict[str, str] | None = None) -> None:
        if not vae.variational or vae.conditional:
            raise TextVAEError("--model must be an unconditional VAE (model.variational: true)")
        if ae.variational or not ae.has_latent or ae.conditional:
            raise TextVAEError("--ae must be an autoencoder (model.variational: false)")
        if dialogue is not None and not dialogue.conditional:
            raise TextVAEError("--dialogue must be a conditional model (model.type: conditional_vae)")
        labels = labels or {}
        models = {"vae": vae, "ae": ae, "dialogue": dialogue}
        self.slots = {name: Slot(labels.get(name, name), model)
                      for name, model in models.items() if model is not None}
        self.corpus = read_corpus() if corpus is None else corpus
        self.corpus_name = corpus_name or ("built-in sentences" if corpus is None else "custom")

    def model(self, name: str) -> TextVAE:
        """The loaded model called `name`, or an error saying how to load it."""
        if name not in self.slots:
            raise UnavailableError(f"no {name} model is loaded: start the server with --{name} DIR")
        return self.slots[name].model

    @contextmanager
    def hold(self, *names: str) -> Iterator[list[TextVAE]]:
        """The named models, each locked for the duration (always in the same order, so two callers
        wanting the same pair cannot wait on each other)."""
        models = [self.model(name) for name in names]
        with ExitStack() as stack:
            for name in sorted(set(names)):
                stack.enter_context(self.slots[name].lock)
            yield models

    def latent_map(self, name: str) -> LatentMap:
        """The map of a latent space: PCA of the corpus's posterior means, made on first use, then kept."""
        slot = self.slots[name]
        with self.hold(name) as (model,):
            if slot.latent_map is None:
                slot.latent_map = LatentMap.fit(self.corpus, corpus_means(model, self.corpus))
            return slot.latent_map

    def cached_map(self, name: str) -> LatentMap | None:
        """The map of a latent space if it has been made (never starts making one)."""
        return self.slots[name].latent_map


def load_explorer(model: str | Path | None = None, ae: str | Path | None = None,
                  dialogue: str | Path | None = None, corpus: str | Path | None = None,
                  device: str | torch.device | None = None, int8: bool = False) -> Explorer:
    """An explorer of saved models (the bundled VAE and AE by default) on `device` (GPU if present), decoding
    with int8 weights with `int8` (TextVAE.int8_decoding), and a corpus file (or the built-in sentences)."""
    vae_dir = Path(model) if model is not None else default_model_path()
    ae_dir = Path(ae) if ae is not None else default_model_path(DEFAULT_AE)
    folders = {"vae": vae_dir, "ae": ae_dir, **({"dialogue": Path(dialogue)} if dialogue is not None else {})}
    models = {name: TextVAE.from_pretrained(folder, device=device).int8_decoding(int8) for name, folder in folders.items()}
    return Explorer(models["vae"], models["ae"], models.get("dialogue"),
                    corpus=read_corpus(corpus) if corpus is not None else None,
                    corpus_name=Path(corpus).name if corpus is not None else "",
                    labels={name: folder.name for name, folder in folders.items()})
