"""textvae reconstruct [--model DIR] (TEXT... | --input FILE | --input -) [--json | --jsonl]"""

from __future__ import annotations

INPUT_CHUNK = 256  # texts of --input read and reconstructed at a time


def add_parser(sub) -> None:
    from textvae.cli.common import add_decoding_args, add_device_arg, add_json_arg, add_model_arg

    p = sub.add_parser("reconstruct", help="encode texts and decode their posterior means",
                       description="Reconstruct each TEXT, or each line of --input (a file, or - for standard "
                                   "input; empty lines are skipped), written as they are decoded.")
    add_model_arg(p)
    p.add_argument("texts", nargs="*", metavar="TEXT")
    p.add_argument("--input", default=None, metavar="FILE", help="one text per line of FILE (- for standard input)")
    add_decoding_args(p)
    add_json_arg(p, stream=True)
    add_device_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import decoding_options, load_model, seed, stream
    from textvae.data.corpus import iter_input_chunks
    from textvae.errors import TextVAEError

    if bool(args.texts) == (args.input is not None):
        raise TextVAEError("give the texts to reconstruct as TEXT arguments or as --input FILE, one of the two")
    chunks = iter_input_chunks(args.input, INPUT_CHUNK) if args.input is not None else [args.texts]
    seed(args)
    model = load_model(args)
    records = ({"input": text, "reconstruction": output} for chunk in chunks
               for text, output in zip(chunk, model.reconstruct(chunk, strategy=args.strategy, **decoding_options(args))))
    stream(args, records, len(args.texts), lambda r: f"{r['input']}\n  -> {r['reconstruction']}",
           lambda rs: {"reconstructions": rs})
    return 0
