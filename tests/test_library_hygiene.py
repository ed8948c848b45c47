"""The package as others consume it: --version, py.typed, the licence, model cards next to saved models."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

import textvae
from textvae.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


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
