"""Model cards: the README.md written next to a saved model, with YAML front matter in the Hugging Face
style (library_name, license, tags, datasets, metrics) and a short description built from its config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from textvae.config import ModelConfig
from textvae.io import atomic_write_text

CARD_FILE = "README.md"
MARKER = "textvae_model_card"  # front-matter key that tells a card textvae wrote from a user's README


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _kind(config: ModelConfig) -> str:
    if not config.has_latent:
        return "decoder-only language model"
    kind = "variational autoencoder" if config.variational else "autoencoder"
    return f"conditional {kind}" if config.type == "conditional_vae" else kind


def _encoder(config: ModelConfig) -> str:
    if config.encoder == "gru":
        return f"GRU ({'bidirectional' if config.encoder_bidirectional else 'forward'}), state {config.hidden_dim}"
    layers = config.encoder_trainable_layers
    training = "frozen" if layers == 0 else "fine-tuned" if layers == -1 else f"top {_count(layers, 'layer')} fine-tuned"
    return f"`{config.encoder}` ({training}), pooling `{config.encoder_pooling}`"


def _latent(config: ModelConfig) -> str:
    if config.variational:
        learned = config.type == "conditional_vae" and config.prior == "learned"
        prior = "a prior learned from the source" if learned else "prior N(0, I)"
        return f"{config.latent_dim}-dimensional diagonal Gaussian posterior, {prior}"
    return f"{config.latent_dim}-dimensional deterministic code z = μ"


def _decoder(config: ModelConfig) -> str:
    if config.decoder == "transformer":
        memory = f", z as {_count(config.memory_tokens, 'memory token')}" if config.has_latent else ""
        start = (f", started from the encoder's embeddings and bottom {_count(config.num_layers, 'layer')}"
                 if config.decoder_init == "encoder" else "")
        table = (f"; word table stored as the encoder's + a rank-{config.decoder_table_rank} difference"
                 if config.decoder_table_rank else "")
        return (f"transformer, {_count(config.num_layers, 'block')} of width {config.embed_dim}, "
                f"{_count(config.num_heads, 'head')}{memory}{start}{table}")
    return f"GRU, {_count(config.num_layers, 'layer')}, state {config.hidden_dim}, embeddings {config.embed_dim}"


def model_card(config: ModelConfig, name: str, license: str | None = None, datasets: Sequence[str] = (),
               metrics: Mapping[str, float] | None = None) -> str:
    """The README.md text of a model saved in a folder called `name`; `license` (an SPDX-style id),
    `datasets` (names or hub ids) and `metrics` (name -> value) go into the card when given."""
    metadata = {"library_name": "textvae"}
    if license:
        metadata["license"] = license
    metadata["tags"] = ["text-vae", "variational-autoencoder", config.type]
    if datasets:
        metadata["datasets"] = list(datasets)
    if metrics:
        metadata["metrics"] = list(metrics)
    metadata[MARKER] = True
    rows = [("encoder", "none" if not config.has_latent else _encoder(config)),
            ("latent", "none" if not config.has_latent else _latent(config)),
            ("decoder", _decoder(config)),
            ("vocabulary", f"{config.vocab_size:,} tokens")]
    lines = ["---", yaml.safe_dump(metadata, sort_keys=False).rstrip(), "---", "",
             f"# {name}", "",
             f"A {_kind(config)} for text (`{config.type}`), made with textvae"
             + (": text → NLU encoder → z → NLG decoder → text." if config.has_latent else "."), "",
             "## Architecture", "", "| part | |", "|---|---|"]
    lines += [f"| {part} | {text} |" for part, text in rows]
    lines += ["", "The full configuration is in `config.json`."]
    if datasets:
        lines += ["", "## Training data", ""] + [f"- {dataset}" for dataset in datasets]
    if metrics:
        lines += ["", "## Evaluation", "", "| metric | value |", "|---|---|"]
        lines += [f"| {metric} | {value:g} |" for metric, value in metrics.items()]
    lines += ["", "## Usage", "", "```python", "from textvae import TextVAE", "",
              f'model = TextVAE.from_pretrained("{name}")  # the folder holding this file', "```"]
    return "\n".join(lines) + "\n"


def is_textvae_card(path: Path) -> bool:
    """True when `path` is a model card textvae wrote (its front matter carries the marker)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---\n"):
        return False
    front, end, _ = text[4:].partition("\n---\n")
    try:
        metadata = yaml.safe_load(front)
    except yaml.YAMLError:
        return False
    return bool(end) and isinstance(metadata, dict) and metadata.get(MARKER) is True


def write_model_card(folder: Path, config: ModelConfig, license: str | None = None, datasets: Sequence[str] = (),
                     metrics: Mapping[str, float] | None = None) -> bool:
    """Write folder/README.md atomically unless a README.md textvae did not write is there; True if written."""
    path = Path(folder) / CARD_FILE
    if path.exists() and not is_textvae_card(path):
        return False
    atomic_write_text(path, model_card(config, Path(folder).resolve().name, license, datasets, metrics))
    return True
