"""Reparameterization lesson: gradient variance of the reparameterization (pathwise) estimator vs the
score-function (REINFORCE) estimator of the same gradient, ∇_{μ, log σ²} E_{z~q}[f(z)], q = N(μ, σ²).

Objectives:
- toy:  f(z) = -||z - 1||² in D = 1 and D = 20 dimensions (exact gradient known);
- vae:  f(z) = log p(x|z) under a small MLP VAE decoder trained on the 8x8 digits, at the encoder's
        posterior q(z|x) of 20 test images (the reconstruction term of the ELBO).

For S samples per estimate, each estimator is drawn R times; we report the variance per gradient
coordinate (averaged over coordinates and examples) and the mean squared error to the exact gradient (toy) or a
100,000-sample reference (VAE). Writes benchmarks/results/reparam_variance.json and
docs/image/reparam_variance.md.

    python scripts/reparam_variance.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import time
from pathlib import Path

import torch

from textvae.image.data import load_image_data
from textvae.image.demo import fit
from textvae.io import atomic_write_text, write_json
from textvae.latent import DiagonalGaussian

ROOT = Path(__file__).resolve().parents[1]


def estimates(f, mu: torch.Tensor, logvar: torch.Tensor, estimator: str, samples: int, repeats: int) -> torch.Tensor:
    """(repeats, B, 2D) independent gradient estimates of ∇_{mu, logvar} E_q[f(z)], each from `samples`
    draws (f: (..., B, D) -> (..., B)). The repeats are separate copies of (mu, logvar), so one
    backward pass gives every estimate."""
    mu = mu.detach().expand(repeats, *mu.shape).clone().requires_grad_(True)
    logvar = logvar.detach().expand(repeats, *logvar.shape).clone().requires_grad_(True)
    q = DiagonalGaussian(mu, logvar)
    z = q.rsample(samples)  # (S, R, B, D)
    if estimator == "reparameterization":
        surrogate = f(z).mean(0)  # pathwise: gradients flow through z = mu + sigma * eps
    else:
        z = z.detach()
        fz = f(z).detach()  # (S, R, B)
        if estimator == "score-function + baseline":
            if samples < 2:
                raise ValueError("the leave-one-out baseline needs S >= 2")
            fz = fz - (fz.sum(0, keepdim=True) - fz) / (samples - 1)
        surrogate = (fz * q.log_prob(z)).mean(0)  # REINFORCE: f(z) ∇ log q(z)
    g_mu, g_lv = torch.autograd.grad(surrogate.sum(), (mu, logvar))
    return torch.cat([g_mu, g_lv], -1)


def measure(name: str, f, mu, logvar, reference, sample_counts, repeats) -> list[dict]:
    rows = []
    for estimator in ("reparameterization", "score-function", "score-function + baseline"):
        for s in sample_counts:
            if estimator == "score-function + baseline" and s < 2:
                continue
            g = estimates(f, mu, logvar, estimator, s, repeats)
            d = mu.shape[-1]
            var = g.var(0)  # (B, 2D)
            rows.append({"objective": name, "estimator": estimator, "samples": s,
                         "var_mu": var[..., :d].mean().item(), "var_logvar": var[..., d:].mean().item(),
                         "mse": (g - reference).pow(2).sum(-1).mean().item()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer repeats")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/reparam_variance.json"))
    parser.add_argument("--table", default=str(ROOT / "docs/image/reparam_variance.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    start = time.perf_counter()
    repeats = 50 if args.quick else 200
    counts = (1, 10) if args.quick else (1, 10, 100)
    rows: list[dict] = []

    for d in (1, 20):
        mu, logvar = torch.zeros(1, d), torch.zeros(1, d)

        def toy(z):
            return -(z - 1.0).pow(2).sum(-1)
        # E[-(z-1)^2] = -((mu-1)^2 + sigma^2): d/dmu = -2(mu-1) = 2, d/dlogvar = -sigma^2 = -1
        exact = torch.cat([torch.full((1, d), 2.0), torch.full((1, d), -1.0)], -1)
        rows += measure(f"toy -||z-1||², D={d}", toy, mu, logvar, exact, counts, repeats)

    train, test = load_image_data("digits")
    vae = fit("vae", train, 10 if args.quick else 40, latent_dim=8, hidden_dim=256)
    for p in vae.parameters():
        p.requires_grad_(False)
    x = test.images[:20]
    with torch.no_grad():
        q = vae.posterior(x)

    def recon(z):
        return -vae.reconstruction_nll(x, z)
    # reference gradient: the mean of 100 (quick: 20) reparameterization estimates of 1,000 samples each
    reference = estimates(recon, q.mu, q.logvar, "reparameterization", 1000, 20 if args.quick else 100).mean(0)
    rows += measure("VAE log p(x|z), digits, D=8", recon, q.mu, q.logvar, reference, counts, repeats)

    result = {"date": datetime.date(2026, 11, 23).isoformat(), "repeats": repeats, "quick": args.quick,
              "seconds": time.perf_counter() - start, "rows": rows}
    write_json(Path(args.out), result)
    lines = ["| objective | estimator | S | var ∂/∂μ | var ∂/∂logσ² | MSE to true gradient |", "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['objective']} | {r['estimator']} | {r['samples']} | {r['var_mu']:.4g} | "
                     f"{r['var_logvar']:.4g} | {r['mse']:.4g} |")
    table = "\n".join(lines)
    atomic_write_text(Path(args.table), f"<!-- generated by scripts/reparam_variance.py ({'quick' if args.quick else 'full'} run) -->\n\n"
                      f"Variance per gradient coordinate over {repeats} independent estimates, each averaging S samples.\n\n"
                      + table + "\n")
    print(table)
    print(f"wrote {args.out} and {args.table} in {result['seconds']:.1f}s")


if __name__ == "__main__":
    main()
