"""textvae analogy [--model DIR] A B C [--json]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_decoding_args, add_device_arg, add_json_arg, add_model_arg

    p = sub.add_parser("analogy", help="latent arithmetic: A is to B as C is to ? (decode mu_C + mu_B - mu_A)")
    add_model_arg(p)
    for name in ("a", "b", "c"):
        p.add_argument(name, metavar=name.upper())
    add_decoding_args(p)
    add_json_arg(p)
    add_device_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import decoding_options, emit, load_model, seed

    seed(args)
    model = load_model(args)
    answer = model.analogy(args.a, args.b, args.c, strategy=args.strategy, **decoding_options(args))
    emit(args, {"a": args.a, "b": args.b, "c": args.c, "answer": answer},
         [f"{args.a}  ->  {args.b}", f"{args.c}  ->  {answer}"])
    return 0
