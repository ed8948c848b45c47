"""textvae respond --model DIR TEXT -n 5 [--json | --jsonl]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_decoding_args, add_device_arg, add_json_arg

    p = sub.add_parser("respond", help="varied responses (or paraphrases) from a conditional VAE",
                       description="Draw n latents z ~ p(z | TEXT) from a conditional model and decode each. "
                                   "Train one with configs/dailydialog_cvae.yaml or configs/qqp_cvae.yaml.")
    p.add_argument("--model", required=True, help="a conditional_vae model folder")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("-n", type=int, default=5, help="number of responses")
    add_decoding_args(p)
    add_json_arg(p, stream=True)
    add_device_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import check_json_size, decoding_options, load_model, seed, stream
    from textvae.errors import TextVAEError

    check_json_size(args, args.n)
    seed(args)
    model = load_model(args)
    if not model.conditional:
        raise TextVAEError(f"{args.model} is not a conditional model; `respond` needs model.type: conditional_vae")
    responses = model.iter_generate([args.text], n=args.n, strategy=args.strategy, **decoding_options(args))
    stream(args, ({"text": text} for text in responses), args.n, lambda r: f"- {r['text']}",
           lambda rs: {"input": args.text, "responses": [r["text"] for r in rs]})
    return 0
