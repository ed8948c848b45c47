"""textvae encode [--model DIR] [FILE | -] --output OUT [--batch-size N]"""

from __future__ import annotations

READ_CHUNK = 4096  # texts read, encoded and written at a time: memory stays flat for any input length


def add_parser(sub) -> None:
    from textvae.cli.common import add_device_arg, add_model_arg, add_refine_arg

    p = sub.add_parser("encode", help="write the posterior mean and log-variance of every line of a file",
                       description="Encode one text per line of FILE (or standard input) and write mu and logvar: "
                                   ".npy (one float32 array (2, n, latent_dim): mu, logvar = numpy.load(OUT)), "
                                   ".safetensors (tensors mu and logvar) or .jsonl (text, mu, logvar per line), "
                                   "chosen by the suffix of OUT. Empty lines are skipped.")
    add_model_arg(p)
    p.add_argument("input", nargs="?", default="-", metavar="FILE", help="text file, or - for standard input (default)")
    p.add_argument("--output", required=True, metavar="OUT", help="file to write: .npy, .safetensors or .jsonl")
    p.add_argument("--batch-size", type=int, default=64, help="texts encoded at once (in order of length)")
    add_device_arg(p)
    add_refine_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import sys

    from textvae.cli.common import load_model
    from textvae.data.corpus import iter_input_chunks
    from textvae.encoding import encode_to_file, latent_writer
    from textvae.errors import TextVAEError, require_count

    latent_writer(args.output)  # an unknown format or a missing input fails before the model loads
    require_count(args.batch_size, "--batch-size")
    chunks = iter_input_chunks(args.input, READ_CHUNK)
    model = load_model(args)
    if not model.has_latent:
        raise TextVAEError(f"{args.model} is a language model: it has no latent space to encode into")
    count = encode_to_file(model, chunks, args.output, args.batch_size)
    print(f"{count} text(s) -> {args.output}", file=sys.stderr)
    return 0
