"""textvae paraphrase [--model DIR] TEXT -n 5 [--scale S] [--json | --jsonl]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_decoding_args, add_json_arg, add_model_arg

    p = sub.add_parser("paraphrase", help="paraphrases by sampling z around the sentence's posterior",
                       description="Draw z = mu + S * sigma * eps around TEXT's posterior, decode, drop duplicates "
                                   "and the input, rerank by similarity to the input.")
    add_model_arg(p)
    p.add_argument("text", metavar="TEXT")
    p.add_argument("-n", type=int, default=5, help="number of paraphrases")
    p.add_argument("--scale", type=float, default=None,
                   help="S: 0 = deterministic reconstruction, larger = more varied (default: the model's own, "
                        "model.paraphrase_scale)")
    p.add_argument("--no-rerank", action="store_true", help="keep sampling order instead of similarity order")
    add_decoding_args(p)
    add_json_arg(p, stream=True)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.apps.similarity import cosine_to
    from textvae.cli.common import check_json_size, decoding_options, emit, load_model, seed, stream

    check_json_size(args, args.n)
    seed(args)
    model = load_model(args)
    outputs = model.paraphrase(args.text, n=args.n, scale=args.scale, strategy=args.strategy,
                               rerank=not args.no_rerank, **decoding_options(args))
    scores = cosine_to(model, args.text, outputs)
    rows = ({"text": t, "similarity": round(s, 4)} for t, s in zip(outputs, scores))
    if not outputs and not (args.json or args.jsonl):
        emit(args, {}, ["(no paraphrase differs from the input)"])
        return 0
    stream(args, rows, len(outputs), lambda r: f"{r['similarity']:.2f}  {r['text']}",
           lambda rs: {"input": args.text, "scale": model.paraphrase_scale(args.scale), "paraphrases": rs})
    return 0
