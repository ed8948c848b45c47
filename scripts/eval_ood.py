"""Out-of-distribution detection with VAE scores, on images and on text: AUROC, AUPR, FPR at 95 % TPR.

(a) Images: a VAE (MLP 784-400-20) trained on the first 20k Fashion-MNIST training images scores the
    first 2,000 Fashion-MNIST test images (in-distribution) and the first 2,000 MNIST test images
    (out-of-distribution) with every score in textvae.image.scores. The background model for the
    likelihood ratio is the same VAE trained on the same images with 20 % of pixels replaced by noise.
(b) Text: the QQP GRU VAE (runs/qqp-gru-vae) scores QQP test questions that do not occur in the QQP
    training file (in-distribution), DailyDialog test utterances and PTB test sentences without
    `<unk>` (out-of-distribution), all normalised the same way (`normalise`). The likelihood-ratio
    background is runs/general-gru-lm, a GRU LM trained on QQP questions and DailyDialog *training*
    utterances, so it has seen the DailyDialog domain.
The out-of-distribution set is the positive class: AUROC 1 = every OOD input scores above every
in-distribution input, 0.5 = chance, below 0.5 = the score ranks OOD inputs as *more* typical.

    python scripts/eval_ood.py                 # both parts (~10 min on one busy core, image VAEs cached)
    python scripts/eval_ood.py --part images   # or --part text
    python scripts/eval_ood.py --quick         # smoke run (writes under runs/eval_ood_quick/)
"""

from __future__ import annotations

import argparse
import datetime
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from textvae.image import figures
from textvae.image.config import ImageTrainConfig
from textvae.image.data import ImageData, load_image_data
from textvae.image.models import ImageModel, build_image_model, make_config
from textvae.image.scores import perturb_images, score_images
from textvae.image.training import train_image_model
from textvae.io import read_json, write_json
from textvae.latent import DiagonalGaussian

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
IMAGE_SCORES = {"−ELBO (raw likelihood)": ("elbo", {"samples": 10}),
                "IW-NLL (K = 100)": ("iw_nll", {"samples": 100}),
                "reconstruction": ("reconstruction", {}),
                "likelihood ratio (noise background)": ("likelihood_ratio", {"samples": 10}),
                "complexity (−log2 p(x) − L_PNG(x))": ("complexity", {"samples": 10})}


# ----------------------------------------------------------------------------- detection metrics


def detection_metrics(in_scores: np.ndarray, out_scores: np.ndarray) -> dict[str, float]:
    """AUROC, AUPR (OOD = positive) and the share of in-distribution inputs flagged at 95 % OOD recall."""
    labels = np.r_[np.zeros(len(in_scores)), np.ones(len(out_scores))]
    scores = np.r_[in_scores, out_scores]
    fpr, tpr, _ = roc_curve(labels, scores)
    return {"auroc": float(roc_auc_score(labels, scores)), "aupr": float(average_precision_score(labels, scores)),
            "fpr_at_95_tpr": float(fpr[np.searchsorted(tpr, 0.95)]),
            "mean_in": float(np.mean(in_scores)), "mean_out": float(np.mean(out_scores))}


def roc(in_scores: np.ndarray, out_scores: np.ndarray) -> tuple[list[float], list[float]]:
    fpr, tpr, _ = roc_curve(np.r_[np.zeros(len(in_scores)), np.ones(len(out_scores))], np.r_[in_scores, out_scores])
    return fpr.tolist(), tpr.tolist()


# ----------------------------------------------------------------------------- (a) images


def trained_vae(folder: Path, data: ImageData, epochs: int, retrain: bool) -> ImageModel:
    """The MLP VAE saved in `folder`, trained on `data` first if it is not there (or with retrain)."""
    if (folder / "config.json").is_file() and not retrain:
        return ImageModel.from_pretrained(folder)
    torch.manual_seed(0)
    model = build_image_model(make_config("vae"))
    train_image_model(model, data, ImageTrainConfig(epochs=epochs, batch_size=64, lr=1e-3, seed=0))
    model.save_pretrained(folder)
    return model


def image_part(quick: bool, retrain: bool, noise_rate: float) -> tuple[dict, dict]:
    train_limit, test_limit, epochs = (1000, 200, 1) if quick else (20000, 2000, 10)
    runs = ROOT / "runs" / ("eval_ood_quick" if quick else "ood")
    train, fashion = load_image_data("fashion-mnist", train_limit=train_limit, test_limit=test_limit)
    mnist = load_image_data("mnist", test_limit=test_limit)[1]
    model = trained_vae(runs / "fashion-vae", train, epochs, retrain)
    noisy = ImageData(perturb_images(train.images, noise_rate, torch.Generator().manual_seed(0)), train.labels)
    background = trained_vae(runs / f"fashion-vae-noise{noise_rate:g}", noisy, epochs, retrain)
    table, curves = {}, {}
    for label, (method, options) in IMAGE_SCORES.items():
        scores = [score_images(model, data, method, background, seed=0, **options).numpy() for data in (fashion, mnist)]
        table[label] = detection_metrics(*scores)
        curves[label] = roc(*scores)
        print(f"images  {label:40s} " + "  ".join(f"{k} {v:.3f}" for k, v in table[label].items()), flush=True)
    info = {"train_images": len(train), "epochs": epochs, "in_distribution": f"fashion-mnist test, first {len(fashion)}",
            "out_of_distribution": f"mnist test split (the last 2,000 of t10k), first {len(mnist)}",
            "background": f"the same VAE trained on the training images with {noise_rate:.0%} of pixels replaced "
                          "by uniform noise", "scores": table}
    return info, {"Fashion-MNIST (in) vs MNIST (out), VAE": curves}


