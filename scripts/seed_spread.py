"""How far a PTB benchmark row moves with the training seed alone: train one row of bench_ptb.py with
several `train.seed` values (data order, initialization, dropout masks; nothing else changes), evaluate
each as the benchmark does, print every seed and the mean ± standard deviation, write
benchmarks/results/seed_spread.json (one run per machine and row) and its docs/RESULTS.md section.

    python scripts/seed_spread.py                            # gru_vae_minilm, seeds 0-3, K = 100
    python scripts/seed_spread.py --row gru_ae --seeds 0 1 2
    python scripts/seed_spread.py --quick                    # smoke run: 20 steps, 200 sentences, K = 5

A difference between two configurations smaller than about two standard deviations of this spread is
not evidence that one is better.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchkit.paths import RESULTS_DIR, ROOT
from benchkit.ptb import QUICK, ROWS, fmt, quick_test_file, run_row, seconds_per_epoch
from benchkit.results import DOC, command_line, record_run, update_section
from textvae.config import load_experiment
from textvae.fastcpu.machine import machine_info
from textvae.metrics.likelihood import PRECISIONS

RESULTS = RESULTS_DIR / "seed_spread.json"
METRICS = ("iw_nll", "ppl", "neg_elbo", "reconstruction", "kl", "mi", "au", "sec_per_epoch")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--row", default="gru_vae_minilm", choices=list(ROWS), help="a bench_ptb.py row")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--iw-samples", type=int, default=100,
                        help="K of the IW-NLL (default 100: the spread, not the published figure, is measured)")
    parser.add_argument("--iw-precision", choices=PRECISIONS, default="bf16")
    parser.add_argument("--runs-dir", default=None, help="default runs/seeds (runs/seeds-quick with --quick)")
    parser.add_argument("--jobs", type=int, default=None, help="seeds trained at once (default: one per core)")
    parser.add_argument("--quick", action="store_true", help="smoke run; writes no results")
    args = parser.parse_args()
    if len(set(args.seeds)) < 2:
        parser.error("a spread needs at least two different seeds")
    return args


def summarize(per_seed: list[dict]) -> dict[str, dict]:
    """metric -> mean, sample standard deviation, min and max over the seeds (metrics the row reports)."""
    summary = {}
    for key in METRICS:
        values = [r[key] for r in per_seed if r.get(key) is not None]
        if len(values) == len(per_seed):
            summary[key] = {"mean": statistics.fmean(values), "std": statistics.stdev(values),
                            "min": min(values), "max": max(values)}
    return summary


def table(per_seed: list[dict], summary: dict[str, dict]) -> str:
    keys = [k for k in METRICS if k in summary]
    lines = ["| seed | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
    lines += [f"| {r['seed']} | " + " | ".join(fmt(r[k]) for k in keys) + " |" for r in per_seed]
    lines.append("| mean ± std | " + " | ".join(f"{summary[k]['mean']:.2f} ± {summary[k]['std']:.2f}"
                                               for k in keys) + " |")
    return "\n".join(lines)


def publish(runs: list[dict]) -> None:
    parts = []
    for run in runs:
        parts.append(f"**{run['row']}** on {run['machine']['label']}, {len(run['seeds'])} seeds, "
                     f"K = {run['iw_samples']}, {run['jobs']} jobs × {run['threads']} thread(s), "
                     f"{run['wall_s'] / 60:.1f} min ({run['date']}; `{run['command']}`):\n\n"
                     + table(run["per_seed"], run["summary"]))
    update_section("seed_spread", "Seed spread of a PTB row", "\n\n".join(parts) + "\n\nOnly `train.seed` "
                   "changes between the runs of a row; the evaluation draws its samples with seed 0. s/epoch "
                   "is measured with every core busy.", "python scripts/seed_spread.py")


def main() -> None:
    args = parse_args()
    config, overrides, kind = ROWS[args.row]
    overrides = overrides + (QUICK if args.quick else [])
    iw_samples = 5 if args.quick else args.iw_samples
    runs_dir = ROOT / (args.runs_dir or ("runs/seeds-quick" if args.quick else "runs/seeds")) / args.row
    test_file = Path(load_experiment(ROOT / config, overrides).data.test)
    if args.quick:
        test_file = quick_test_file(test_file, runs_dir)
    cores = os.cpu_count() or 1
    jobs = max(1, min(args.jobs or cores, len(args.seeds)))
    threads = max(1, cores // jobs)
    machine = machine_info(measure=not args.quick)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {seed: pool.submit(run_row, f"{args.row} seed {seed}",
                                     (config, overrides + [f"train.seed={seed}"], kind), runs_dir / f"seed-{seed}",
                                     True, test_file, iw_samples, args.iw_precision, threads)
                   for seed in args.seeds}
        per_seed = [{"seed": seed, **future.result(), "sec_per_epoch": seconds_per_epoch(runs_dir / f"seed-{seed}")}
                    for seed, future in futures.items()]
    summary = summarize(per_seed)
    print(table(per_seed, summary))
    if args.quick:
        return
    run = {"row": args.row, "config": config, "overrides": overrides, "seeds": args.seeds, "iw_samples": iw_samples,
           "iw_precision": args.iw_precision, "jobs": jobs, "threads": threads, "machine": machine,
           "wall_s": time.perf_counter() - start, "date": datetime.date.today().isoformat(),
           "command": command_line(), "per_seed": per_seed, "summary": summary}
    publish(record_run(RESULTS, run, key="row"))
    print(f"wrote {RESULTS} and {DOC}")


if __name__ == "__main__":
    main()
