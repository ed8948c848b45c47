"""textvae respond TURN... -n 5 [--model DIR] [--deterministic] [--json | --jsonl]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_decoding_args, add_device_arg, add_json_arg

    p = sub.add_parser("respond", help="varied replies from a dialogue CVAE",
                       description="Draw n latents z ~ p(z | context) from a conditional model and decode each: "
                                   "n different replies. --deterministic decodes the prior mean instead: the "
                                   "one reply a model without variation would always give. The context is "
                                   "the last turns given (as many as the model reads, model.context_turns). "
                                   "The bundled model is a DailyDialog CVAE (non-commercial licence); train "
                                   "another with configs/dailydialog_cvae.yaml or configs/qqp_cvae.yaml.")
    p.add_argument("--model", default=None,
                   help="a conditional_vae model folder (default: the bundled dialogue CVAE)")
    p.add_argument("turns", nargs="+", metavar="TURN", help="the conversation so far, one argument per turn")
    p.add_argument("-n", type=int, default=5, help="number of replies")
    p.add_argument("--deterministic", action="store_true",
                   help="one reply: the greedy decode of the prior mean of z (no variation)")
    add_decoding_args(p, default_strategy=None)
    add_json_arg(p, stream=True)
    add_device_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import check_json_size, decoding_options, load_model, seed, stream
    from textvae.data.corpus import context_of
    from textvae.errors import TextVAEError
    from textvae.models.registry import DEFAULT_DIALOGUE, default_model_path

    n = 1 if args.deterministic else args.n
    check_json_size(args, n)
    seed(args)
    model = load_model(args, args.model or default_model_path(DEFAULT_DIALOGUE))
    if not model.conditional:
        raise TextVAEError(f"{args.model} is not a conditional model; `respond` needs model.type: conditional_vae")
    context = context_of(args.turns, model.config.context_turns)
    strategy, options = ("greedy", decoding_options(args)) if args.deterministic else \
        model.reply_decoding(args.strategy, **decoding_options(args))
    replies = model.iter_generate([context], n=n, scale=0.0 if args.deterministic else None, strategy=strategy,
                                  **options)
    stream(args, ({"text": text} for text in replies), n, lambda r: f"- {r['text']}",
           lambda rs: {"context": context, "deterministic": args.deterministic,
                       "responses": [r["text"] for r in rs]})
    return 0
