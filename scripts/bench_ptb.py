"""PTB benchmark under the standard protocol: train (or reuse) each configuration, evaluate on the
test set, print one table, write benchmarks/results/ptb.json and the table in docs/RESULTS.md.

    python scripts/bench_ptb.py                       # the default rows, IW-NLL with K = 500 (bf16 decoder passes)
    python scripts/bench_ptb.py --all                 # also the ablation rows (ABLATIONS)
    python scripts/bench_ptb.py --rows gru_vae_minilm gru_lm --reuse --iw-samples 100   # an ablation row too
    python scripts/bench_ptb.py --quick               # smoke run: a few steps, 200 test sentences

Rows run in a pool of --jobs workers (default: one per core, one thread each); each worker trains a
row (`textvae train`) and then evaluates it (`textvae evaluate --json`), longest rows first (by the
previous run's times). The speed reference (TIMED) trains first, alone, with every core, so its
seconds per epoch are the machine's. benchmarks/results/ptb_run.json records the wall time of the last
run that trained every default row (a run of some rows updates their rows only).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results_doc import DOC, update_section  # noqa: E402

from textvae.config import load_experiment  # noqa: E402
from textvae.data import load_texts  # noqa: E402
from textvae.fastcpu.machine import machine_info  # noqa: E402
from textvae.io import atomic_write_text, write_json  # noqa: E402
from textvae.metrics import MI_ESTIMATOR  # noqa: E402
from textvae.metrics.likelihood import PRECISIONS  # noqa: E402

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
RESULTS = ROOT / "benchmarks" / "results" / "ptb.json"
RUN_LOG = ROOT / "benchmarks" / "results" / "ptb_run.json"


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


def minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


def table(rows: list[dict]) -> str:
    head = ("| config | IW-NLL | K | PPL | −ELBO | KL | MI | AU | s/epoch | peak RSS MB | train min | eval min | "
            "threads | machine | date |")
    lines = [head, "|" + "---|" * 15]
    for r in rows:
        star = " **best**" if r.get("best") else ""
        lines.append(f"| {r['config']}{star} | {fmt(r['iw_nll'])} | {fmt(r.get('iw_samples'))} | {fmt(r['ppl'])} | "
                     f"{fmt(r['neg_elbo'])} | {fmt(r['kl'])} | {fmt(r['mi'])} | {fmt(r['au'])} | {fmt(r['sec_per_epoch'], 1)} | "
                     f"{fmt(r['peak_rss_mb'], 0)} | {minutes(r.get('train_wall_s'))} | {minutes(r.get('eval_wall_s'))} | "
                     f"{fmt(r.get('threads'))} | {r.get('machine', '–')} | {r['date']} |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", choices=list(ROWS),
                        help=f"rows to run (default: all but the ablations {', '.join(ABLATIONS)})")
    parser.add_argument("--all", action="store_true", help="every row, the ablations included")
    parser.add_argument("--runs-dir", default=None, help="where each row's model is trained "
                        "(default runs/bench, runs/bench-quick with --quick)")
    parser.add_argument("--reuse", action="store_true", help="evaluate an existing trained model instead of training")
    parser.add_argument("--iw-samples", type=int, default=500)
    parser.add_argument("--iw-precision", choices=PRECISIONS, default="bf16",
                        help="precision of the decoder passes of the IW estimate (bf16: measured 2.2x faster "
                             "and within 0.001 nats of fp32, docs/RESULTS.md)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 steps, 200 test sentences, K = 5")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra override for every row")
    parser.add_argument("--jobs", type=int, default=None,
                        help="rows run at once, each with cores/jobs threads (default: one per core, at most one "
                             "per row; the sequential parts of training leave a second core idle)")
    return parser.parse_args()


def schedule(names: list[str], to_train: set[str], previous: dict[str, dict]) -> list[str]:
    """Longest rows first, by the previous run's train + evaluation times (rows never timed first), so
    the pool does not end on one long row while the other workers idle."""
    def cost(name: str) -> float:
        old = previous.get(name, {})
        if old.get("eval_wall_s") is None or (name in to_train and old.get("train_wall_s") is None):
            return float("inf")
        return old["eval_wall_s"] + (old["train_wall_s"] if name in to_train else 0.0)
    return sorted(names, key=cost, reverse=True)


def main() -> None:
    args = parse_args()
    names = list(ROWS) if args.all else args.rows or [n for n in ROWS if n not in ABLATIONS]
    iw_samples = 5 if args.quick else args.iw_samples
    runs = ROOT / (args.runs_dir or ("runs/bench-quick" if args.quick else "runs/bench"))
    plans = {name: (ROWS[name][0], ROWS[name][1] + args.overrides + (QUICK if args.quick else []), ROWS[name][2])
             for name in names}
    test_file = Path(load_experiment(ROOT / plans[names[0]][0], plans[names[0]][1]).data.test)
    if args.quick:
        test_file = quick_test_file(test_file, runs)
    cores = os.cpu_count() or 1
    machine = machine_info(measure=not args.quick)  # before any row starts: the matmul rates of an idle machine
    print(f"machine: {machine['label']}")
    previous = latest_rows(load_results(), machine["label"])
    jobs = max(1, args.jobs or min(cores, len(names)))
    threads = max(1, cores // jobs)
    to_train = {n for n in names if not (args.reuse and (runs / n / "config.json").exists())}
    start = time.perf_counter()
    timed = {}
    if TIMED in to_train:  # alone and with every core: its seconds per epoch are the speed target's
        wall, peak = train(TIMED, *plans[TIMED][:2], runs / TIMED, print, cores)
        timed = {"train_wall_s": wall, "peak_rss_mb": peak, "threads": cores}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {n: pool.submit(run_row, n, plans[n], runs / n, n in to_train and n != TIMED, test_file,
                                  iw_samples, args.iw_precision, threads)
                   for n in schedule(names, to_train, previous)}
        results = {n: future.result() for n, future in futures.items()}
    total = time.perf_counter() - start
    if timed:
        results[TIMED].update(timed)
    rows = []
    for name in names:
        result = results[name]
        old = previous.get(name, {})
        if args.quick or old.get("machine") != machine["label"]:  # borrowed: this machine's real runs only
            old = {}
        for key in ("peak_rss_mb", "train_wall_s", "threads"):  # training's figures, kept when it was reused
            if result.get(key) is None:
                result[key] = old.get(key)
        rows.append({"config": name, "kind": plans[name][2], **result, "sec_per_epoch": seconds_per_epoch(runs / name),
                     "overrides": plans[name][1], "jobs": jobs, "machine": machine["label"],
                     "date": datetime.date.today().isoformat(),
                     "quick": args.quick})
    summary = (f"{len(names)} rows ({len(to_train)} trained, K = {iw_samples}) in {total / 60:.1f} min, "
               f"{jobs} jobs x {threads} thread(s) on {machine['label']}")
    print(summary)
    mark_best(rows)
    print(table(rows))
    if not args.quick:
        write_results(rows, {"command": "python " + " ".join(sys.argv), "rows": names, "trained": sorted(to_train),
                             "iw_samples": iw_samples, "jobs": jobs, "threads": threads, "cores": cores,
                             "machine": machine,
                             "wall_s": total, "date": datetime.date.today().isoformat(), "summary": summary},
                      full=set(ROWS) - set(ABLATIONS) <= to_train)


def row_key(row: dict) -> tuple[str, str]:
    """A row is one configuration measured on one machine: the same config on two machines is two rows."""
    return row["config"], row.get("machine", "")


def load_results() -> dict[tuple[str, str], dict]:
    """ptb.json's rows by (config, machine) (empty before the first run)."""
    return {row_key(r): r for r in json.loads(RESULTS.read_text())} if RESULTS.exists() else {}


