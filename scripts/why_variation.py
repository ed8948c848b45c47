"""Why variation? AE vs VAE with the same architecture, data and training, measured.

For each data set an AE and a VAE (MLP, pixels-400-20, Bernoulli decoder, Adam 1e-3, batch 64) are
trained identically, and a small MLP classifier is trained on the real training images. Then:

(a) prior samples: decode z ~ N(0, I) (for the AE too, in the same latent space: the "holes"
    argument) and report the share the classifier rates confident (max prob > 0.9), the mean
    per-image predictive entropy and the entropy of the predicted-class histogram; an extra row
    samples the AE from a full-covariance Gaussian fitted to its training codes (a fairer AE);
(b) the same for the decoded midpoints (z_a + z_b) / 2 of random pairs of test images;
(c) test reconstruction error (Bernoulli NLL in nats/image, and per-pixel MSE of the mean image);
(d) the VAE's test -ELBO and IW-NLL (K = 100 importance samples).

Writes benchmarks/results/why_variation.json, figures into docs/image/, and prints a table.

    python scripts/why_variation.py            # digits, fashion-mnist, mnist (~10 min on 2 cores)
    python scripts/why_variation.py --quick    # smoke run (< 1 min; writes under runs/why_variation_quick/)
"""

from __future__ import annotations

import argparse
import datetime
import time
from pathlib import Path

import torch

from textvae.image import figures
from textvae.image.config import ImageTrainConfig
from textvae.image.data import ImageData, load_image_data
from textvae.image.metrics import (
    accuracy,
    fitted_gaussian_samples,
    interpolation_midpoints,
    iw_nll,
    train_classifier,
    validity,
)
from textvae.image.models import build_image_model, make_config
from textvae.image.training import evaluate_image_model, train_image_model
from textvae.io import write_json

ROOT = Path(__file__).resolve().parents[1]
# epochs and subset sizes per data set: (train images, test images, epochs); quick: much smaller
SETTINGS = {
    "digits": {"full": (None, None, 200), "quick": (None, None, 20)},
    "fashion-mnist": {"full": (10000, 2000, 30), "quick": (2000, 500, 2)},
    "mnist": {"full": (None, None, 30), "quick": (2000, 500, 2)},
}


def train_model(name: str, train: ImageData, epochs: int, latent_dim: int, hidden_dim: int, seed: int = 0):
    c, h, w = train.image_shape
    torch.manual_seed(seed)
    model = build_image_model(make_config(name, channels=c, height=h, width=w, latent_dim=latent_dim,
                                          hidden_dim=hidden_dim))
    history = train_image_model(model, train, ImageTrainConfig(epochs=epochs, batch_size=64, lr=1e-3, seed=seed))
    return model, history


@torch.no_grad()
def reconstruction_mse(model, data: ImageData) -> float:
    return (model.reconstruct(data.images) - data.images).pow(2).mean().item()


