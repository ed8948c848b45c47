"""The rate-distortion trade-off of a text VAE: one architecture trained at several rates, judged on unseen input.

Each run trains `configs/rate_sweep_gru_vae.yaml` with a different per-dimension free-bits floor (the
rate, KL(q(z|x) || N(0, I)) in nats per text, follows it), then measures on unseen QQP test questions:
how much of the sentence survives z (MiniLM cosine of the decode of mu to the input), how varied the
samples around it are (self-BLEU, how many of 5 differ from the input, their cosine to it) and how fluent
prior samples z ~ N(0, I) are (median per-token NLL under a decoder-only LM, against real questions).
Writes benchmarks/results/rate_distortion.json, docs/rate_distortion.png and a docs/RESULTS.md section.

    python scripts/rate_distortion.py --lm runs/general-gru-lm                     # train and evaluate
    python scripts/rate_distortion.py --lm runs/general-gru-lm --reuse             # evaluate saved runs
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import subprocess
import sys
from pathlib import Path

import torch

from benchkit.corpora import qqp_unseen
from benchkit.fidelity import evaluate_set
from benchkit.judges import embed, per_token_nll
from benchkit.paths import DOCS, QQP, RESULTS_DIR, ROOT
from benchkit.results import command_line, update_section
from textvae import TextVAE
from textvae.fastcpu.machine import machine_info
from textvae.io import WEIGHTS_FILE, write_json
from textvae.nlu import PretrainedEncoder

CONFIG = ROOT / "configs" / "rate_sweep_gru_vae.yaml"
RESULTS = RESULTS_DIR / "rate_distortion.json"
FIGURE = DOCS / "rate_distortion.png"


def train(free_bits: float, folder: Path, reuse: bool) -> None:
    """`textvae train` of the sweep config at this free-bits floor (skipped when reusing a saved model)."""
    if reuse and (folder / WEIGHTS_FILE).is_file():
        return
    subprocess.run([sys.executable, "-m", "textvae.cli.main", "train", "--config", str(CONFIG), "--output",
                    str(folder), "--set", f"objective.free_bits={free_bits}"], check=True)


def mean_kl(model: TextVAE, texts: list[str]) -> float:
    """E_x KL(q(z|x) || N(0, I)) in nats per text."""
    mu, logvar = model.encode(texts)
    return (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)).mean().item()


def evaluate(model: TextVAE, judge: PretrainedEncoder, lm: TextVAE, texts: list[str], vecs: torch.Tensor,
             scale: float) -> dict:
    """Rate, fidelity, sample variety and prior-sample fluency of one model."""
    torch.manual_seed(0)
    metrics, _ = evaluate_set(model, judge, None, texts, vecs, scale)
    prior = model.sample(len(texts))
    return {"kl": mean_kl(model, texts), "recon_cos": metrics["recon_cos"], "recon_exact": metrics["recon_exact"],
            "sample_cos": metrics["sample_cos"], "differ": metrics["differ"], "self_bleu": metrics["self_bleu"],
            "prior_nll": statistics.median(per_token_nll(lm, prior)), "prior_examples": prior[:3]}


def figure(rows: list[dict], real_nll: float, path: Path) -> None:
    """Three panels against the rate: reconstruction cosine, sample self-BLEU, prior-sample NLL."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kl = [r["kl"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    panels = [("recon_cos", "reconstruction: MiniLM cosine to input"), ("self_bleu", "samples: self-BLEU (lower = more varied)"),
              ("prior_nll", "prior samples: LM NLL / token")]
    for ax, (key, title) in zip(axes, panels):
        ax.plot(kl, [r[key] for r in rows], "o-")
        for r in rows:
            ax.annotate(f"fb {r['free_bits']:g}", (r["kl"], r[key]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("KL (nats per text)")
        ax.set_title(title, fontsize=9)
    axes[2].axhline(real_nll, color="grey", ls="--", lw=1, label="real questions")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(rows: list[dict], real_nll: float) -> str:
    lines = ["| free bits / dim | KL | recon cos | recon exact % | sample cos | differ (of 5) | self-BLEU | "
             "prior-sample NLL/token |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['free_bits']:g} | {r['kl']:.1f} | {r['recon_cos']:.3f} | {r['recon_exact']:.1f} | "
              f"{r['sample_cos']:.3f} | {r['differ']:.2f} | {r['self_bleu']:.1f} | {r['prior_nll']:.2f} |" for r in rows]
    return "\n".join(lines) + f"\n\nReal questions under the same LM: median {real_nll:.2f} nats per token."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--free-bits", type=float, nargs="+", default=[0.125, 0.25, 0.5, 1.0])
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "rate")
    parser.add_argument("--lm", required=True, help="decoder-only LM folder judging fluency")
    parser.add_argument("--inputs", type=int, default=400, help="unseen QQP test questions used")
    parser.add_argument("--scale", type=float, default=1.0, help="sampling scale around mu")
    parser.add_argument("--reuse", action="store_true", help="evaluate saved runs instead of training them again")
    args = parser.parse_args()
    texts, _ = qqp_unseen(QQP, args.inputs)
    judge = PretrainedEncoder("minilm").eval()
    lm = TextVAE.from_pretrained(args.lm, device="cpu")
    vecs = embed(judge, texts)
    real_nll = statistics.median(per_token_nll(lm, texts))
    rows = []
    for free_bits in args.free_bits:
        folder = args.runs_dir / f"fb{free_bits:g}"
        train(free_bits, folder, args.reuse)
        model = TextVAE.from_pretrained(folder, device="cpu")
        rows.append({"free_bits": free_bits, **evaluate(model, judge, lm, texts, vecs, args.scale)})
        print(f"free bits {free_bits:g}: KL {rows[-1]['kl']:.1f}, recon cos {rows[-1]['recon_cos']:.3f}")
    rows.sort(key=lambda r: r["kl"])
    print(table(rows, real_nll))
    command = command_line()
    write_json(RESULTS, {"date": datetime.date.today().isoformat(), "machine": machine_info(), "command": command,
                         "config": str(CONFIG.relative_to(ROOT)), "inputs": len(texts), "scale": args.scale,
                         "real_nll": real_nll, "rows": rows})
    figure(rows, real_nll, FIGURE)
    update_section("rate_distortion", "Rate-distortion: what the KL buys (text VAE)",
                   f"{table(rows, real_nll)}\n\n![rate-distortion](rate_distortion.png)\n\n"
                   f"{len(texts)} unseen QQP test questions; samples at scale {args.scale:g}, 5 per input; 400 "
                   "prior samples. Each run: `configs/rate_sweep_gru_vae.yaml` (60,000 texts, one epoch) with "
                   "`--set objective.free_bits=F`.", command)
    print(f"wrote {RESULTS}, {FIGURE}")


if __name__ == "__main__":
    main()
