"""Dialogue responses, deterministic vs sampled, on the DailyDialog test set (Zhao et al. 2017 metrics).

For each of the 6,740 consecutive (utterance -> response) test pairs, every model gives --samples
responses. Rows: the human test responses (reference point), the deterministic seq2seq (greedy: the
same reply every time), the same seq2seq with word-level sampling (temperature 1), the CVAE decoding
greedily from each z ~ p(z | context), the CVAE from the prior mean (scale 0), and, for a CVAE with a reply
default (`model.reply_top_p`, `textvae export --reply-top-p`), the CVAE decoding each z as `respond` does.
With --choose, the CVAE's decoding settings are compared on the validation dialogues instead (the reply
default is chosen there, never on test).

    python scripts/eval_dialogue.py --cvae runs/dailydialog-cvae --seq2seq runs/dailydialog-s2s
    python scripts/eval_dialogue.py --cvae DIR --seq2seq DIR --runs cvae-reply   # one row; the others are kept
    python scripts/eval_dialogue.py --cvae DIR --seq2seq DIR --choose --limit 500  # settings on validation
    python scripts/eval_dialogue.py --cvae DIR --seq2seq DIR --limit 300        # smoke run

Metrics (lower-cased whitespace tokens of each reply tokenized as DailyDialog is, `spaced`): distinct-1/2 across
the samples of each input (averaged over inputs) and over all generated responses (corpus); smoothed sentence BLEU
of each sample against the reference, averaged over the samples (precision) and its max over the samples (recall);
relevance: the MiniLM cosine (all-MiniLM-L6-v2, the same judge for every row) between each reply and the true
response, averaged over the samples and its max over the samples; mean length.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import time
from statistics import mean

import torch

from benchkit.fidelity import generate
from benchkit.judges import embed
from benchkit.paths import DAILYDIALOG, RESULTS_DIR
from benchkit.results import DOC, command_line, update_section
from textvae import TextVAE
from textvae.data.corpus import load_dialogue_pairs
from textvae.metrics.generation import bleu_precision_recall, distinct_n, distinct_per_input
from textvae.nlu import PretrainedEncoder

TEST = DAILYDIALOG / "test" / "dialogues_test.txt"
RESULTS = RESULTS_DIR / "dialogue.json"
_PUNCTUATION = re.compile(r"(?<=\S)(?<!\.)(\.{2,}|[.,!?;:%])(?=[\s.,!?;:%]|$)")  # "late." -> "late ."; "3.5", "..." kept
_DOLLAR = re.compile(r"\$(?=\d)")  # "$80" -> "$ 80"
_CURLY = re.compile(r"(?<=\w)’(?=\w)")  # "I’m" -> "I ’ m"


def relevance(judge: PretrainedEncoder, groups: list[list[str]], references: list[str]) -> tuple[float, float]:
    """Mean over inputs of the average and of the max MiniLM cosine between a reply and the true response."""
    texts = sorted({t for group in groups for t in group} | set(references), key=len)  # each text embedded once
    row = {text: i for i, text in enumerate(texts)}
    vecs = embed(judge, texts)
    sims = [vecs[[row[t] for t in group]] @ vecs[row[ref]] for group, ref in zip(groups, references)]
    return mean(s.mean().item() for s in sims), mean(s.max().item() for s in sims)


def spaced(reply: str) -> str:
    """`reply` tokenized as DailyDialog's lines are: a space before sentence punctuation and on both sides of a
    curly apostrophe ("Sorry, I’m late." -> "Sorry , I ’ m late ."), so that a model that removes those spaces
    (`model.clean_up_tokenization_spaces`) is scored on the same tokens as one that writes them."""
    return _CURLY.sub(" ’ ", _DOLLAR.sub("$ ", _PUNCTUATION.sub(r" \1", reply)))


def score(groups: list[list[str]], references: list[str], judge: PretrainedEncoder) -> dict:
    groups = [[spaced(reply) for reply in group] for group in groups]
    flat = [response for group in groups for response in group]
    precision, recall = bleu_precision_recall(groups, references)
    relevance_avg, relevance_max = relevance(judge, groups, references)
    return {"relevance_avg": relevance_avg, "relevance_max": relevance_max,
            "distinct_1_per_input": distinct_per_input(groups, 1), "distinct_2_per_input": distinct_per_input(groups, 2),
            "distinct_1": distinct_n(flat, 1), "distinct_2": distinct_n(flat, 2),
            "bleu_precision": precision, "bleu_recall": recall,
            "mean_length": mean(len(r.split()) for r in flat), "inputs": len(groups)}


def fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) and value < 1 else \
        f"{value:.1f}" if isinstance(value, float) else str(value)


def table(rows: list[dict]) -> str:
    keys = ["distinct_1_per_input", "distinct_2_per_input", "distinct_1", "distinct_2", "bleu_precision",
            "bleu_recall", "relevance_avg", "relevance_max", "mean_length"]
    lines = ["| row | dist-1 / input | dist-2 / input | dist-1 corpus | dist-2 corpus | BLEU prec. (avg) | "
             "BLEU recall (max) | relevance (avg) | relevance (max) | mean length |", "|" + "---|" * 10]
    lines += [f"| {r['row']} | " + " | ".join(fmt(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


VALIDATION = DAILYDIALOG / "validation" / "dialogues_validation.txt"
CHOICES = RESULTS_DIR / "dialogue_decoding.json"
# the CVAE's decoding settings compared on validation (each z ~ p(z | c) decoded so)
SETTINGS = {"greedy": {"strategy": "greedy"}, "temperature 0.7": {"strategy": "sample", "temperature": 0.7},
            **{f"top-p {p:g}": {"strategy": "sample", "top_p": p} for p in (0.5, 0.7, 0.8, 0.9)}}


def runs_of(cvae: TextVAE, seq2seq: TextVAE) -> dict[str, tuple[str, TextVAE, dict]]:
    """The test rows: key -> (label, model, generation options)."""
    runs = {"seq2seq-greedy": ("seq2seq, greedy (deterministic)", seq2seq, {"strategy": "greedy"}),
            "seq2seq-sample": ("seq2seq, word sampling (T = 1)", seq2seq, {"strategy": "sample", "temperature": 1.0}),
            "cvae-mean": ("CVAE, prior mean (scale 0)", cvae, {"strategy": "greedy", "scale": 0.0}),
            "cvae-greedy": ("CVAE, z ~ p(z|c), greedy", cvae, {"strategy": "greedy", "scale": 1.0})}
    if cvae.config.reply_top_p is not None:
        strategy, options = cvae.reply_decoding()
        runs["cvae-reply"] = (f"CVAE, z ~ p(z|c), top-p {cvae.config.reply_top_p:g} (respond's default)", cvae,
                              {"strategy": strategy, "scale": 1.0, **options})
    return runs


def evaluate(label: str, model: TextVAE, options: dict, data: str, limit: int | None, references: list[str],
             judge: PretrainedEncoder, args: argparse.Namespace) -> dict:
    """One row: `args.samples` replies per context (as many previous turns as the model was trained on)."""
    contexts = load_dialogue_pairs(data, model.config.context_turns)[0][:limit]
    start = time.perf_counter()
    groups = generate(model, contexts, args.samples, args.batch, **options)
    row = {"row": label, **score(groups, references, judge), "seconds": time.perf_counter() - start,
           "examples": [{"context": contexts[i], "reference": references[i], "responses": groups[i]}
                        for i in range(min(3, len(contexts)))]}
    print(f"{label}: {row['seconds']:.0f} s")
    return row


def choose(cvae: TextVAE, seq2seq: TextVAE, judge: PretrainedEncoder, args: argparse.Namespace) -> None:
    """Compare the CVAE's decoding settings on the first --inputs validation pairs; write their table."""
    references = load_dialogue_pairs(VALIDATION)[1][: args.inputs]
    rows = [evaluate("seq2seq, greedy (deterministic)", seq2seq, {"strategy": "greedy"}, str(VALIDATION),
                     args.inputs, references, judge, args)]
    rows += [evaluate(f"CVAE, z ~ p(z|c), {name}", cvae, {"scale": 1.0, **options}, str(VALIDATION), args.inputs,
                      references, judge, args) for name, options in SETTINGS.items()]
    print(table(rows))
    CHOICES.write_text(json.dumps({"cvae": args.cvae, "seq2seq": args.seq2seq, "inputs": len(references),
                                   "date": datetime.date.today().isoformat(), "rows": rows}, indent=2) + "\n")
    update_section("dialogue_decoding", "Choosing the reply decoding (DailyDialog validation)",
                   table(rows) + f"\n\nThe first {len(references)} validation pairs, {args.samples} replies each, "
                   "scored as on test; corpus distinct-n grows smaller as the corpus grows, so compare rows here "
                   "with each other, not with the test table.", command_line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cvae", required=True, help="the dialogue CVAE (configs/dailydialog_cvae.yaml)")
    parser.add_argument("--seq2seq", required=True, help="its deterministic twin (model.variational=false)")
    parser.add_argument("--samples", type=int, default=5, help="responses per input")
    parser.add_argument("--data", default=str(TEST), help="DailyDialog-format test file")
    parser.add_argument("--runs", nargs="+", default=None, metavar="RUN",
                        help="test rows to compute (seq2seq-greedy, seq2seq-sample, cvae-mean, cvae-greedy, "
                             "cvae-reply); the others are kept from the last full run (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pairs (smoke runs; writes nothing)")
    parser.add_argument("--choose", action="store_true", help="compare decoding settings on validation instead")
    parser.add_argument("--inputs", type=int, default=500, help="--choose: validation pairs used")
    parser.add_argument("--batch", type=int, default=128, help="inputs decoded together")
    args = parser.parse_args()
    torch.manual_seed(0)
    cvae = TextVAE.from_pretrained(args.cvae, device="cpu")
    seq2seq = TextVAE.from_pretrained(args.seq2seq, device="cpu")
    if seq2seq.variational:
        raise SystemExit(f"--seq2seq {args.seq2seq} is variational; train it with --set model.variational=false")
    judge = PretrainedEncoder("minilm").eval()
    if args.choose:
        return choose(cvae, seq2seq, judge, args)
    contexts, references = load_dialogue_pairs(args.data)
    contexts, references = contexts[: args.limit], references[: args.limit]
    print(f"{len(contexts)} test pairs, {args.samples} responses each")
    runs = runs_of(cvae, seq2seq)
    unknown = set(args.runs or []) - set(runs)
    if unknown:
        raise SystemExit(f"--runs: unknown {sorted(unknown)}; this CVAE has {sorted(runs)}")
    references_lower = [r.lower() for r in references]
    rows = [{"row": "human test responses", **score([[r] for r in references_lower], references_lower, judge)}]
    for key in ("bleu_precision", "bleu_recall", "relevance_avg", "relevance_max", "distinct_1_per_input",
                "distinct_2_per_input"):
        rows[0][key] = None  # one reference per input, scored against itself: not comparable
    rows += [evaluate(label, model, options, args.data, args.limit, references, judge, args)
             for key, (label, model, options) in runs.items() if args.runs is None or key in args.runs]
    if args.limit is None and args.runs is not None and RESULTS.exists():  # keep the rows not recomputed
        computed = {r["row"] for r in rows}
        rows += [r for r in json.loads(RESULTS.read_text())["rows"] if r["row"] not in computed]
        order = ["human test responses"] + [label for label, _, _ in runs.values()]
        rows.sort(key=lambda r: order.index(r["row"]) if r["row"] in order else len(order))
    print(table(rows))
    by_row = {r["row"]: r for r in rows}
    label = runs["cvae-reply" if "cvae-reply" in runs else "cvae-greedy"][0]
    if "seq2seq, greedy (deterministic)" not in by_row or label not in by_row:  # a smoke run of some rows
        return
    greedy, cvae_row = by_row["seq2seq, greedy (deterministic)"], by_row[label]
    ratio = cvae_row["distinct_2_per_input"] / max(greedy["distinct_2_per_input"], 1e-9)
    summary = (f"\n\n{label} vs deterministic seq2seq: distinct-2 per input {ratio:.2f}x; BLEU recall "
               f"{cvae_row['bleu_recall']:.3f} vs {greedy['bleu_recall']:.3f}; relevance (max) "
               f"{cvae_row['relevance_max']:.3f} vs {greedy['relevance_max']:.3f}. {len(contexts)} test pairs, "
               f"{args.samples} responses each; lower-cased whitespace tokens of replies spaced as DailyDialog is; "
               "BLEU = sacrebleu smoothed sentence "
               "BLEU (0-1) against the single reference. Models: `textvae train --config "
               "configs/dailydialog_cvae.yaml` and the same with `--set model.variational=false`.")
    print(summary.strip())
    if args.limit is None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"cvae": args.cvae, "seq2seq": args.seq2seq, "samples": args.samples,
                                       "date": datetime.date.today().isoformat(), "rows": rows}, indent=2) + "\n")
        update_section("dialogue", "Dialogue: deterministic vs sampled responses (DailyDialog test)",
                       table(rows) + summary, command_line())
        print(f"wrote {RESULTS} and {DOC}")


if __name__ == "__main__":
    main()
