"""The package as others consume it: --version, py.typed, the licence, model cards next to saved models."""

from __future__ import annotations

import importlib.metadata
import re
import warnings
from pathlib import Path

import pytest
import yaml

import textvae
from textvae.cli.main import main
from textvae.model_card import is_textvae_card

ROOT = Path(__file__).resolve().parents[1]


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text[4:].split("\n---\n", 1)[0])


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"textvae {importlib.metadata.version('textvae')}\n"


def test_dunder_version_matches_pyproject():
    declared = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    assert textvae.__version__ == declared


def test_typed_marker_and_licence_ship():
    assert (ROOT / "textvae" / "py.typed").is_file()
    assert '"py.typed"' in (ROOT / "pyproject.toml").read_text()
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "2026 the textvae authors" in licence


def test_save_pretrained_writes_a_model_card(tmp_path, tiny_config, word_tokenizer):
    from textvae import TextVAE

    TextVAE(tiny_config, word_tokenizer).save_pretrained(tmp_path / "tiny-vae", license="mit",
                                                          datasets=["ptb"], metrics={"neg_elbo": 86.2})
    card = tmp_path / "tiny-vae" / "README.md"
    metadata = front_matter(card)
    assert metadata["library_name"] == "textvae" and metadata["license"] == "mit"
    assert metadata["tags"] == ["text-vae", "variational-autoencoder", "text_vae"]
    assert metadata["datasets"] == ["ptb"] and metadata["metrics"] == ["neg_elbo"]
    body = card.read_text(encoding="utf-8")
    assert "8-dimensional diagonal Gaussian" in body and f"{word_tokenizer.vocab_size:,} tokens" in body
    assert 'TextVAE.from_pretrained("tiny-vae")' in body and "| neg_elbo | 86.2 |" in body
    assert is_textvae_card(card)


def test_card_without_optional_fields_leaves_them_out(tmp_path, tiny_config, word_tokenizer):
    import dataclasses

    from textvae import TextVAE

    config = dataclasses.replace(tiny_config, variational=False)
    TextVAE(config, word_tokenizer).save_pretrained(tmp_path)
    metadata = front_matter(tmp_path / "README.md")
    assert not {"license", "datasets", "metrics"} & set(metadata)
    assert "deterministic code" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_a_users_readme_is_kept_and_textvaes_own_card_is_replaced(tmp_path, tiny_config, word_tokenizer):
    from textvae import TextVAE

    model = TextVAE(tiny_config, word_tokenizer)
    model.save_pretrained(tmp_path, license="mit")
    model.save_pretrained(tmp_path, license="apache-2.0")
    assert front_matter(tmp_path / "README.md")["license"] == "apache-2.0"
    user_card = "---\nlicense: cc-by-4.0\n---\n# My model\nHand-written.\n"
    (tmp_path / "README.md").write_text(user_card, encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.save_pretrained(tmp_path, license="mit")
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == user_card
    assert any("not written by textvae" in str(w.message) for w in caught)


def test_export_passes_licence_and_datasets_to_the_card(tmp_path, tiny_config, word_tokenizer):
    from textvae import TextVAE

    TextVAE(tiny_config, word_tokenizer).save_pretrained(tmp_path / "run")
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "out"),
                 "--license", "apache-2.0", "--dataset", "ptb", "--dataset", "quora"]) == 0
    metadata = front_matter(tmp_path / "out" / "README.md")
    assert metadata["license"] == "apache-2.0" and metadata["datasets"] == ["ptb", "quora"]


def test_export_puts_measured_figures_in_the_card_and_refuses_malformed_ones(tmp_path, tiny_config, word_tokenizer):
    from textvae import TextVAE

    TextVAE(tiny_config, word_tokenizer).save_pretrained(tmp_path / "run")
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "out"),
                 "--metric", "unseen iBLEU=11.7", "--metric", "valid neg_elbo=29.5"]) == 0
    card = tmp_path / "out" / "README.md"
    assert front_matter(card)["metrics"] == ["unseen iBLEU", "valid neg_elbo"]
    assert "| unseen iBLEU | 11.7 |" in card.read_text(encoding="utf-8")
    for bad in ("iBLEU", "=3", "iBLEU=high", "iBLEU=nan"):
        with pytest.raises(SystemExit) as stop:
            main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "bad"), "--metric", bad])
        assert stop.value.code == 2
    assert not (tmp_path / "bad").exists()
