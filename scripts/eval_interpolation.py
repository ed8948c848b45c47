"""Interpolation: are the sentences between two posterior means well-formed? AE vs VAE.

A sentence counts as well-formed when its per-token NLL under a decoder-only language model is below a
threshold calibrated on real test sentences (their 90th percentile). Also counts the distinct
sentences along each path.

    python scripts/eval_interpolation.py --vae DIR --ae DIR --lm DIR [--pairs 200 --steps 8]
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results_doc import update_section  # noqa: E402

from textvae import TextVAE  # noqa: E402
from textvae.data import load_texts  # noqa: E402
from textvae.models.registry import DEFAULT_AE, default_model_path  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "qqp_paraphrase_50k" / "test.tsv"
RESULTS = ROOT / "benchmarks" / "results" / "interpolation.json"


@torch.no_grad()
def per_token_nll(lm: TextVAE, texts: list[str], batch: int = 128) -> list[float]:
    """Mean NLL per token (incl. EOS) of each text under the LM; empty texts score +inf."""
    scores = []
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        keep = [t for t in chunk if t.strip()]
        values = iter([])
        if keep:
            b = lm.make_batch(keep)
            values = iter((lm.reconstruction_nll(b, None) / b["lengths"]).tolist())
        scores += [next(values) if t.strip() else float("inf") for t in chunk]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vae", default=None, help="VAE folder (default: bundled)")
    parser.add_argument("--ae", default=None, help="AE folder with the same architecture (default: bundled)")
    parser.add_argument("--lm", required=True, help="decoder-only LM folder (e.g. trained from configs/qqp_gru_lm.yaml)")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--method", default="linear", choices=["linear", "slerp"])
    args = parser.parse_args()
    random.seed(0)
    torch.manual_seed(0)
    vae = TextVAE.from_pretrained(args.vae, device="cpu")
    ae = TextVAE.from_pretrained(args.ae or default_model_path(DEFAULT_AE), device="cpu")
    lm = TextVAE.from_pretrained(args.lm, device="cpu")
    texts = load_texts(args.data, 0)
    real = load_texts(args.data, 1)[:1000]
    threshold = sorted(per_token_nll(lm, real))[int(0.9 * len(real))]
    pairs = [tuple(random.sample(texts, 2)) for _ in range(args.pairs)]
    result = {"threshold_nll_per_token": threshold, "pairs": args.pairs, "steps": args.steps,
              "method": args.method, "date": datetime.date.today().isoformat(), "models": {}, "examples": {}}
    for name, model in (("ae", ae), ("vae", vae)):
        middles, distinct = [], []
        for a, b in pairs:
            path = model.interpolate(a, b, steps=args.steps, method=args.method)
            middles += path[1:-1]
            distinct.append(len(set(path)))
        nll = per_token_nll(lm, middles)
        well = sum(x <= threshold for x in nll) / len(nll)
        result["models"][name] = {"well_formed_rate": well, "mean_distinct_per_path": sum(distinct) / len(distinct)}
        result["examples"][name] = model.interpolate(*pairs[0], steps=args.steps, method=args.method)
        print(f"{name}: well-formed {well:.3f}, distinct sentences per {args.steps}-point path "
              f"{sum(distinct) / len(distinct):.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    rows = "\n".join(f"| {n.upper()} | {m['well_formed_rate']:.3f} | {m['mean_distinct_per_path']:.2f} |"
                     for n, m in result["models"].items())
    markdown = (f"| model | well-formed intermediate sentences | distinct sentences per {args.steps}-point path |\n"
                f"|---|---|---|\n{rows}\n\nThreshold: per-token NLL ≤ {threshold:.2f} under the LM "
                f"(90th percentile of {len(real)} real test questions); {args.pairs} random test pairs, {args.method} paths.")
    update_section("interpolation", "Interpolation: AE vs VAE (QQP)", markdown, "python " + " ".join(sys.argv))
    print(markdown)


if __name__ == "__main__":
    main()
