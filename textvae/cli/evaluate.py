"""textvae evaluate --model DIR --data FILE [--json]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_device_arg, add_json_arg, add_keep_freed_memory_arg, add_model_arg

    p = sub.add_parser("evaluate", help="-ELBO, reconstruction, KL and PPL on a data file",
                       description="Evaluate a saved model: -ELBO, reconstruction and KL in nats per sentence, "
                                   "PPL per token (words + EOS). Sentences are not truncated.")
    add_model_arg(p)
    p.add_argument("--data", required=True,
                   help="a .txt, .tsv, .csv, .json, .jsonl or .parquet file, or a dataset NAME[:SPLIT] or NAME:CONFIG:SPLIT")
    p.add_argument("--column", default="0", help="the text column: an index or a name (TSV: index only; default 0)")
    p.add_argument("--source-column", default=None,
                   help="conditional models: the TSV column (or dataset column) holding the source")
    p.add_argument("--dialogue", action="store_true",
                   help="conditional models: DATA holds dialogues ('__eou__'); pairs are consecutive turns")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--iw-samples", type=int, default=0,
                   help="also report the importance-weighted NLL with K samples (500 for published numbers), "
                        "mutual information I(x;z) and active units. Slow: K = 500 over the PTB test set took 15 min on "
                        "one core with AMX and 50 min on one without (a progress bar shows on a terminal)")
    p.add_argument("--iw-batch-size", type=int, default=8,
                   help="sentences per IW pass; each pass decodes this x 50 samples (default 8: fits a CPU's "
                        "cache; raise it on a GPU)")
    p.add_argument("--iw-precision", default="fp32",
                   help="fp32 | bf16: precision of the decoder passes of the IW estimate; bf16 measured 2.2x faster "
                        "on a CPU with AMX and within 0.001 nats of fp32 on PTB (default fp32)")
    p.add_argument("--seed", type=int, default=0)
    add_json_arg(p)
    add_device_arg(p)
    add_keep_freed_memory_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import sys
    import warnings

    import torch

    from textvae.cli.common import apply_keep_freed_memory, emit, load_model
    from textvae.data import TextDataset
    from textvae.errors import TextVAEError, require, require_count
    from textvae.metrics import evaluate_elbo, evaluate_iw_nll, latent_report
    from textvae.training.features import attach_cached_features

    require_count(args.batch_size, "--batch-size")
    require_count(args.iw_batch_size, "--iw-batch-size")
    require(args.iw_samples >= 0, f"--iw-samples must be >= 0, got {args.iw_samples}", TextVAEError)
    apply_keep_freed_memory(args)  # the decoder passes reuse freed blocks (IW passes 4% faster, docs/RESULTS.md)
    torch.manual_seed(args.seed)
    model = load_model(args)
    column = int(args.column) if args.column.isdigit() else args.column
    texts, sources = _load(args, model, column)
    dataset = TextDataset(texts, model.tokenizer, max_length=model.max_tokens, sources=sources)
    if dataset.truncated:  # only a position-limited (transformer) decoder truncates
        warnings.warn(f"{dataset.truncated} sentence(s) longer than the decoder's {model.max_tokens} tokens "
                      f"were truncated", UserWarning, stacklevel=1)
    attach_cached_features(model, dataset)  # a frozen encoder's features: computed once, reused by every metric
    result = evaluate_elbo(model, dataset, args.batch_size)
    if args.iw_samples and model.variational and not model.conditional:
        result.update(evaluate_iw_nll(model, dataset, args.iw_samples, args.iw_batch_size,
                                      precision=args.iw_precision, show_progress=sys.stderr.isatty()))
    if model.has_latent and not model.conditional:
        result.update(latent_report(model, dataset, args.batch_size))
    lines = [f"{k:>15}: {v:.3f}" if isinstance(v, float) else f"{k:>15}: {v}" for k, v in result.items()]
    if model.has_latent and not model.variational:
        lines.append("(an autoencoder has no KL term: its 'neg_elbo' is the reconstruction loss, not a likelihood bound)")
    emit(args, {"data": args.data, **result}, lines)
    return 0


def _load(args, model, column) -> tuple[list[str], list[str] | None]:
    """(texts, sources): sources only for a conditional model, which needs them."""
    from textvae.data import load_texts
    from textvae.data.corpus import load_dialogue_pairs, load_pairs
    from textvae.errors import TextVAEError

    if not model.conditional:
        return load_texts(args.data, column), None
    if args.dialogue:
        sources, texts = load_dialogue_pairs(args.data, model.config.context_turns)
        return texts, sources
    if args.source_column is None:
        raise TextVAEError("this is a conditional model: give --source-column (paired TSV) or --dialogue")
    source_column = int(args.source_column) if args.source_column.isdigit() else args.source_column
    sources, texts = load_pairs(args.data, source_column, column)
    return texts, sources