# ----------------------------------------------------------------------------- (b) text


def normalise(text: str) -> str:
    """Lower-case; straight apostrophes with contractions split as in PTB ("do n't", "it 's"); every
    token with a digit becomes PTB's number token "n"; punctuation dropped (PTB has none); single spaces."""
    text = text.lower().replace("’", "'").replace("‘", "'")
    text = re.sub(r"\s*'\s*(s|ll|re|ve|m|d|t)\b", r"'\1", text)  # DailyDialog writes "i ' ll"
    text = re.sub(r"n't\b", " n't", text)
    text = re.sub(r"'(s|ll|re|ve|m|d)\b", r" '\1", text)
    tokens = re.findall(r"n't|'[a-z]+|\d+(?:[.,]\d+)*|[a-z0-9]+(?:[-.'][a-z0-9]+)*", text)
    return " ".join("n" if any(c.isdigit() for c in token) else token for token in tokens)


def _first_unique(texts, limit: int, exclude: set[str] = frozenset()) -> list[str]:
    out, seen = [], set(exclude)
    for text in texts:
        text = normalise(text)
        if text and text not in seen:
            seen.add(text)
            out.append(text)
        if len(out) == limit:
            break
    return out


def text_sets(limit: int, reference: int = 2000) -> dict[str, list[str]]:
    """The three normalised sets, `limit` texts each (no duplicates within a set), and `reference` QQP
    training questions (the first of the file) for the latent Gaussian."""
    def column(path: Path, index: int) -> list[str]:
        return [line.rstrip("\n").split("\t")[index] for line in path.open(encoding="utf-8")]

    qqp = DATA / "qqp_paraphrase_50k"
    seen = {normalise(t) for i in (0, 1) for t in column(qqp / "train.tsv", i)}
    dialogues = (DATA / "dailydialog/test/dialogues_test.txt").read_text(encoding="utf-8").splitlines()
    utterances = [u for d in dialogues for u in d.split("__eou__")]
    ptb = [line for line in (DATA / "ptb/ptb.test.txt").read_text(encoding="utf-8").splitlines() if "<unk>" not in line]
    return {"qqp": _first_unique(column(qqp / "test.tsv", 0), limit, seen),
            "dailydialog": _first_unique(utterances, limit), "ptb": _first_unique(ptb, limit),
            "qqp_train": _first_unique(column(qqp / "train.tsv", 0), reference)}


def token_counts(model, texts: list[str], chunk: int = 256) -> np.ndarray:
    """Tokens + EOS per text under the model's tokenizer (the denominator of its per-token scores)."""
    return np.concatenate([model.make_batch(texts[i:i + chunk])["lengths"].numpy() for i in range(0, len(texts), chunk)])


@dataclass
class LatentGaussian:
    """A full-covariance Gaussian fitted to posterior means of in-distribution training texts: a simple
    density of the aggregate posterior, whose Mahalanobis distance says how far a code lies from them."""

    mean: torch.Tensor
    precision: torch.Tensor

    @classmethod
    def fit(cls, mu: torch.Tensor) -> LatentGaussian:
        mu = mu.double()
        cov = torch.cov(mu.T) + 1e-6 * torch.eye(mu.shape[1], dtype=mu.dtype)
        return cls(mu.mean(0), torch.linalg.inv(cov))

    def mahalanobis(self, mu: torch.Tensor) -> np.ndarray:
        centred = mu.double() - self.mean
        return ((centred @ self.precision) * centred).sum(-1).numpy()


