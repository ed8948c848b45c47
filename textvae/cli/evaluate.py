"""textvae evaluate --model DIR --data FILE [--json]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_json_arg, add_model_arg

    p = sub.add_parser("evaluate", help="-ELBO, reconstruction, KL and PPL on a data file",
                       description="Evaluate a saved model: -ELBO, reconstruction and KL in nats per sentence, "
                                   "PPL per token (words + EOS). Sentences are not truncated.")
    add_model_arg(p)
    p.add_argument("--data", required=True, help="text file, TSV file or dataset name")
    p.add_argument("--column", default="0", help="TSV column index or dataset column name (default 0)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    add_json_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import torch

    from textvae.cli.common import emit, load_model
    from textvae.data import TextDataset, load_texts
    from textvae.metrics import evaluate_elbo

    torch.manual_seed(args.seed)
    model = load_model(args)
    column = int(args.column) if args.column.isdigit() else args.column
    dataset = TextDataset(load_texts(args.data, column), model.tokenizer)
    result = evaluate_elbo(model, dataset, args.batch_size)
    lines = [f"{k:>15}: {v:.3f}" if isinstance(v, float) else f"{k:>15}: {v}" for k, v in result.items()]
    emit(args, {"data": args.data, **result}, lines)
    return 0
