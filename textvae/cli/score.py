"""textvae score [--model DIR] FILE [--method M] [--background DIR] [--json | --jsonl]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_device_arg, add_json_arg, add_model_arg
    from textvae.metrics.scores import SCORES

    p = sub.add_parser("score", help="anomaly / out-of-distribution score per line (higher = less like the "
                                     "training data)",
                       description="Score each line of FILE ('-' for standard input) under the model: -ELBO per "
                                   "text or per token, importance-weighted NLL per token, reconstruction error at "
                                   "mu, or the likelihood ratio against a background model (Ren et al. 2019).")
    add_model_arg(p)
    p.add_argument("file", metavar="FILE", help="one text per line ('-': standard input)")
    p.add_argument("--method", choices=list(SCORES), default="elbo_per_token")
    p.add_argument("--background", default=None, help="background model folder (for likelihood_ratio)")
    p.add_argument("--samples", type=int, default=None, help="posterior samples per text (default: per method)")
    p.add_argument("--seed", type=int, default=0)
    add_json_arg(p, stream=True)
    add_device_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import sys

    from textvae.cli.common import check_json_size, load_model, seed, stream
    from textvae.data import load_texts

    texts = sys.stdin.read().splitlines() if args.file == "-" else load_texts(args.file)
    texts = [t for t in texts if t.strip()]
    check_json_size(args, len(texts))
    seed(args)
    model = load_model(args)
    background = load_model(args, args.background) if args.background else None
    scores = model.score(texts, method=args.method, background=background, samples=args.samples)
    records = ({"text": t, "score": round(s, 4)} for t, s in zip(texts, scores))
    stream(args, records, len(texts), lambda r: f"{r['score']:.4f}\t{r['text']}",
           lambda rs: {"method": args.method, "scores": rs})
    return 0
