"""Where the repository, its benchmark results and the shared data sets are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "benchmarks" / "results"  # one JSON per script
DOCS = ROOT / "docs"
DATA = ROOT.parent / "shared" / "data"  # the corpora, next to the checkout
PTB = DATA / "ptb"
QQP = DATA / "qqp_paraphrase_50k"
DAILYDIALOG = DATA / "dailydialog"