def latest_rows(results: dict[tuple[str, str], dict], machine: str) -> dict[str, dict]:
    """One row per config: this machine's where there is one, else the most recent."""
    rows: dict[str, dict] = {}
    for (config, _), row in sorted(results.items(), key=lambda item: (item[0][1] == machine, item[1]["date"])):
        rows[config] = row
    return rows


def mark_best(rows: list[dict]) -> None:
    """`best` on the VAE row with the lowest IW-NLL (the speed reference excluded), on no other row."""
    for r in rows:
        r.pop("best", None)
    vaes = [r for r in rows if r["kind"] == "vae" and r["config"] != TIMED]  # older runs: the reference as "vae"
    if vaes:
        min(vaes, key=lambda r: r["iw_nll"])["best"] = True


def write_results(rows: list[dict], run: dict, full: bool) -> None:
    """Merge the rows into ptb.json (one best VAE row overall), update docs/RESULTS.md; a `full` run (every
    default row trained) is recorded in ptb_run.json, which a partial run leaves as it is."""
    merged = {**load_results(), **{row_key(r): r for r in rows}}  # re-read: another run may have written rows
    ordered = sorted(merged.values(), key=lambda r: (list(ROWS).index(r["config"]), r["date"]))
    mark_best(ordered)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS, json.dumps(ordered, indent=2) + "\n")
    if full or not RUN_LOG.exists():
        atomic_write_text(RUN_LOG, json.dumps(run, indent=2) + "\n")
    else:  # the doc keeps citing the last full run
        run = json.loads(RUN_LOG.read_text())
    publish(ordered, run)
    print(f"wrote {RESULTS}{f', {RUN_LOG}' if full else ''} and {DOC}")


def publish(rows: list[dict], run: dict) -> None:
    """The table and the last run's summary as the "ptb" section of docs/RESULTS.md."""
    update_section("ptb", "PTB benchmark", table(rows) + f"\n\nMI estimator: {MI_ESTIMATOR}. PPL = "
                   "exp(total NLL / tokens), tokens = words + one EOS per sentence (82,430 on the PTB test set). "
                   f"Last full run (every default row trained): {run['summary']} ({run['date']}). The machine column is `textvae env`'s label: CPUs "
                   "of the same core count differ several-fold in matmul speed.", run["command"])


if __name__ == "__main__":
    main()