def text_scores(model, background, reference: LatentGaussian, texts: list[str], iw_samples: int) -> dict[str, np.ndarray]:
    """Every text score: -ELBO (10 samples) per text, per token and per word, the reconstruction at mu
    per token and per word, the complexity correction with zlib, the KL of q(z|x) to the prior, the
    Mahalanobis distance of mu to QQP training codes, the likelihood ratio against the LM."""
    def score(m, method: str, **options) -> np.ndarray:
        torch.manual_seed(0)
        return np.asarray(m.score(texts, method=method, **options))

    tokens = token_counts(model, texts)
    words = np.array([len(t.split()) for t in texts])
    per_token = score(model, "elbo_per_token", samples=10)
    reconstruction = score(model, "reconstruction")
    zlib_bits = np.array([8 * len(zlib.compress(t.encode("utf-8"), 9)) for t in texts])
    mu, logvar = model.encode(texts)
    # per word: a unit that does not depend on how the tokenizer splits rare words into pieces
    out = {"−ELBO per text": per_token * tokens, "−ELBO per token": per_token, "−ELBO per word": per_token * tokens / words,
           "reconstruction per token": reconstruction, "reconstruction per word": reconstruction * tokens / words,
           "complexity per token (zlib)": (per_token * tokens / math.log(2) - zlib_bits) / tokens,
           "KL(q(z|x) ‖ p(z)) per text": DiagonalGaussian(mu, logvar).kl().numpy(),
           "Mahalanobis distance of μ to QQP train codes": reference.mahalanobis(mu)}
    if iw_samples:
        out[f"IW-NLL per token (K = {iw_samples})"] = score(model, "iw_nll", samples=iw_samples)
    if background is not None:
        lm = score(background, "elbo_per_token")
        out["background LM NLL per token"] = lm
        out["likelihood ratio per token (LM background)"] = per_token - lm
        # the two models tokenise differently, so the log-ratio of the whole text is divided by a shared unit
        out["likelihood ratio per word (LM background)"] = (per_token * tokens - lm * token_counts(background, texts)) / words
    return out


def text_part(quick: bool, iw_samples: int, model_dir: Path, background_dir: Path) -> tuple[dict, dict]:
    from textvae import TextVAE

    limit = 50 if quick else 1000
    sets = text_sets(limit)
    model = TextVAE.from_pretrained(model_dir)
    background = TextVAE.from_pretrained(background_dir) if background_dir.is_dir() else None
    reference = LatentGaussian.fit(model.encode(sets.pop("qqp_train"))[0])
    scores = {name: text_scores(model, background, reference, texts, iw_samples) for name, texts in sets.items()}
    table, curves = {}, {}
    for ood in ("dailydialog", "ptb"):
        table[ood], curves[f"QQP (in) vs {ood} (out), text VAE"] = {}, {}
        for label in scores["qqp"]:
            table[ood][label] = detection_metrics(scores["qqp"][label], scores[ood][label])
            curves[f"QQP (in) vs {ood} (out), text VAE"][label] = roc(scores["qqp"][label], scores[ood][label])
            print(f"text {ood:11s} {label:44s} " + "  ".join(f"{k} {v:.3f}" for k, v in table[ood][label].items()),
                  flush=True)
    info = {"model": str(model_dir.relative_to(ROOT) if model_dir.is_relative_to(ROOT) else model_dir),
            "background": str(background_dir.relative_to(ROOT)) if background is not None else None,
            "texts": {name: len(texts) for name, texts in sets.items()},
            "mean_words": {name: float(np.mean([len(t.split()) for t in texts])) for name, texts in sets.items()},
            "examples": {name: texts[:3] for name, texts in sets.items()}, "scores": table}
    return info, curves


# ----------------------------------------------------------------------------- tables


def markdown(results: dict) -> str:
    lines = []
    parts = [("images", "Fashion-MNIST (in) vs MNIST (out)", results.get("images", {}).get("scores", {}))]
    parts += [("text", f"QQP (in) vs {ood} (out)", table) for ood, table in results.get("text", {}).get("scores", {}).items()]
    for _, title, table in parts:
        lines += [f"\n{title}\n", "| score | AUROC | AUPR | FPR at 95 % TPR | mean in | mean out |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {label} | {m['auroc']:.3f} | {m['aupr']:.3f} | {m['fpr_at_95_tpr']:.3f} | {m['mean_in']:.2f} | "
                  f"{m['mean_out']:.2f} |" for label, m in table.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("images", "text", "both"), default="both")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--retrain", action="store_true", help="retrain the image VAEs even if saved under runs/ood")
    parser.add_argument("--noise-rate", type=float, default=0.2, help="pixel share perturbed for the background VAE")
    parser.add_argument("--text-model", default=str(ROOT / "runs/qqp-gru-vae"))
    parser.add_argument("--text-background", default=str(ROOT / "runs/general-gru-lm"))
    parser.add_argument("--text-iw-samples", type=int, default=0, help="K for a text IW-NLL score (0 = skip)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = ROOT / ("runs/eval_ood_quick" if args.quick else "benchmarks/results") / "ood.json"
    results = {"date": datetime.date.today().isoformat()}
    figure_dir = out.parent if args.quick else ROOT / "docs"
    if args.part in ("images", "both"):
        results["images"], curves = image_part(args.quick, args.retrain, args.noise_rate)
        figures.save_roc_curves(curves, figure_dir / "ood_roc_images.png", title="Image OOD: ROC per score")
    if args.part in ("text", "both"):
        results["text"], curves = text_part(args.quick, args.text_iw_samples, Path(args.text_model),
                                            Path(args.text_background))
        figures.save_roc_curves(curves, figure_dir / "ood_roc_text.png", title="Text OOD: ROC per score")
    write_json(out, {**(read_json(out) if out.is_file() else {}), **results})  # a single --part keeps the other
    print(markdown(results))
    print(f"wrote {out} and the ROC figures in {figure_dir}")


if __name__ == "__main__":
    main()
