"""Smoke runs of scripts/why_variation.py and scripts/reparam_variance.py (--quick, into tmp_path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def test_why_variation_quick(tmp_path):
    out = tmp_path / "wv.json"
    subprocess.run([sys.executable, str(ROOT / "scripts/why_variation.py"), "--quick", "--datasets", "digits",
                    "--samples", "100", "--out", str(out), "--fig-dir", str(tmp_path)], check=True, env=ENV,
                   capture_output=True, timeout=120)
    result = json.loads(out.read_text())
    for key in ("ae_valid_rate", "vae_valid_rate", "ae_mid_valid_rate", "vae_mid_valid_rate"):
        assert 0 <= result[key]["digits"] <= 1
    assert result["datasets"]["digits"]["vae_iw_nll"] > 0
    assert (tmp_path / "why_variation_digits_samples.png").is_file()


def test_reparam_variance_quick(tmp_path):
    out, table = tmp_path / "rv.json", tmp_path / "rv.md"
    subprocess.run([sys.executable, str(ROOT / "scripts/reparam_variance.py"), "--quick", "--out", str(out),
                    "--table", str(table)], check=True, env=ENV, capture_output=True, timeout=120)
    rows = json.loads(out.read_text())["rows"]
    by = {(r["objective"], r["estimator"], r["samples"]): r for r in rows}
    toy = "toy -||z-1||², D=20"
    # the pathwise estimator has far lower variance than REINFORCE on the same objective
    assert by[(toy, "reparameterization", 1)]["var_mu"] < by[(toy, "score-function", 1)]["var_mu"]
    assert "| objective |" in table.read_text()
