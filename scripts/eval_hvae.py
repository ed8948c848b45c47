"""Hierarchical VAE vs one-level VAE at the same budget, on Fashion-MNIST and MNIST.

Both models use the same pixel decoder (z1 (20) - 400 - 784, Bernoulli on grey levels), the same
training (Adam 1e-3, batch 64, the same epochs and steps, a linear KL warm-up over the first fifth of
the steps) and the same seed. The HVAE adds an upper latent z2 (10) with a 200-unit bottom-up layer and
a 200-unit top-down net p(z1 | z2). Reported per model: test -ELBO (one sample), IW-NLL with K
importance samples on the first test images, KL and active units per level, training time. The
figure shows HVAE samples with the upper noise fixed per row and the lower noise resampled, and the
reverse.

    python scripts/eval_hvae.py            # ~10 min on one busy core
    python scripts/eval_hvae.py --quick    # smoke run (< 1 min; writes under runs/eval_hvae_quick/)
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
from textvae.image.metrics import iw_nll
from textvae.image.models import build_image_model, make_config
from textvae.image.training import evaluate_image_model, train_image_model
from textvae.io import write_json
from textvae.metrics.latent import active_units

ROOT = Path(__file__).resolve().parents[1]
# (train images, epochs); quick: much smaller. Fashion-MNIST uses the first 20k of its 60k training images.
SETTINGS = {
    "fashion-mnist": {"full": (20000, 10), "quick": (1000, 1)},
    "mnist": {"full": (None, 20), "quick": (1000, 1)},
}
LEVEL_ROWS, LEVEL_COLUMNS = 6, 8


def train(name: str, data: ImageData, epochs: int, seed: int) -> tuple[torch.nn.Module, dict]:
    torch.manual_seed(seed)
    model = build_image_model(make_config(name))
    steps = epochs * -(-len(data) // 64)
    config = ImageTrainConfig(epochs=epochs, batch_size=64, lr=1e-3, seed=seed, beta_schedule="linear",
                              anneal_steps=max(1, steps // 5))
    return model, train_image_model(model, data, config)


@torch.no_grad()
def level_report(model, test: ImageData) -> dict:
    """KL (nats / image) and active units of each latent level, on the given test images."""
    x = test.images
    if model.config.model == "hvae":
        kl = model.kl_per_level(x).mean(0)
        mu1, mu2 = model.posterior_means(x)
        return {"kl_z1": kl[0].item(), "kl_z2": kl[1].item(), "au_z1": active_units(mu1), "au_z2": active_units(mu2),
                "dims_z1": mu1.shape[1], "dims_z2": mu2.shape[1]}
    q = model.posterior(x)
    return {"kl_z1": q.kl().mean().item(), "au_z1": active_units(q.mu), "dims_z1": q.mu.shape[1]}


def level_panels(model, name: str, seed: int) -> list[tuple[torch.Tensor, int, str]]:
    """Two grids: rows share z2 and the lower noise varies; rows share the lower noise and z2 varies."""
    g = torch.Generator().manual_seed(seed)
    top = torch.randn(LEVEL_ROWS, 1, model.config.top_latent_dim, generator=g)
    bottom = torch.randn(1, LEVEL_COLUMNS, model.config.latent_dim, generator=g)
    fixed_top = model.generate(top.expand(-1, LEVEL_COLUMNS, -1), bottom.expand(LEVEL_ROWS, -1, -1))
    top_cols = torch.randn(1, LEVEL_COLUMNS, model.config.top_latent_dim, generator=g)
    bottom_rows = torch.randn(LEVEL_ROWS, 1, model.config.latent_dim, generator=g)
    fixed_bottom = model.generate(top_cols.expand(LEVEL_ROWS, -1, -1), bottom_rows.expand(-1, LEVEL_COLUMNS, -1))
    shape = model.config.image_shape
    return [(fixed_top.reshape(-1, *shape), LEVEL_COLUMNS, f"{name}: z2 fixed per row, z1 noise resampled"),
            (fixed_bottom.reshape(-1, *shape), LEVEL_COLUMNS, f"{name}: z1 noise fixed per row, z2 resampled")]


def run(quick: bool, iw_samples: int, iw_images: int, seed: int) -> dict:
    mode = "quick" if quick else "full"
    results: dict = {"date": datetime.date.today().isoformat(), "iw_samples": iw_samples, "seed": seed, "data": {}}
    panels = []
    for data_name, settings in SETTINGS.items():
        train_limit, epochs = settings[mode]
        train_data, test_data = load_image_data(data_name, train_limit=train_limit)
        iw_data = test_data.subset(iw_images)
        rows = {}
        for name in ("vae", "hvae"):
            model, history = train(name, train_data, epochs, seed)
            start = time.perf_counter()
            nll = iw_nll(model, iw_data, iw_samples, batch_size=max(1, 10_000 // iw_samples), seed=seed)
            rows[name] = {"neg_elbo": evaluate_image_model(model, test_data)["neg_elbo"], "iw_nll": nll,
                          **level_report(model, iw_data), "train_seconds": history["seconds"],
                          "iw_seconds": time.perf_counter() - start, "steps": history["steps"],
                          "parameters": sum(p.numel() for p in model.parameters())}
            print(data_name, name, {k: round(v, 2) if isinstance(v, float) else v for k, v in rows[name].items()},
                  flush=True)
            if name == "hvae":
                panels += level_panels(model, data_name, seed)
        gain = rows["vae"]["iw_nll"] - rows["hvae"]["iw_nll"]
        results["data"][data_name] = {"train_images": len(train_data), "test_images": len(test_data),
                                      "iw_images": len(iw_data), "epochs": epochs, **rows, "iw_nll_gain": gain,
                                      "target_met": gain >= 1.0 and min(rows["hvae"]["kl_z1"], rows["hvae"]["kl_z2"]) > 1}
    out = ROOT / ("runs/eval_hvae_quick" if quick else "docs")
    figures.save_grid_panels(panels, out / "hvae_levels.png", columns=2,
                             title="HVAE samples: which level holds which variation")
    return results


def markdown(results: dict) -> str:
    lines = [f"| data (train / test) | model | epochs | −ELBO | IW-NLL (K = {results['iw_samples']:,}) | KL z1 | KL z2 "
             "| AU z1 | AU z2 | train s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for data_name, r in results["data"].items():
        for name in ("vae", "hvae"):
            m = r[name]
            kl2 = f"{m['kl_z2']:.2f}" if "kl_z2" in m else "–"
            au2 = f"{m['au_z2']}/{m['dims_z2']}" if "au_z2" in m else "–"
            lines.append(f"| {data_name} ({r['train_images']:,} / IW on first {r['iw_images']:,}) | `{name}` | "
                         f"{r['epochs']} | {m['neg_elbo']:.2f} | {m['iw_nll']:.2f} | {m['kl_z1']:.2f} | {kl2} | "
                         f"{m['au_z1']}/{m['dims_z1']} | {au2} | {m['train_seconds']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--iw-samples", type=int, default=None, help="default 1000 (quick: 20)")
    parser.add_argument("--iw-images", type=int, default=500, help="test images for the IW-NLL")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    iw_samples = args.iw_samples or (20 if args.quick else 1000)
    results = run(args.quick, iw_samples, 200 if args.quick else args.iw_images, args.seed)
    path = ROOT / ("runs/eval_hvae_quick/hvae.json" if args.quick else "benchmarks/results/hvae.json")
    write_json(path, results)
    print(markdown(results))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
