"""Shared fixtures: small slices of the real PTB data and tiny models (tests stay fast, offline)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_configure(config) -> None:
    """The test session is an entry point: like `textvae`, it lets the native kernels' build find the `ninja` wheel
    of a virtual environment that is not activated."""
    from textvae.fastcpu.process import put_ninja_on_path

    put_ninja_on_path()


SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PTB = SHARED / "ptb"


def ptb_lines(split: str, n: int) -> list[str]:
    path = PTB / f"ptb.{split}.txt"
    if not path.is_file():
        pytest.skip(f"PTB data not found at {path}")
    with path.open(encoding="utf-8") as handle:
        return [next(handle).strip() for _ in range(n)]


@pytest.fixture(scope="session")
def ptb_texts() -> list[str]:
    return ptb_lines("train", 400)


@pytest.fixture(scope="session")
def word_tokenizer(ptb_texts):
    from textvae.data import train_tokenizer

    return train_tokenizer("word", ptb_texts, 0, False)


@pytest.fixture()
def tiny_config():
    """A tiny model config; callers replace fields with dataclasses.replace."""
    from textvae.config import ModelConfig

    return ModelConfig(encoder="gru", decoder="gru", latent_dim=8, embed_dim=32, hidden_dim=32, ff_dim=64,
                       num_layers=1, num_heads=2, dropout=0.0, max_length=12)


@pytest.fixture()
def ptb_files(tmp_path, ptb_texts) -> dict[str, Path]:
    """Small train/valid files cut from the real PTB."""
    files = {"train": tmp_path / "train.txt", "valid": tmp_path / "valid.txt"}
    files["train"].write_text("\n".join(ptb_texts[:300]) + "\n", encoding="utf-8")
    files["valid"].write_text("\n".join(ptb_lines("valid", 60)) + "\n", encoding="utf-8")
    return files
