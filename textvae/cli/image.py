"""textvae image train --model NAME --data NAME [...] | textvae image score --model DIR --data NAME [...]
| textvae image demo [--out DIR]"""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("image", help="image VAEs: train one model, or run the picture demo")
    image_sub = p.add_subparsers(dest="image_command", required=True, metavar="SUBCOMMAND")

    t = image_sub.add_parser("train", help="train an image model and save it (config.json + model.safetensors)")
    t.add_argument("--model", required=True, help="ae | vae | conv-vae | beta-vae | cvae | vqvae | dae | hvae")
    t.add_argument("--data", default="digits", help="digits (default, offline) | mnist | fashion-mnist")
    t.add_argument("--data-dir", default=None, help="folder with the idx(.gz) files (mnist / fashion-mnist)")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--latent-dim", type=int, default=None, help="default: the model's (20; VQ-VAE code size 16)")
    t.add_argument("--hidden-dim", type=int, default=None)
    t.add_argument("--beta", type=float, default=None, help="KL weight (default 1; beta-vae 4)")
    t.add_argument("--beta-schedule", default="constant", help="constant | linear | logistic | cyclical")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any other model config field, e.g. --set ema=true --set noise=mask")
    t.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    t.add_argument("--test-limit", type=int, default=None)
    t.add_argument("--iw-samples", type=int, default=100, help="importance samples for the test IW-NLL (0 = skip)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--output", default=None, help="model folder to write (default: runs/image-<model>-<data>)")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(run=run_train)

    s = image_sub.add_parser("score", help="anomaly / out-of-distribution score per image (higher = less like the "
                                           "training data)")
    s.add_argument("--model", required=True, help="image model folder (config.json + model.safetensors)")
    s.add_argument("--data", required=True, help="digits | mnist | fashion-mnist")
    s.add_argument("--data-dir", default=None)
    s.add_argument("--split", choices=("test", "train"), default="test")
    s.add_argument("--limit", type=int, default=None, help="score only the first N images of the split")
    s.add_argument("--method", default="elbo", help="elbo | iw_nll | reconstruction | likelihood_ratio | complexity")
    s.add_argument("--background", default=None, help="background model folder (for likelihood_ratio)")
    s.add_argument("--samples", type=int, default=None, help="posterior samples per image (default: per method)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json", action="store_true", help="one JSON object instead of 'index<TAB>label<TAB>score' lines")
    s.set_defaults(run=run_score)

    d = image_sub.add_parser("demo", help="train each model briefly and write the explanatory PNGs")
    d.add_argument("--out", default="image_demo", help="folder for the PNGs and summary.json")
    d.add_argument("--data", default="digits")
    d.add_argument("--data-dir", default=None)
    d.add_argument("--epochs", type=int, default=None, help="training epochs per model (default: 100; the VQ-VAE a third of that)")
    d.set_defaults(run=run_demo)


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)  # tiny models: one thread is fastest, and fair to a shared machine


def run_train(args) -> int:
    from textvae.config import parse_override
    from textvae.errors import ConfigError
    from textvae.image.cli_support import train_from_args

    for flag, value in (("--train-limit", args.train_limit), ("--test-limit", args.test_limit)):
        if value is not None and value <= 0:
            raise ConfigError(f"{flag} must be > 0, got {value}")

    overrides = {}
    for item in args.set:
        keys, value = parse_override(item)
        overrides[".".join(keys)] = value
    _one_thread()
    return train_from_args(args, overrides)


def run_score(args) -> int:
    from textvae.image.cli_support import score_from_args

    _one_thread()
    return score_from_args(args)


def run_demo(args) -> int:
    from textvae.image.demo import run_demo as demo

    _one_thread()
    kwargs = {} if args.epochs is None else {"epochs": args.epochs}
    demo(args.out, data=args.data, data_dir=args.data_dir, **kwargs)
    return 0
