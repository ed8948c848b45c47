"""PNG figures of the image models (matplotlib, Agg backend; no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402


def _tile(images: Tensor, nrow: int, pad: int = 1) -> Tensor:
    """(N, C, H, W) in [0, 1] -> one (H', W') or (H', W', C) array of rows of `nrow` images."""
    images = images.detach().cpu().float().clamp(0, 1)
    n, c, h, w = images.shape
    rows = (n + nrow - 1) // nrow
    canvas = torch.ones(c, rows * (h + pad) + pad, nrow * (w + pad) + pad)
    for i in range(n):
        r, col = divmod(i, nrow)
        canvas[:, pad + r * (h + pad):pad + r * (h + pad) + h, pad + col * (w + pad):pad + col * (w + pad) + w] = images[i]
    return (canvas[0] if c == 1 else canvas.permute(1, 2, 0)).numpy()


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def save_grid(images: Tensor, path: Path, nrow: int, title: str = "", row_labels: list[str] | None = None) -> Path:
    """A grid of images, `nrow` per row, with optional labels on the left of each row."""
    canvas = _tile(images, nrow)  # numpy array
    rows = (len(images) + nrow - 1) // nrow
    fig, ax = plt.subplots(figsize=(max(3.0, 0.45 * nrow + 1), max(1.2, 0.45 * rows + 0.6)))
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    if row_labels:
        h = images.shape[-2] + 1
        ax.set_yticks([1 + h * i + h / 2 - 1 for i in range(len(row_labels))])
        ax.set_yticklabels(row_labels, fontsize=8)
    else:
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


def save_latent_maps(panels: dict[str, tuple[Tensor, Tensor]], path: Path, title: str = "") -> Path:
    """Side-by-side scatter plots of 2-D codes coloured by class: {panel title: (codes (N, 2), labels)}."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4))
    axes = [axes] if len(panels) == 1 else axes
    for ax, (name, (codes, labels)) in zip(axes, panels.items(), strict=True):
        codes, labels = codes.detach().cpu().numpy(), labels.cpu().numpy()
        sc = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=6, alpha=0.8, vmin=-0.5, vmax=9.5)
        circle = plt.Circle((0, 0), 2.0, fill=False, ls="--", color="k", lw=0.8)
        ax.add_patch(circle)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
    fig.colorbar(sc, ax=axes, ticks=range(10), label="class")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def save_beta_sweep(rows: list[dict], path: Path, title: str = "") -> Path:
    """Reconstruction vs KL (nats per image) for a list of {'beta', 'reconstruction', 'kl'}."""
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    kl = [r["kl"] for r in rows]
    rec = [r["reconstruction"] for r in rows]
    ax.plot(kl, rec, "o-")
    for r in rows:
        ax.annotate(f"β={r['beta']:g}", (r["kl"], r["reconstruction"]), textcoords="offset points", xytext=(4, 4),
                    fontsize=8)
    ax.set_xlabel("KL(q(z|x) || p(z))  [nats / image]")
    ax.set_ylabel("reconstruction −log p(x|z)  [nats / image]")
    ax.set_title(title or "β sweep: rate vs distortion", fontsize=9)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def save_code_usage(counts: Tensor, path: Path, title: str = "") -> Path:
    counts = counts.detach().cpu().float()
    p = counts / counts.sum().clamp_min(1)
    perplexity = torch.exp(-(p * p.clamp_min(1e-12).log()).sum()).item()
    order = torch.argsort(counts, descending=True)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(len(counts)), counts[order].numpy())
    ax.set_xlabel("code (sorted by use)")
    ax.set_ylabel("times chosen")
    used = int((counts > 0).sum())
    ax.set_title(f"{title} codes used: {used}/{len(counts)}, perplexity {perplexity:.1f}", fontsize=9)
    return _save(fig, path)


def save_bar_table(names: list[str], values: list[float], path: Path, ylabel: str, title: str = "") -> Path:
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(names)), 3.2))
    ax.bar(range(len(names)), values, color=["tab:gray" if "AE" in n and "VAE" not in n else "tab:blue" for n in names])
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    for i, v in enumerate(values):
        ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, max(1.0, max(values) * 1.15))
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


def save_grid_panels(panels: list[tuple[Tensor, int, str]], path: Path, columns: int = 2, title: str = "") -> Path:
    """Several image grids in one figure: a list of (images (N, C, H, W), images per row, panel title)."""
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 4.0 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (images, nrow, name) in zip(axes.flat, panels):
        ax.imshow(_tile(images, nrow), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(name, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def save_roc_curves(panels: dict[str, dict[str, tuple[list[float], list[float]]]], path: Path, title: str = "") -> Path:
    """ROC curves side by side: {panel title: {score name: (false-positive rates, true-positive rates)}}."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    for ax, (name, curves) in zip(axes[0], panels.items(), strict=True):
        for label, (fpr, tpr) in curves.items():
            ax.plot(fpr, tpr, lw=1.2, label=label)
        ax.plot([0, 1], [0, 1], ls=":", color="gray", lw=0.8)
        ax.set_xlabel("false-positive rate (in-distribution flagged)")
        ax.set_ylabel("true-positive rate (OOD flagged)")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
