"""Why the variation matters, measured on text: interpolation paths and random codes, AE vs VAE.

Judges (the same for both models of the same architecture):
- LM fluency: per-token NLL under a decoder-only language model; a sentence is well-formed when it is
  below a threshold calibrated on real test sentences -- reported at their median (strict) and 90th
  percentile (lenient) -- and the mean NLL itself.
- Path smoothness: MiniLM cosine between consecutive sentences on a path (mean, and the mean of each
  path's smallest step: a jump across a hole shows as one small similarity), and distinct sentences.
- Random codes ("holes"): decode 1,000 z drawn from the VAE's prior N(0, I), and for the AE from a
  Gaussian fitted to its training-set codes (mean and per-dimension variance of the codes of real
  sentences) -- the fairest random code an AE offers -- then judge them with the LM.

    python scripts/eval_interpolation.py --vae DIR --ae DIR --lm DIR [--pairs 200 --steps 8]
"""

from __future__ import annotations

import argparse
import datetime
import json
import random

import torch

from benchkit.judges import per_token_nll
from benchkit.paths import QQP, RESULTS_DIR
from benchkit.results import command_line, update_section
from textvae import TextVAE
from textvae.apps.similarity import sentence_embeddings
from textvae.data import load_texts
from textvae.models.registry import DEFAULT_AE, default_model_path

RESULTS = RESULTS_DIR / "interpolation.json"


def fluency(lm: TextVAE, texts: list[str], thresholds: dict[str, float]) -> dict[str, float]:
    nll = per_token_nll(lm, texts)
    finite = [x for x in nll if x != float("inf")]
    out = {f"well_formed_{name}": sum(x <= t for x in nll) / len(nll) for name, t in thresholds.items()}
    return {**out, "mean_nll_per_token": sum(finite) / max(1, len(finite))}


def smoothness(judge: TextVAE, paths: list[list[str]]) -> dict[str, float]:
    """MiniLM cosine between consecutive sentences of each path."""
    steps = len(paths[0])
    vecs = torch.cat([sentence_embeddings(judge, p) for p in paths]).view(len(paths), steps, -1)
    cos = (vecs[:, 1:] * vecs[:, :-1]).sum(-1)  # (paths, steps - 1); embeddings are unit-normalized
    return {"mean_step_similarity": cos.mean().item(), "mean_smallest_step_similarity": cos.min(1).values.mean().item()}


@torch.no_grad()
def random_codes(model: TextVAE, train_texts: list[str], n: int) -> list[str]:
    """VAE: z ~ N(0, I). AE: z ~ N(m, diag(v)) with m, v the mean and variance of its codes of real sentences."""
    if model.variational:
        return model.sample(n)
    mu = torch.cat([model.encode(train_texts[i : i + 256])[0] for i in range(0, len(train_texts), 256)])
    z = mu.mean(0) + mu.std(0) * torch.randn(n, mu.shape[1])
    return model.decode(z)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vae", default=None, help="VAE folder (default: bundled)")
    parser.add_argument("--ae", default=None, help="AE folder with the same architecture (default: bundled)")
    parser.add_argument("--lm", required=True, help="decoder-only LM folder (e.g. trained from configs/qqp_gru_lm.yaml)")
    parser.add_argument("--data", default=str(QQP / "test.tsv"), help="test pairs (TSV); columns 0 and 1 are questions")
    parser.add_argument("--train", default=str(QQP / "train.tsv"), help="where the AE's code statistics come from")
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--random", type=int, default=1000, help="random codes decoded per model")
    parser.add_argument("--method", default="linear", choices=["linear", "slerp"])
    args = parser.parse_args()
    random.seed(0)
    torch.manual_seed(0)
    vae = TextVAE.from_pretrained(args.vae, device="cpu")
    ae = TextVAE.from_pretrained(args.ae or default_model_path(DEFAULT_AE), device="cpu")
    lm = TextVAE.from_pretrained(args.lm, device="cpu")
    texts = load_texts(args.data, 0)
    real = sorted(per_token_nll(lm, load_texts(args.data, 1)[:1000]))
    thresholds = {"p50": real[len(real) // 2], "p90": real[int(0.9 * len(real))]}
    train_texts = load_texts(args.train, 0)[:5000]
    pairs = [tuple(random.sample(texts, 2)) for _ in range(args.pairs)]
    result = {"thresholds_nll_per_token": thresholds, "real_sentences": len(real), "pairs": args.pairs,
              "steps": args.steps, "random_codes": args.random, "method": args.method,
              "date": datetime.date.today().isoformat(), "models": {}, "examples": {}}
    for name, model in (("ae", ae), ("vae", vae)):
        paths = [model.interpolate(a, b, steps=args.steps, method=args.method) for a, b in pairs]
        middles = [s for path in paths for s in path[1:-1]]
        sampled = random_codes(model, train_texts, args.random)
        result["models"][name] = {
            "interpolation": {**fluency(lm, middles, thresholds), **smoothness(vae, paths),
                              "mean_distinct_per_path": sum(len(set(p)) for p in paths) / len(paths)},
            "random_codes": {**fluency(lm, sampled, thresholds), "distinct_sentences": len(set(sampled)) / len(sampled)}}
        result["examples"][name] = {"path": paths[0], "random_codes": sampled[:5]}
        print(name, json.dumps(result["models"][name], indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    rows = []
    for name, m in result["models"].items():
        i, r = m["interpolation"], m["random_codes"]
        rows.append(f"| {name.upper()} | {i['well_formed_p50']:.3f} | {i['well_formed_p90']:.3f} | {i['mean_nll_per_token']:.2f} | "
                    f"{i['mean_step_similarity']:.3f} | {i['mean_smallest_step_similarity']:.3f} | "
                    f"{i['mean_distinct_per_path']:.2f} | {r['well_formed_p50']:.3f} | {r['well_formed_p90']:.3f} | "
                    f"{r['mean_nll_per_token']:.2f} | {r['distinct_sentences']:.3f} |")
    markdown = ("| model | path: well-formed (strict) | path: well-formed (lenient) | path: LM NLL/token | "
                "path: step similarity | path: smallest step | path: distinct / path | random z: well-formed (strict) | "
                "random z: well-formed (lenient) | random z: LM NLL/token | random z: distinct |\n"
                "|" + "---|" * 11 + "\n" + "\n".join(rows) +
                f"\n\nWell-formed: per-token NLL under the LM ≤ the median (strict, {thresholds['p50']:.2f}) or the "
                f"90th percentile (lenient, {thresholds['p90']:.2f}) of {len(real)} real test questions. Paths: "
                f"{args.pairs} random test pairs, {args.steps} {args.method} points from posterior means, greedy; "
                "similarity = MiniLM cosine between consecutive sentences. Random z: "
                f"{args.random} codes, VAE from N(0, I), AE from a Gaussian fitted to its codes of 5,000 training questions.")
    update_section("interpolation", "Interpolation and random codes: AE vs VAE (QQP)", markdown,
                   command_line())
    print(markdown)


if __name__ == "__main__":
    main()
