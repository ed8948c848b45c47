"""textvae interpolate [--model DIR] A B --steps 8 [--json | --jsonl]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_device_arg, add_int8_arg, add_json_arg, add_model_arg, add_refine_arg

    p = sub.add_parser("interpolate", help="decode points between two sentences' posterior means",
                       description="Decode evenly spaced points from A's posterior mean to B's, written as they "
                                   "are decoded (flat memory for any number of steps).")
    add_model_arg(p)
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--steps", type=int, default=8, help="points on the path, endpoints included")
    p.add_argument("--method", choices=["linear", "slerp"], default="linear")
    p.add_argument("--batch-size", type=int, default=256, help="points decoded at once")
    add_json_arg(p, stream=True)
    add_device_arg(p)
    add_int8_arg(p)
    add_refine_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import check_json_size, load_model, stream

    check_json_size(args, args.steps)
    model = load_model(args)
    path = model.iter_interpolate(args.a, args.b, steps=args.steps, method=args.method, batch_size=args.batch_size)
    last = max(args.steps - 1, 1)
    records = ({"t": round(i / last, 6), "text": text} for i, text in enumerate(path))
    stream(args, records, args.steps, lambda r: f"{r['t']:.2f}  {r['text']}",
           lambda rs: {"a": args.a, "b": args.b, "method": args.method, "path": [r["text"] for r in rs]})
    return 0
