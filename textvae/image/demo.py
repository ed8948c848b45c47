"""`textvae image demo`: train every image model briefly on the default data and write the PNGs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from textvae.image import figures
from textvae.image.config import ImageTrainConfig
from textvae.image.data import ImageData, load_image_data
from textvae.image.metrics import iw_nll, train_classifier, validity
from textvae.image.models import ImageModel, build_image_model, make_config
from textvae.image.training import evaluate_image_model, train_image_model
from textvae.io import write_json

BETAS = (0.25, 0.5, 1.0, 2.0, 4.0)


def fit(name: str, train: ImageData, epochs: int, seed: int = 0, **overrides) -> ImageModel:
    c, h, w = train.image_shape
    torch.manual_seed(seed)
    model = build_image_model(make_config(name, channels=c, height=h, width=w, **overrides))
    train_image_model(model, train, ImageTrainConfig(epochs=epochs, seed=seed))
    return model


def interpolation_grid(model: ImageModel, data: ImageData, pairs: int = 6, steps: int = 9) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randint(len(data), (pairs,), generator=g), torch.randint(len(data), (pairs,), generator=g)
    with torch.no_grad():
        za, zb = model.encode(data.images[a]), model.encode(data.images[b])
        t = torch.linspace(0, 1, steps)[None, :, None]
        z = (1 - t) * za[:, None] + t * zb[:, None]
        return model.decode(z.reshape(-1, z.shape[-1]))


def run_demo(out: str | Path = "image_demo", data: str = "digits", data_dir: str | None = None,
             epochs: int = 100, log: Callable[[str], None] = print) -> dict:
    """Writes the PNGs and summary.json into `out`; returns the summary."""
    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train, test = load_image_data(data, data_dir, train_limit=5000, test_limit=1000)
    summary: dict = {"data": data, "epochs": epochs, "train_images": len(train), "test_images": len(test)}
    hidden = 256 if train.image_shape[-1] <= 8 else 400

    def step(msg: str) -> None:
        log(f"[{time.perf_counter() - start:5.1f}s] {msg}")

    step("classifier")
    clf = train_classifier(train)
    x = test.images[:10]

    step("AE vs VAE, latent_dim 8: reconstructions, prior samples, interpolations")
    ae = fit("ae", train, epochs, latent_dim=8, hidden_dim=hidden)
    vae = fit("vae", train, epochs, latent_dim=8, hidden_dim=hidden)
    g = torch.Generator().manual_seed(0)
    ae_samples, vae_samples = ae.sample(500, generator=g), vae.sample(500, generator=g)
    figures.save_grid(torch.cat([x, ae.reconstruct(x), vae.reconstruct(x)]), out / "reconstructions.png", 10,
                      "test images / AE reconstructions / VAE reconstructions", ["data", "AE", "VAE"])
    figures.save_grid(torch.cat([ae_samples[:20], vae_samples[:20]]), out / "prior_samples.png", 10,
                      "decoded z ~ N(0, I): AE (top two rows) vs VAE (bottom two rows)", ["AE", "", "VAE", ""])
    figures.save_grid(torch.cat([interpolation_grid(ae, test, 3), interpolation_grid(vae, test, 3)]),
                      out / "interpolation.png", 9, "linear interpolation in z: AE (top 3) vs VAE (bottom 3)",
                      ["AE", "AE", "AE", "VAE", "VAE", "VAE"])
    summary["ae"] = {**evaluate_image_model(ae, test), **validity(clf, ae_samples).as_dict("prior_")}
    summary["vae"] = {**evaluate_image_model(vae, test), "iw_nll": iw_nll(vae, test, 100),
                      **validity(clf, vae_samples).as_dict("prior_")}

    step("2-D latent maps")
    ae2 = fit("ae", train, epochs, latent_dim=2, hidden_dim=hidden)
    vae2 = fit("vae", train, epochs, latent_dim=2, hidden_dim=hidden)
    with torch.no_grad():
        figures.save_latent_maps({"AE (latent_dim 2)": (ae2.encode(test.images), test.labels),
                                  "VAE (latent_dim 2)": (vae2.encode(test.images), test.labels)},
                                 out / "latent_map.png", "test codes coloured by class; dashed: |z| = 2 under N(0, I)")

    step("β sweep")
    rows = []
    for beta in BETAS:
        model = fit("beta-vae", train, epochs, latent_dim=8, hidden_dim=hidden, beta=beta)
        m = evaluate_image_model(model, test)
        rows.append({"beta": beta, "reconstruction": m["reconstruction"], "kl": m["kl"]})
    figures.save_beta_sweep(rows, out / "beta_sweep.png", f"β sweep on {data} (test, nats/image)")
    summary["beta_sweep"] = rows

    step("CVAE")
    cvae = fit("cvae", train, epochs, latent_dim=8, hidden_dim=hidden)
    labels = torch.arange(10).repeat_interleave(10)
    cvae_samples = cvae.sample(100, y=labels, generator=torch.Generator().manual_seed(0))
    figures.save_grid(cvae_samples, out / "cvae_samples.png", 10, "CVAE: z ~ N(0, I), one row per label",
                      [str(i) for i in range(10)])
    predicted = clf.probs(cvae_samples).argmax(-1)
    summary["cvae"] = {**evaluate_image_model(cvae, test),
                       "label_agreement": (predicted == labels).float().mean().item()}

    step("VQ-VAE")
    vq = fit("vqvae", train, max(1, epochs // 3), ema=True)
    counts = vq.code_usage(test.images)
    figures.save_code_usage(counts, out / "vqvae_codebook.png", "VQ-VAE (EMA) on test images:")
    figures.save_grid(torch.cat([x, vq.reconstruct(x)]), out / "vqvae_reconstructions.png", 10,
                      "VQ-VAE: test images / reconstructions", ["data", "VQ"])
    summary["vqvae"] = {**evaluate_image_model(vq, test), "codes_used": int((counts > 0).sum()),
                        "codebook_size": vq.config.codebook_size}

    step("denoising AEs")
    rows_img, names = [], []
    for noise in ("gaussian", "mask"):
        dae = fit("dae", train, epochs, latent_dim=16, hidden_dim=hidden, noise=noise)
        noisy = dae.corrupt(x, generator=torch.Generator().manual_seed(0))
        rows_img += [x, noisy, dae.denoise(noisy)]
        names += ["clean", f"{noise[:5]}", "denoised"]
        summary[f"dae_{noise}"] = {"noisy_mse": (noisy - x).pow(2).mean().item(),
                                   "denoised_mse": (dae.denoise(noisy) - x).pow(2).mean().item()}
    figures.save_grid(torch.cat(rows_img), out / "dae_denoising.png", 10, "DAE: clean / noisy / denoised",
                      names)

    summary["seconds"] = time.perf_counter() - start
    write_json(out / "summary.json", summary)
    step(f"done: PNGs and summary.json in {out}")
    return summary
