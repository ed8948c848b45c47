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
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchkit.paths import RESULTS_DIR, ROOT
from benchkit.ptb import (
    ABLATIONS,
    QUICK,
    ROWS,
    TIMED,
    fmt,
    quick_test_file,
    run_row,
    seconds_per_epoch,
    train,
)
from benchkit.results import DOC, command_line, update_section
from textvae.config import load_experiment
from textvae.fastcpu.machine import machine_info
from textvae.io import atomic_write_text
from textvae.metrics import MI_ESTIMATOR
from textvae.metrics.likelihood import PRECISIONS

RESULTS = RESULTS_DIR / "ptb.json"
RUN_LOG = RESULTS_DIR / "ptb_run.json"


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
        write_results(rows, {"command": command_line(), "rows": names, "trained": sorted(to_train),
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
