"""The PTB benchmark's rows and how one row is trained (`textvae train`) and evaluated (`textvae evaluate
--json`), each in a subprocess with a chosen number of CPU threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from benchkit.paths import ROOT
from textvae.data import load_texts
from textvae.io import write_json

# name -> (config, overrides, kind); kind "speed": a VAE trained one epoch for its seconds per epoch, evaluated
# single-sample only (its likelihood after one epoch is compared with the plain-PyTorch reference's by -ELBO,
# scripts/bench_reference.py; K = 500 importance samples of it cost minutes and inform nothing)
ROWS = {
    "gru_lm": ("configs/ptb_gru_lm.yaml", [], "lm"),
    "gru_lm_large": ("configs/ptb_gru_vae_large.yaml", ["model.encoder=none"], "lm"),  # the large VAE rows' decoder
    "gru_ae": ("configs/ptb_gru_ae.yaml", [], "ae"),
    "gru_vae_minilm": ("configs/ptb_gru_vae.yaml", [], "vae"),
    "gru_vae_minilm_large": ("configs/ptb_gru_vae_large.yaml", [], "vae"),
    # 10 epochs, the cosine decay over 10: the same validation -ELBO as 12 (103.52 vs 103.54), 17% less training (75.9 vs 91.5 min)
    "gru_vae_minilm_xl": ("configs/ptb_gru_vae_large.yaml", ["model.hidden_dim=1024", "train.epochs=10"], "vae"),
    "transformer_vae_minilm": ("configs/ptb_transformer_vae.yaml", [], "vae"),
    "gru_vae_gru_encoder": ("configs/ptb_gru_vae.yaml", ["model.encoder=gru"], "vae"),
    "bowman_reference": ("configs/ptb_bowman_reference.yaml", [], "speed"),
}
# not in the default run (`--all` or `--rows` adds them). gru_vae_minilm is the MiniLM GRU VAE in the recipe that
# transformer_vae_minilm and gru_vae_gru_encoder share (8 epochs, untied 256-d embeddings): the default run keeps
# the stronger gru_vae_minilm_xl as its MiniLM GRU VAE, which saves ~30 of a full run's ~190 core-minutes
ABLATIONS = ("gru_lm_large", "gru_vae_minilm", "gru_vae_minilm_large")
TIMED = "bowman_reference"  # trained alone with every core: the speed target is measured on it
QUICK = ["train.max_steps=20", "train.epochs=1", "data.max_examples=2000"]
IW_BATCH_SIZE = {"transformer": 4}  # decoder -> sentences per IW pass, where the CLI's default does not suit it


class PeakRSS:
    """Polls the resident memory of a process tree; `peak_mb` is the largest total seen."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                self.peak_mb = max(self.peak_mb, sum(p.memory_info().rss for p in tree) / 2**20)
            except psutil.Error:
                return

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def train(name: str, config: str, overrides: list[str], run_dir: Path, log, threads: int | None = None
          ) -> tuple[float, float]:
    """Train one row with `textvae train` in a subprocess (with `threads` CPU threads); returns (wall
    seconds, peak RSS MB)."""
    cmd = [sys.executable, "-m", "textvae.cli.main", "train", "--config", str(ROOT / config), "--output",
           str(run_dir), "--quiet", *sum((["--set", o] for o in overrides), [])]
    log(f"[{name}] {' '.join(cmd[2:])}")
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    start = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=ROOT, env=env)
    peak = PeakRSS(process.pid)
    if process.wait() != 0:
        raise SystemExit(f"[{name}] training failed (exit {process.returncode})")
    return time.perf_counter() - start, peak.stop()


def seconds_per_epoch(run_dir: Path) -> float | None:
    log = run_dir / "metrics.jsonl"
    if not log.exists():  # a run shorter than one logging interval
        return None
    records = [json.loads(line) for line in log.read_text().splitlines()]
    epochs = [r["epoch_seconds"] for r in records if "epoch_seconds" in r]
    return sum(epochs) / len(epochs) if epochs else None