def run_dataset(name: str, quick: bool, num_samples: int, fig_dir: Path, log) -> dict:
    train_limit, test_limit, epochs = SETTINGS[name]["quick" if quick else "full"]
    train, test = load_image_data(name, train_limit=train_limit, test_limit=test_limit)
    log(f"== {name}: {len(train)} train / {len(test)} test, {epochs} epochs")
    clf = train_classifier(train, epochs=30 if len(train) < 5000 else 15)
    result = {"train_images": len(train), "test_images": len(test), "epochs": epochs, "latent_dim": 20,
              "hidden_dim": 400, "classifier_test_accuracy": accuracy(clf, test),
              **validity(clf, test.images).as_dict("real_test_")}
    models = {}
    for kind in ("ae", "vae"):
        model, history = train_model(kind, train, epochs, 20, 400)
        models[kind] = model
        log(f"   {kind}: trained in {history['seconds']:.0f}s, final train loss {history['epoch_loss'][-1]:.2f}")
        g = torch.Generator().manual_seed(1)
        samples = model.sample(num_samples, generator=g).cpu()
        mids = interpolation_midpoints(model, test, num_pairs=num_samples // 2)
        ev = evaluate_image_model(model, test)
        result[f"{kind}_valid_rate"] = validity(clf, samples).valid_rate
        result.update(validity(clf, samples).as_dict(f"{kind}_prior_"))
        result[f"{kind}_mid_valid_rate"] = validity(clf, mids).valid_rate
        result.update(validity(clf, mids).as_dict(f"{kind}_mid_"))
        result[f"{kind}_reconstruction_nll"] = ev["reconstruction"]
        result[f"{kind}_reconstruction_mse"] = reconstruction_mse(model, test)
        result[f"{kind}_train_seconds"] = history["seconds"]
        models[f"{kind}_samples"], models[f"{kind}_mids"] = samples, mids
        if kind == "ae":
            fitted = fitted_gaussian_samples(model, train, num_samples, seed=1)
            result.update(validity(clf, fitted).as_dict("ae_fitted_gaussian_"))
            result["ae_fitted_valid_rate"] = result["ae_fitted_gaussian_valid_rate"]
            models["ae_fitted"] = fitted
            codes = model.encode(train.images)
            result["ae_code_norm_mean"] = codes.norm(dim=1).mean().item()
        else:
            result["vae_neg_elbo"] = ev["neg_elbo"]
            result["vae_kl"] = ev["kl"]
            result["vae_iw_nll"] = iw_nll(model, test, num_samples=100, batch_size=50)
            result["vae_code_norm_mean"] = model.encode(train.images).norm(dim=1).mean().item()
    result["valid_rate_ratio"] = result["vae_valid_rate"] / max(result["ae_valid_rate"], 1e-9)

    figures.save_grid(torch.cat([models["ae_samples"][:12], models["ae_fitted"][:12], models["vae_samples"][:12]]),
                      fig_dir / f"why_variation_{name}_samples.png", 12,
                      f"{name}: decoded prior samples (valid rate AE {result['ae_valid_rate']:.2f}, "
                      f"AE-fitted {result['ae_fitted_valid_rate']:.2f}, VAE {result['vae_valid_rate']:.2f})",
                      ["AE z~N(0,I)", "AE z~fitted", "VAE z~N(0,I)"])
    figures.save_grid(torch.cat([models["ae_mids"][:12], models["vae_mids"][:12]]),
                      fig_dir / f"why_variation_{name}_midpoints.png", 12,
                      f"{name}: decoded midpoints of test-pair codes (valid AE {result['ae_mid_valid_rate']:.2f}, "
                      f"VAE {result['vae_mid_valid_rate']:.2f})", ["AE", "VAE"])
    return result


def print_table(results: dict) -> None:
    head = (f"{'data':14} {'model':16} {'prior valid':>11} {'prior H':>8} {'class H':>8} {'mid valid':>9} "
            f"{'rec NLL':>8} {'rec MSE':>8} {'-ELBO':>7} {'IW-NLL':>7}")
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        print(f"{name:14} {'real test images':16} {r['real_test_valid_rate']:11.3f} {r['real_test_mean_entropy']:8.3f} "
              f"{r['real_test_class_entropy']:8.3f}")
        print(f"{'':14} {'AE  z~N(0,I)':16} {r['ae_valid_rate']:11.3f} {r['ae_prior_mean_entropy']:8.3f} "
              f"{r['ae_prior_class_entropy']:8.3f} {r['ae_mid_valid_rate']:9.3f} {r['ae_reconstruction_nll']:8.2f} "
              f"{r['ae_reconstruction_mse']:8.4f}")
        print(f"{'':14} {'AE  z~fitted N':16} {r['ae_fitted_gaussian_valid_rate']:11.3f} "
              f"{r['ae_fitted_gaussian_mean_entropy']:8.3f} {r['ae_fitted_gaussian_class_entropy']:8.3f}")
        print(f"{'':14} {'VAE z~N(0,I)':16} {r['vae_valid_rate']:11.3f} {r['vae_prior_mean_entropy']:8.3f} "
              f"{r['vae_prior_class_entropy']:8.3f} {r['vae_mid_valid_rate']:9.3f} {r['vae_reconstruction_nll']:8.2f} "
              f"{r['vae_reconstruction_mse']:8.4f} {r['vae_neg_elbo']:7.2f} {r['vae_iw_nll']:7.2f}")
        print(f"{'':14} VAE/AE prior valid-rate ratio: {r['valid_rate_ratio']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="AE vs VAE: prior samples, midpoints, reconstruction, IW-NLL")
    parser.add_argument("--quick", action="store_true", help="smoke run: small subsets and few epochs")
    parser.add_argument("--datasets", default="digits,fashion-mnist,mnist")
    parser.add_argument("--samples", type=int, default=2000, help="prior samples per model (midpoints: half)")
    parser.add_argument("--out", default=None, help="JSON path (default benchmarks/results/why_variation.json; "
                        "--quick: runs/why_variation_quick/why_variation.json)")
    parser.add_argument("--fig-dir", default=None, help="default docs/image (--quick: runs/why_variation_quick)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    quick_dir = ROOT / "runs" / "why_variation_quick"  # smoke runs never overwrite the committed results
    out = Path(args.out) if args.out else (quick_dir / "why_variation.json" if args.quick
                                           else ROOT / "benchmarks" / "results" / "why_variation.json")
    fig_dir = Path(args.fig_dir) if args.fig_dir else (quick_dir if args.quick else ROOT / "docs" / "image")
    samples = min(args.samples, 400) if args.quick else args.samples
    results = {}
    for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        results[name] = run_dataset(name, args.quick, samples, fig_dir, lambda m: print(m, flush=True))
    names = []
    values = []
    for name, r in results.items():
        names += [f"{name} AE", f"{name} AE-fit", f"{name} VAE"]
        values += [r["ae_valid_rate"], r["ae_fitted_valid_rate"], r["vae_valid_rate"]]
    figures.save_bar_table(names, values, fig_dir / "why_variation_valid_rates.png",
                           "share of prior samples rated confident (p>0.9)", "decoded prior samples rated valid")
    payload = {"date": datetime.date(2026, 11, 23).isoformat(), "quick": args.quick,
               "command": "python scripts/why_variation.py" + (" --quick" if args.quick else ""),
               "seconds": time.perf_counter() - start, "threads": args.threads, "samples": samples,
               "valid_threshold": 0.9, "datasets": results,
               # flat copies of the headline fields, per data set
               **{f"{k}": {n: r[k] for n, r in results.items()} for k in
                  ("ae_valid_rate", "vae_valid_rate", "ae_mid_valid_rate", "vae_mid_valid_rate")}}
    write_json(out, payload)
    print_table(results)
    print(f"wrote {out} and figures in {fig_dir} in {payload['seconds']:.0f}s")


if __name__ == "__main__":
    main()
