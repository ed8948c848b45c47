"""textvae sample [--model DIR] -n N [--json]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_decoding_args, add_json_arg, add_model_arg

    p = sub.add_parser("sample", help="decode sentences from prior samples z ~ N(0, I)")
    add_model_arg(p)
    p.add_argument("-n", type=int, default=5, help="number of sentences")
    add_decoding_args(p, default_strategy=None)
    add_json_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import decoding_options, emit, load_model, seed

    seed(args)
    model = load_model(args)
    texts = model.sample(args.n, strategy=args.strategy, **decoding_options(args))
    emit(args, {"samples": texts}, texts)
    return 0
