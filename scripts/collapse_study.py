"""Posterior-collapse study: the same GRU VAE on PTB under each anti-collapse technique.

Variants: (a) no annealing, no word dropout; (b) linear and logistic annealing; (c) annealing + word
dropout; (d) cyclical annealing; (e) free bits; (f) a β sweep. Prints NLL / KL / MI / AU on the test
set, writes benchmarks/results/collapse.json, docs/collapse_study.png (validation KL and MI during
training) and its section of docs/RESULTS.md.

    python scripts/collapse_study.py                 # every variant, --steps optimizer steps each
    python scripts/collapse_study.py --quick         # smoke run
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

import torch

from benchkit.paths import DOCS, RESULTS_DIR, ROOT
from benchkit.results import command_line, update_section
from textvae import TextVAE
from textvae.config import load_experiment
from textvae.data import TextDataset, load_texts
from textvae.metrics import evaluate_elbo, evaluate_iw_nll, latent_report

BASE = "configs/ptb_gru_vae.yaml"


def variants(steps: int) -> dict[str, list[str]]:
    """name -> overrides of the base GRU VAE; schedules are scaled to the run length."""
    half, quarter = max(1, steps // 2), max(1, steps // 4)
    none = ["objective.word_dropout=0.0", "objective.free_bits=0.0"]
    logistic = ["objective.beta_schedule=logistic", f"objective.logistic_x0={quarter}",
                f"objective.logistic_k={10 / max(1, quarter):.6f}"]
    return {
        "a_no_anneal_no_wd": ["objective.beta_schedule=constant", *none],
        "b_linear": ["objective.beta_schedule=linear", f"objective.anneal_steps={half}", *none],
        "b_logistic": [*logistic, *none],
        "c_logistic_word_dropout": [*logistic, "objective.word_dropout=0.4", "objective.free_bits=0.0"],
        "d_cyclical": ["objective.beta_schedule=cyclical", f"objective.cycle_steps={quarter}",
                       "objective.cycle_zero=0.25", "objective.cycle_rise=0.5", *none],
        "e_free_bits": ["objective.beta_schedule=constant", "objective.word_dropout=0.0", "objective.free_bits=0.5"],
        **{f"f_beta_{b:g}": ["objective.beta_schedule=constant", f"objective.beta={b}", *none] for b in (0.2, 0.5, 2.0)},
    }


def curves(run_dir: Path) -> dict[str, list[float]]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    valid = [r for r in records if "valid_kl" in r]
    return {"step": [r["step"] for r in valid], "kl": [r["valid_kl"] for r in valid],
            "mi": [r.get("valid_mi") for r in valid]}


def finished(run_dir: Path, steps: int) -> bool:
    """Whether run_dir holds a completed run of exactly `steps` steps (its last logged step)."""
    log = run_dir / "metrics.jsonl"
    if not (run_dir / "config.json").exists() or not log.exists():
        return False
    return [json.loads(line) for line in log.read_text().splitlines()][-1].get("step") == steps


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, row in results.items():
        c = row["curves"]
        axes[0].plot(c["step"], c["kl"], label=name)
        axes[1].plot(c["step"], c["mi"], label=name)
    axes[0].set(title="validation KL (nats)", xlabel="step")
    axes[1].set(title="validation MI I(x;z) (nats)", xlabel="step")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4000, help="optimizer steps per variant")
    parser.add_argument("--iw-samples", type=int, default=50)
    parser.add_argument("--only", nargs="+", default=None, help="run these variants only")
    parser.add_argument("--runs-dir", default="runs/collapse")
    parser.add_argument("--test-sentences", type=int, default=1000,
                        help="first N PTB test sentences to evaluate on (IW-NLL costs K decodes each); 0 = all")
    parser.add_argument("--reuse", action="store_true", help="evaluate variants already trained in --runs-dir")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    steps = 20 if args.quick else args.steps
    eval_every = max(5, steps // 10)
    common = [f"train.max_steps={steps}", "train.epochs=100", f"train.eval_every={eval_every}", "train.patience=0",
              f"train.save_every={steps}"] + (["data.max_examples=2000"] if args.quick else [])
    chosen = {k: v for k, v in variants(steps).items() if args.only is None or k in args.only}
    test_texts = load_texts(load_experiment(ROOT / BASE).data.test)[: 200 if args.quick else args.test_sentences or None]
    results = {}
    for name, overrides in chosen.items():
        run_dir = ROOT / args.runs_dir / name
        cmd = [sys.executable, "-m", "textvae.cli.main", "train", "--config", str(ROOT / BASE), "--output",
               str(run_dir), "--quiet", *sum((["--set", o] for o in overrides + common), [])]
        if not (args.reuse and finished(run_dir, steps)):
            print(f"[{name}] training {steps} steps")
            subprocess.run(cmd, cwd=ROOT, check=True)
        torch.manual_seed(0)
        model = TextVAE.from_pretrained(run_dir, device="cpu")
        dataset = TextDataset(test_texts, model.tokenizer)
        elbo = evaluate_elbo(model, dataset)
        iw = evaluate_iw_nll(model, dataset, 5 if args.quick else args.iw_samples)
        latent = latent_report(model, dataset)
        results[name] = {"overrides": overrides, "iw_nll": iw["iw_nll"], "ppl": iw["iw_ppl"],
                         "neg_elbo": elbo["neg_elbo"], "kl": latent["kl"], "mi": latent["mi"], "au": latent["au"],
                         "curves": curves(run_dir)}
    lines = ["| variant | IW-NLL | PPL | −ELBO | KL | MI | AU |", "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['iw_nll']:.2f} | {r['ppl']:.1f} | {r['neg_elbo']:.2f} | {r['kl']:.2f} | "
                     f"{r['mi']:.2f} | {r['au']} |")
    markdown = "\n".join(lines)
    print(markdown)
    if not args.quick:
        out = RESULTS_DIR / "collapse.json"
        out.write_text(json.dumps({"steps": steps, "iw_samples": args.iw_samples, "base": BASE,
                                   "test_sentences": len(test_texts),
                                   "date": datetime.date.today().isoformat(), "variants": results}, indent=2) + "\n")
        plot(results, DOCS / "collapse_study.png")
        update_section("collapse", "Posterior-collapse study (PTB, GRU VAE)",
                       markdown + f"\n\n{steps} steps per variant (batch 64); metrics on the first {len(test_texts)} "
                       f"PTB test sentences, IW-NLL with K = {args.iw_samples}. "
                       "![KL and MI during training](collapse_study.png)", command_line())


if __name__ == "__main__":
    main()
