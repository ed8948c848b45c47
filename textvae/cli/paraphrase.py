"""textvae paraphrase [--model DIR] (TEXT | --input FILE | --input -) -n 5 [--scale S] [--novelty N] [--similarity C]
[--json | --jsonl]"""

from __future__ import annotations

INPUT_CHUNK = 64  # lines of --input read at a time


def add_parser(sub) -> None:
    from textvae.cli.common import add_decoding_args, add_device_arg, add_json_arg, add_model_arg

    p = sub.add_parser("paraphrase", help="paraphrases by sampling z around the sentence's posterior",
                       description="Draw z = mu + S * sigma * eps around TEXT's posterior, decode, drop duplicates "
                                   "and the input, rank the rest: by similarity to the input, less the model's "
                                   "penalties on copying its words, on unlikely candidates and on candidates shorter "
                                   "than it (model.rerank_overlap, model.rerank_likelihood, model.rerank_brevity), "
                                   "those that repeat or invent a word last. With --input, one block of paraphrases "
                                   "per line of the file (or of standard input for -).")
    add_model_arg(p)
    p.add_argument("text", nargs="?", default=None, metavar="TEXT")
    p.add_argument("--input", default=None, metavar="FILE", help="paraphrase each line of FILE (- for standard input)")
    p.add_argument("-n", type=int, default=5, help="number of paraphrases")
    p.add_argument("--scale", type=float, default=None,
                   help="S: 0 = deterministic reconstruction, larger = more varied (default: the model's own, "
                        "model.paraphrase_scale)")
    p.add_argument("--novelty", type=float, default=None,
                   help="a quality-controlled paraphraser (model.control): the share of tokens not in the input to "
                        "ask for, 0-1 (default: the model's own, model.control_novelty)")
    p.add_argument("--similarity", type=float, default=None,
                   help="a quality-controlled paraphraser: the similarity to the input to ask for (default: "
                        "model.control_similarity)")
    p.add_argument("--no-rerank", action="store_true", help="keep sampling order instead of ranking")
    add_decoding_args(p, default_strategy=None)
    add_json_arg(p, stream=True)
    add_device_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import check_json_size, emit, load_model, seed, stream
    from textvae.data.corpus import iter_input_chunks
    from textvae.errors import TextVAEError
    from textvae.models.control import require_control

    if (args.text is None) == (args.input is None):
        raise TextVAEError("give the text to paraphrase as TEXT or as --input FILE (one text per line), one of the two")
    check_json_size(args, args.n)
    chunks = iter_input_chunks(args.input, INPUT_CHUNK) if args.input is not None else None
    seed(args)
    model = load_model(args)
    if args.novelty is not None or args.similarity is not None:
        require_control(model.config, "--novelty or --similarity")
        model = model.controlled(args.similarity, args.novelty)
    if chunks is None:
        rows = _paraphrases(model, args.text, args)
        if not rows and not (args.json or args.jsonl):
            emit(args, {}, ["(no paraphrase differs from the input)"])
            return 0
        stream(args, iter(rows), len(rows), lambda r: f"{r['similarity']:.2f}  {r['text']}",
               lambda rs: {"input": args.text, "scale": model.paraphrase_scale(args.scale), "paraphrases": rs})
        return 0
    scale = model.paraphrase_scale(args.scale)
    blocks = ({"input": text, "scale": scale, "paraphrases": _paraphrases(model, text, args)}
              for chunk in chunks for text in chunk)
    stream(args, blocks, 0, _block, lambda rs: {"scale": scale, "results": rs})
    return 0


def _paraphrases(model, text: str, args) -> list[dict]:
    """[{"text", "similarity"}] for `text`, as the options in `args` ask."""
    from textvae.apps.similarity import cosine_to
    from textvae.cli.common import decoding_options

    outputs = model.paraphrase(text, n=args.n, scale=args.scale, strategy=args.strategy,
                               rerank=not args.no_rerank, **decoding_options(args))
    return [{"text": t, "similarity": round(s, 4)} for t, s in zip(outputs, cosine_to(model, text, outputs))]


def _block(record: dict) -> str:
    """One input and its paraphrases, as text."""
    lines = [f"{p['similarity']:.2f}  {p['text']}" for p in record["paraphrases"]] or ["(no paraphrase differs from the input)"]
    return "\n".join([record["input"], *(f"  {line}" for line in lines)])