def evaluate_report(name: str, run_dir: Path, data: Path | str, extra: list[str], threads: int | None) -> dict:
    """`textvae evaluate --json` of a saved model on `data` (plus `extra` options) in a subprocess with
    `threads` CPU threads; its JSON report."""
    cmd = [sys.executable, "-m", "textvae.cli.main", "evaluate", "--model", str(run_dir), "--data", str(data),
           "--seed", "0", "--json", *extra]
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"[{name}] evaluation failed (exit {done.returncode})")
    return json.loads(done.stdout)


def iw_batch_options(run_dir: Path) -> list[str]:
    """--iw-batch-size for the saved model's decoder where the CLI's default does not suit it: a
    transformer decodes every position of its samples at once, so its passes are kept smaller (on the
    AMD EPYC, one thread: IW passes 7% faster with 4 sentences than 8; a GRU's the same with 2, 4 or 8,
    docs/RESULTS.md)."""
    decoder = json.loads((run_dir / "config.json").read_text())["config"]["decoder"]
    return ["--iw-batch-size", str(IW_BATCH_SIZE[decoder])] if decoder in IW_BATCH_SIZE else []


def evaluate(name: str, kind: str, run_dir: Path, test_file: Path, iw_samples: int, precision: str, log,
             threads: int | None = None) -> dict:
    """Evaluate one row with `textvae evaluate --json` in a subprocess (with `threads` CPU threads)."""
    extra = (["--iw-samples", str(iw_samples), "--iw-precision", precision, *iw_batch_options(run_dir)]
             if kind == "vae" else [])
    log(f"[{name}] evaluating on {test_file.name}" + (f" (K = {iw_samples})" if kind == "vae" else ""))
    report = evaluate_report(name, run_dir, test_file, extra, threads)
    result = {key: report[key] for key in ("neg_elbo", "reconstruction", "kl", "sentences", "tokens")}
    if kind == "vae":
        result.update(iw_nll=report["iw_nll"], ppl=report["iw_ppl"], iw_samples=iw_samples, iw_precision=precision,
                      mi=report["mi"], au=report["au"])
    elif kind == "lm":  # exact likelihood: NLL = -log p(x)
        result.update(iw_nll=report["neg_elbo"], ppl=report["ppl"], kl=0.0, mi=None, au=None)
    elif kind == "speed":  # -ELBO, KL, MI and AU, no importance-weighted NLL
        result.update(iw_nll=None, ppl=None, mi=report["mi"], au=report["au"])
    else:  # an autoencoder defines no density (no NLL, PPL or KL) and no q(z|x) to estimate MI from
        result.update(iw_nll=None, ppl=None, kl=None, mi=None, au=report["au"])
    return result


def run_row(name: str, plan: tuple, run_dir: Path, train_it: bool, test_file: Path, iw_samples: int, precision: str,
            threads: int | None) -> dict:
    """Train (when asked) and evaluate one row; the evaluation plus wall times and peak training RSS."""
    config, overrides, kind = plan
    wall = peak = None
    if train_it:
        wall, peak = train(name, config, overrides, run_dir, print, threads)
    start = time.perf_counter()
    result = evaluate(name, kind, run_dir, test_file, iw_samples, precision, print, threads)
    result.update(train_wall_s=wall, peak_rss_mb=peak, threads=threads if train_it else None,
                  eval_wall_s=time.perf_counter() - start)
    write_json(run_dir / "bench_row.json", result)  # kept beside the model should the run stop before the table
    print(f"[{name}] done: trained in {fmt(wall, 0)} s, evaluated in {result['eval_wall_s']:.0f} s")
    return result


def quick_test_file(test_file: Path, folder: Path) -> Path:
    """The first 200 sentences of `test_file`, written to `folder` (the smoke runs' test set)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "test-200.txt"
    path.write_text("\n".join(load_texts(test_file)[:200]) + "\n")
    return path


def fmt(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)
