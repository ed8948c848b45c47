"""textvae train --config FILE [--set key=value ...] --output DIR [--resume]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_keep_freed_memory_arg

    p = sub.add_parser("train", help="train a model from a YAML config",
                       description="Train a text VAE / AE / LM. The best validation model is saved in --output.")
    p.add_argument("--config", help="YAML experiment config (see configs/)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.lr=3e-4 (repeatable)")
    p.add_argument("--output", required=True, help="run folder: model, checkpoint/ and metrics.jsonl")
    p.add_argument("--resume", action="store_true", help="continue from --output/checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_keep_freed_memory_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import os

    from textvae.cli.common import apply_keep_freed_memory
    from textvae.config import load_experiment
    from textvae.training import train

    config = load_experiment(args.config, args.overrides)
    apply_keep_freed_memory(args)  # this process only trains: steps reuse freed blocks instead of page-faulting fresh ones
    model = train(config, args.output, resume=args.resume, show_progress=not args.quiet)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun / accelerate launch only rank 0 reports
        return 0
    print(f"saved to {args.output}")
    if model.has_latent and not model.conditional:  # a conditional model needs sources to generate from
        for text in model.sample(3):
            print(f"  sample: {text}")
    return 0
