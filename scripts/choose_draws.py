"""Choose how many latents a VAE's `paraphrase()` draws per paraphrase asked (`model.paraphrase_oversample`) on
validation text (never test text).

More draws give the ranking more to choose from: the paraphrases it shows keep more of the meaning and fewer of
them repeat a word their input does not ("near near here"), at the cost of decoding the extra draws. For each
count, what `paraphrase(text, n=5)` returns for the validation sentences is scored as `scripts/eval_fidelity.py
--app` scores it, and `paraphrase()` is timed on the first `--timed` of them (median milliseconds per sentence).
The chosen count is the fewest whose paraphrases give up at most `--cos-margin` of the cosine to the input that the
most draws tried reach, and repeat a word no more often than human paraphrases do (the references of the held-out
QQP validation pairs, against their sources; or at most `--max-repeat` percent); `textvae export
--paraphrase-oversample K` records it in the model.

    python scripts/choose_draws.py --model textvae/bundled/general-gru-vae --run runs/general-gru-vae-ft2 \
        --oversamples 3 4 5 6 8
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import statistics
import time

import torch

from benchkit.corpora import QQP_VALID_FRACTION, validation_pairs
from benchkit.fidelity import SAMPLES, evaluate_set, repeat_rate
from benchkit.judges import reference_lexicon
from benchkit.paths import QQP, RESULTS_DIR
from benchkit.results import command_line, record_run, update_section
from benchkit.tuning import add_model_arguments, validation_set
from textvae import TextVAE
from textvae.fastcpu.machine import machine_info

RESULTS = RESULTS_DIR / "paraphrase_draws_choice.json"


def paraphrase_ms(model: TextVAE, texts: list[str]) -> float:
    """Median wall-clock milliseconds of `model.paraphrase(text, n=5)` over the texts (after one warm-up call)."""
    model.paraphrase(texts[0], n=SAMPLES)
    times = []
    for text in texts:
        start = time.perf_counter()
        model.paraphrase(text, n=SAMPLES)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


COLUMNS = (("draws per paraphrase", "oversample", "{}"), ("sample cos", "sample_cos", "{:.3f}"),
           (f"differ (of {SAMPLES})", "differ", "{:.2f}"), ("self-BLEU", "self_bleu", "{:.1f}"),
           ("repeat %", "repeats", "{:.1f}"), ("invented %", "invented", "{:.1f}"),
           ("ms per sentence (median)", "ms", "{:.0f}"))


def table(rows: list[dict]) -> str:
    """Markdown table of the rows, one per draw count."""
    cells = [[name for name, _, _ in COLUMNS], ["---"] * len(COLUMNS)]
    cells += [[form.format(row[key]) for _, key, form in COLUMNS] for row in rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument("--oversamples", type=int, nargs="+", default=[3, 4, 5, 6, 8])
    parser.add_argument("--limit", type=int, default=300, help="validation sentences scored")
    parser.add_argument("--timed", type=int, default=50, help="validation sentences timed")
    parser.add_argument("--max-repeat", type=float, default=None,
                        help="the share of shown paraphrases that may repeat a word, in percent (default: the share "
                             "of the human paraphrases of the held-out QQP validation pairs)")
    parser.add_argument("--valid-pairs", type=int, default=888, help="held-out QQP pairs for the default bound")
    parser.add_argument("--cos-margin", type=float, default=0.02,
                        help="the sample cosine a count may give up against the most draws tried")
    args = parser.parse_args()
    bound, bound_source = args.max_repeat, "--max-repeat"
    if bound is None:
        sources, references = validation_pairs(QQP / "train.tsv", QQP_VALID_FRACTION, args.valid_pairs)
        bound = repeat_rate(references, sources)
        bound_source = f"the human paraphrases of {len(sources)} held-out QQP pairs"
    print(f"bound: {bound:.1f} % ({bound_source})")
    texts, model, judge, vecs = validation_set(args.model, args.run, args.limit)
    lexicon = reference_lexicon()
    rows = []
    for oversample in args.oversamples:
        model.config = dataclasses.replace(model.config, paraphrase_oversample=oversample)
        torch.manual_seed(0)
        metrics, _ = evaluate_set(model, judge, None, texts, vecs, model.paraphrase_scale(), app=True,
                                  lexicon=lexicon)
        rows.append({"oversample": oversample, "ms": paraphrase_ms(model, texts[: args.timed]),
                     **{k: metrics[k] for k in ("sample_cos", "differ", "self_bleu", "repeats", "invented")}})
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    floor = max(rows, key=lambda r: r["oversample"])["sample_cos"] - args.cos_margin
    chosen = next((r for r in sorted(rows, key=lambda r: r["oversample"])
                   if r["repeats"] <= bound and r["sample_cos"] >= floor), None)
    machine = machine_info()
    record_run(RESULTS, {"model": args.model, "run": args.run, "date": datetime.date.today().isoformat(),
                         "machine": machine, "command": command_line(), "validation_texts": len(texts),
                         "max_repeat": bound, "bound": bound_source, "min_cos": floor, "rows": rows,
                         "chosen": chosen}, key="model")
    verdict = (f"Chosen: the fewest draws whose paraphrases keep sample cosine {floor:.3f} or more (the most draws "
               f"tried, less {args.cos_margin:g}) and repeat a word in at most {bound:.1f} % ({bound_source}), "
               f"{chosen['oversample']} per paraphrase asked (`textvae export --paraphrase-oversample "
               f"{chosen['oversample']}`)." if chosen else "No count met both bounds.")
    print(verdict)
    update_section("paraphrase_draws", "Choosing how many latents paraphrase() draws (validation)",
                   f"{table(rows)}\n\nModel `{args.model}`, what `paraphrase(text, n=5)` returns for {len(texts)} "
                   f"held-out validation texts of `{args.run or args.model}` (timed on the first "
                   f"{min(args.timed, len(texts))}), {machine['label']}. {verdict}", command_line())


if __name__ == "__main__":
    main()
