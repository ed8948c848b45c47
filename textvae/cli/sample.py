"""textvae sample [--model DIR] -n N [--json | --jsonl]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_decoding_args, add_device_arg, add_json_arg, add_model_arg

    p = sub.add_parser("sample", help="decode sentences from prior samples z ~ N(0, I)",
                       description="Decode n prior samples, written as they are made (flat memory for any n).")
    add_model_arg(p)
    p.add_argument("-n", type=int, default=5, help="number of sentences")
    add_decoding_args(p, default_strategy=None)
    add_json_arg(p, stream=True)
    add_device_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import check_json_size, decoding_options, load_model, seed, stream

    check_json_size(args, args.n)
    seed(args)
    model = load_model(args)
    texts = model.iter_sample(args.n, strategy=args.strategy, **decoding_options(args))
    stream(args, ({"text": text} for text in texts), args.n, lambda record: record["text"],
           lambda records: {"samples": [r["text"] for r in records]})
    return 0
