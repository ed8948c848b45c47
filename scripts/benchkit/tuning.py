"""What the scripts that tune a model on its validation texts share: the --model / --run arguments, and the
held-out texts with the model, the reference judge and the texts' embeddings."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchkit.corpora import held_out_texts
from benchkit.judges import embed
from textvae import TextVAE
from textvae.nlu import PretrainedEncoder


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, the folder to tune, and --run, the training run whose held-out texts are used."""
    parser.add_argument("--model", required=True, help="the model folder to tune")
    parser.add_argument("--run", default=None,
                        help="the training run whose held-out texts are used (it holds experiment.yaml; default: --model)")


def validation_set(model: str | Path, run: str | Path | None,
                   limit: int) -> tuple[list[str], TextVAE, PretrainedEncoder, torch.Tensor]:
    """The first `limit` held-out texts of the training run `run` (None: `model` is the run), the model on the
    CPU, the reference MiniLM judge and the texts' unit embeddings under it."""
    texts = held_out_texts(Path(run or model))[:limit]
    judge = PretrainedEncoder("minilm").eval()
    return texts, TextVAE.from_pretrained(model, device="cpu"), judge, embed(judge, texts)
