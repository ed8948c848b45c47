"""The library side of `textvae image train` (build, train, evaluate and save one model) and of
`textvae image score` (one anomaly score per image of a data set)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textvae.image.config import ImageTrainConfig
from textvae.image.data import load_image_data
from textvae.image.metrics import iw_nll
from textvae.image.models import build_image_model, make_config
from textvae.image.training import evaluate_image_model, train_image_model
from textvae.io import write_json


def train_and_save(model_name: str, data: str, output: str | Path | None = None, data_dir: str | None = None,
                   model_overrides: dict[str, Any] | None = None, train: ImageTrainConfig | None = None,
                   train_limit: int | None = None, test_limit: int | None = None, iw_samples: int = 100,
                   log=print) -> dict:
    """Returns the test metrics; writes config.json, model.safetensors, train_config.json, metrics.json."""
    train_config = train or ImageTrainConfig()
    train_config.validate()
    make_config(model_name, **(model_overrides or {}))  # fail fast on a bad name / key before loading data
    train_data, test_data = load_image_data(data, data_dir, train_limit, test_limit)
    c, h, w = train_data.image_shape
    config = make_config(model_name, **{"channels": c, "height": h, "width": w,
                                        "num_classes": max(10, train_data.num_classes), **(model_overrides or {})})
    model = build_image_model(config)
    log(f"{model_name} on {data}: {len(train_data)} train / {len(test_data)} test images of {c}x{h}x{w}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters")
    history = train_image_model(model, train_data, train_config, log=log)
    metrics = evaluate_image_model(model, test_data)
    if model.gaussian_latent and iw_samples > 0:
        metrics["iw_nll"] = iw_nll(model, test_data, iw_samples)
    metrics["train_seconds"] = history["seconds"]
    folder = Path(output or f"runs/image-{model_name}-{data}")
    model.save_pretrained(folder)
    write_json(folder / "train_config.json", {**train_config.__dict__, "data": data, "data_dir": data_dir,
                                              "train_limit": train_limit, "test_limit": test_limit})
    write_json(folder / "metrics.json", {"test": metrics, "epoch_loss": history["epoch_loss"]})
    log(f"test: {json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in metrics.items()})}")
    log(f"saved to {folder}")
    return metrics


def train_from_args(args, overrides: dict[str, Any]) -> int:
    for key, value in (("latent_dim", args.latent_dim), ("hidden_dim", args.hidden_dim), ("beta", args.beta)):
        if value is not None:
            overrides[key] = value
    train = ImageTrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                             beta_schedule=args.beta_schedule)
    train_and_save(args.model, args.data, args.output, args.data_dir, overrides, train, args.train_limit,
                   args.test_limit, args.iw_samples, log=(lambda _msg: None) if args.quiet else print)
    return 0


def score_from_args(args) -> int:
    from textvae.errors import ConfigError
    from textvae.image.models import ImageModel
    from textvae.image.scores import IMAGE_SCORES, score_images

    IMAGE_SCORES.get(args.method)  # fail fast on a bad name before loading anything
    if args.limit is not None and args.limit <= 0:
        raise ConfigError(f"--limit must be > 0, got {args.limit}")
    model = ImageModel.from_pretrained(args.model)
    background = ImageModel.from_pretrained(args.background) if args.background else None
    train, test = load_image_data(args.data, args.data_dir)
    data = (train if args.split == "train" else test).subset(args.limit)
    scores = score_images(model, data, args.method, background, args.samples, seed=args.seed).tolist()
    if args.json:
        print(json.dumps({"method": args.method, "data": args.data, "split": args.split,
                          "mean": sum(scores) / max(len(scores), 1), "scores": [round(s, 4) for s in scores]}))
    else:
        for index, (label, score) in enumerate(zip(data.labels.tolist(), scores, strict=True)):
            print(f"{index}\t{label}\t{score:.4f}")
    return 0
