"""Choose a VAE's default paraphrase scale on validation text (never on test text).

For each scale S of z = mu + S sigma eps, 5 greedy samples per validation sentence are scored as
scripts/eval_fidelity.py scores them (MiniLM cosine to the input, how many differ from it, self-BLEU).
The chosen scale is the smallest whose samples differ from the input in at least `--min-differ` of 5 on
average with self-BLEU at most `--max-self-bleu`: the most faithful scale that still paraphrases.
`textvae export --paraphrase-scale S` records it in the model.

    python scripts/choose_scale.py --model runs/general-gru-vae        # its held-out validation texts
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

import torch

from benchkit.fidelity import evaluate_set
from benchkit.paths import RESULTS_DIR
from benchkit.results import command_line, record_run
from benchkit.tuning import validation_set
from textvae.fastcpu.machine import machine_info

RESULTS = RESULTS_DIR / "paraphrase_scale.json"


def choose(rows: list[dict], min_differ: float, max_self_bleu: float) -> float | None:
    """The smallest scale meeting both bounds, None if none does."""
    fit = [r["scale"] for r in rows if r["differ"] >= min_differ and r["self_bleu"] <= max_self_bleu]
    return min(fit) if fit else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a training run's folder (it holds experiment.yaml)")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0])
    parser.add_argument("--limit", type=int, default=400, help="validation sentences used")
    parser.add_argument("--min-differ", type=float, default=4.5)
    parser.add_argument("--max-self-bleu", type=float, default=50.0)
    args = parser.parse_args()
    run = Path(args.model)
    texts, model, judge, vecs = validation_set(run, None, args.limit)
    rows = []
    print("| scale | sample cos | differ (of 5) | self-BLEU |\n|---|---|---|---|")
    for scale in args.scales:
        torch.manual_seed(0)
        metrics, _ = evaluate_set(model, judge, None, texts, vecs, scale)
        rows.append({k: metrics[k] for k in ("scale", "sample_cos", "differ", "self_bleu", "recon_cos")})
        print(f"| {scale:g} | {metrics['sample_cos']:.3f} | {metrics['differ']:.2f} | {metrics['self_bleu']:.1f} |")
    chosen = choose(rows, args.min_differ, args.max_self_bleu)
    print(f"chosen scale: {chosen}")
    record_run(RESULTS, {"model": str(run), "date": datetime.date.today().isoformat(), "machine": machine_info(),
                         "command": command_line(), "validation_texts": len(texts),
                         "min_differ": args.min_differ, "max_self_bleu": args.max_self_bleu, "rows": rows,
                         "chosen": chosen}, key="model")


if __name__ == "__main__":
    main()
