"""textvae interpolate [--model DIR] A B --steps 8 [--json]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_json_arg, add_model_arg

    p = sub.add_parser("interpolate", help="decode points between two sentences' posterior means")
    add_model_arg(p)
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--steps", type=int, default=8, help="points on the path, endpoints included")
    p.add_argument("--method", choices=["linear", "slerp"], default="linear")
    add_json_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import emit, load_model

    model = load_model(args)
    path = model.interpolate(args.a, args.b, steps=args.steps, method=args.method)
    lines = [f"{i / (len(path) - 1):.2f}  {text}" for i, text in enumerate(path)]
    emit(args, {"a": args.a, "b": args.b, "method": args.method, "path": path}, lines)
    return 0
