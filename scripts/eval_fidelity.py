"""Fidelity on unseen input: what a user sees when a model is given sentences no model was trained on.

Input sets (no model trains on them; --limit N keeps the first N of each):
- qqp-unseen: the QQP-50K test sources whose source and reference both do not occur in train.tsv
  (case-insensitive; `benchkit.corpora.unseen_mask`), with their human paraphrases;
- dailydialog-test: the first 1,000 distinct DailyDialog test utterances (file order) that occur neither in the
  DailyDialog train dialogues nor in either column of QQP train.tsv (case- and space-insensitive).

Per model and set: the reconstruction (greedy decode of the posterior mean) and 5 greedy samples around the
posterior at the model's paraphrase scale, judged by one reference MiniLM (the same for every model), exact
match, BLEU, self-BLEU and, with --lm, the median per-token NLL under a decoder-only language model.

    python scripts/eval_fidelity.py --lm runs/qqp-lm                               # the bundled model
    python scripts/eval_fidelity.py --model runs/a --model runs/b --label A --label B --lm runs/qqp-lm
    python scripts/eval_fidelity.py --model bundled --limit 20                     # smoke run
    python scripts/eval_fidelity.py --app --lm runs/qqp-lm                         # what paraphrase() shows
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import torch

from benchkit.corpora import qqp_unseen
from benchkit.fidelity import (
    SAMPLES,
    evaluate_set,
    exact_rate,
    invented_rate,
    median_nll,
    normalize,
    repeat_rate,
)
from benchkit.judges import embed, reference_lexicon
from benchkit.paths import DAILYDIALOG, QQP, RESULTS_DIR
from benchkit.results import DOC, command_line, record_run, update_section
from textvae import TextVAE
from textvae.data import load_texts
from textvae.fastcpu.machine import machine_info
from textvae.metrics.generation import corpus_bleu
from textvae.nlg.lexicon import Lexicon
from textvae.nlu import PretrainedEncoder

RESULTS = RESULTS_DIR / "fidelity.json"
SETS = ("qqp-unseen", "dailydialog-test")
DIALOGUE_INPUTS = 1000
REFERENCE = "(reference)"  # the `model` field of the run that holds the human-paraphrase and real-input rows
COLUMNS = [  # (header, row key, format); the two NLL columns are left out when no row has them
    ("model", "row", "{}"), ("set", "set", "{}"), ("n", "n", "{}"),
    ("recon cos", "recon_cos", "{:.3f}"), ("recon exact %", "recon_exact", "{:.1f}"),
    ("recon BLEU", "recon_bleu", "{:.1f}"), ("refine steps", "refine_steps", "{}"), ("scale", "scale", "{:g}"),
    ("samples", "samples", "{}"), ("sample cos", "sample_cos", "{:.3f}"),
    (f"differ (of {SAMPLES})", "differ", "{:.2f}"), ("self-BLEU", "self_bleu", "{:.1f}"),
    ("repeat %", "repeats", "{:.1f}"), ("invented %", "invented", "{:.1f}"),
    ("sample NLL/token (median)", "sample_nll", "{:.2f}"), ("real NLL/token (median)", "real_nll", "{:.2f}"),
]
NLL_KEYS = ("sample_nll", "real_nll")
PROTOCOL = (
    "Inputs no model was trained on: *qqp-unseen*, the QQP-50K test sources whose source and human paraphrase "
    "both do not occur in train.tsv (case-insensitive); *dailydialog-test*, the first 1,000 distinct DailyDialog "
    "test utterances that occur neither in the DailyDialog train dialogues nor in QQP train.tsv (case- and "
    "space-insensitive). **recon**: greedy decode of the posterior mean (**refine steps**: that many Adam steps on "
    "z from the encoder's mean first, `model.refine_steps`; samples are drawn around `model.paraphrase_center` of "
    "the way from the encoder's mean to the refined one); **cos**: cosine of the output to the input under one "
    "reference MiniLM (all-MiniLM-L6-v2, masked mean of the last layer), the same for every "
    "model; **exact %**: outputs equal to the input after lower-casing and removing all spaces; **BLEU**: "
    "sacrebleu corpus BLEU of the reconstructions against the inputs. **scale**: the sampling scale S of z = mu "
    f"+ S sigma eps (the model's `paraphrase_scale`, 1 if it has none, unless --scale); {SAMPLES} greedy "
    "decodes per input (**samples** *draws*), or what `paraphrase(input, n=5)` returns (**samples** *paraphrase()*: "
    "the distinct decodes of the model's `paraphrase_oversample` x 5 draws, more drawn at 1.5 and 2.25 times the "
    "scale while fewer than 5 differ, repeat no word and invent none, never the input, ranked by the model's "
    "ranking weights; "
    "up to 5, and a missing one counts as not differing). **sample cos**: mean cosine of every sample to its input; **differ**: how many of the "
    f"{SAMPLES} samples differ from the input (same normalisation as exact); **self-BLEU**: BLEU of each sample "
    "against the other samples of the same input (lower = more varied); **repeat %**: the share of samples that "
    "repeat a word their input does not (a word twice in a row, a content word more often than in the input "
    "and more than once, or two content words of one stem: `textvae.metrics.repetition`); **invented %**: the "
    "share of samples with a word that neither the input nor any training text holds (both columns of QQP "
    "train.tsv and the DailyDialog training dialogues; plural and singular count as one word; "
    "`textvae.nlg.lexicon`): a word made up from subword pieces (\"Pepto-Bismism\"). **NLL/token**: median "
    "per-token NLL (EOS included) under a decoder-only LM, of the samples and of the real inputs of the same set, "
    "each scored without the space tokenized text puts before punctuation (`textvae.nlg.spacing`). "
    "*human paraphrase*: the QQP reference paraphrase in place of an output; its cosine, exact match and BLEU "
    "to the source stand in the recon columns (what a real paraphrase scores: compare with sample cos), its "
    "NLL in the sample column and its repeats and invented words in theirs. *real inputs*: the inputs themselves under the LM.")


def utterances(path: Path) -> list[str]:
    """All utterances of a DailyDialog file in order: each line split on '__eou__', stripped, empties dropped."""
    return [u.strip() for line in load_texts(path) for u in line.split("__eou__") if u.strip()]


def dialogue_unseen(folder: Path, qqp_train: Path, count: int) -> list[str]:
    """The first `count` distinct test utterances that are neither DailyDialog train utterances nor QQP
    train questions (either column)."""
    seen = {normalize(t) for t in utterances(folder / "train" / "dialogues_train.txt")}
    seen |= {normalize(t) for column in (0, 1) for t in load_texts(qqp_train, column)}
    chosen: list[str] = []
    for text in utterances(folder / "test" / "dialogues_test.txt"):
        if len(chosen) == count:
            break
        if normalize(text) not in seen:
            chosen.append(text)
            seen.add(normalize(text))
    return chosen


def reference_rows(judge: PretrainedEncoder, lm: TextVAE | None, sets: dict[str, list[str]],
                   vecs: dict[str, torch.Tensor], paraphrases: list[str], lexicon: Lexicon) -> list[dict]:
    """The human paraphrases of qqp-unseen (compared with their sources) and each set's real inputs under the LM."""
    sources = sets["qqp-unseen"]
    real = {name: median_nll(lm, texts) for name, texts in sets.items()}
    rows = [{"row": "real inputs", "set": name, "n": len(texts), "real_nll": real[name]}
            for name, texts in sets.items()] if lm is not None else []
    return rows + [{"row": "human paraphrase", "set": "qqp-unseen", "n": len(sources),
                    "recon_cos": (embed(judge, paraphrases) * vecs["qqp-unseen"]).sum(-1).mean().item(),
                    "recon_exact": exact_rate(paraphrases, sources), "recon_bleu": corpus_bleu(paraphrases, sources),
                    "repeats": repeat_rate(paraphrases, sources),
                    "invented": invented_rate(paraphrases, sources, lexicon),
                    "sample_nll": median_nll(lm, paraphrases), "real_nll": real["qqp-unseen"]}]


def table(rows: list[dict]) -> str:
    """Markdown table of the rows, grouped by set with the reference rows first; missing values show '–'."""
    columns = [c for c in COLUMNS if c[1] not in NLL_KEYS or any(r.get(c[1]) is not None for r in rows)]
    order = sorted(rows, key=lambda r: (SETS.index(r["set"]), r.get("reference") is None))
    lines = ["| " + " | ".join(c[0] for c in columns) + " |", "|" + "---|" * len(columns)]
    for r in order:
        cells = ["–" if r.get(key) is None else form.format(r[key]) for _, key, form in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rows_of(runs: list[dict]) -> list[dict]:
    """Table rows of stored runs: the reference run's rows (marked) and one row per model and set."""
    rows = []
    for run in runs:
        if run["model"] == REFERENCE:
            rows += [{**r, "reference": True} for r in run["rows"]]
        else:
            rows += [{"row": run["model"], "set": name, "refine_steps": run.get("refine_steps", 0), "samples": "draws",
                      **metrics}
                     for name, metrics in run["sets"].items()]
    return rows


def publish(runs: list[dict], command: str) -> None:
    """Rewrite the docs/RESULTS.md section from every stored run."""
    models = [r for r in runs if r["model"] != REFERENCE]
    lms = sorted({str(r["lm"]) for r in runs if r["lm"]})
    notes = "; ".join(f"{r['model']}: `{r['path']}`, encoder {r['encoder']}, {r['seconds']:.0f} s ({r['date']})"
                      for r in models)
    lm_note = f" LM: {', '.join(f'`{lm}`' for lm in lms)}." if lms else ""
    update_section("fidelity", "Fidelity on unseen input: reconstruction and paraphrase samples",
                   f"{table(rows_of(runs))}\n\n{PROTOCOL}{lm_note}\n\nModels: {notes}.", command)


def load_model(spec: str, device: str | None, int8: bool = False, refine_steps: int | None = None) -> TextVAE:
    """A saved model folder, or the bundled model for 'bundled'; decoding with int8 weights with `int8`; its latents
    refined by `refine_steps` (None: the model's own setting)."""
    return TextVAE.from_pretrained(None if spec == "bundled" else spec, device=device).int8_decoding(int8).refining(
        refine_steps)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=None,
                        help="model folder, or 'bundled' (repeatable; default: bundled)")
    parser.add_argument("--label", action="append", default=None,
                        help="row name of the matching --model (repeatable; default: the folder name)")
    parser.add_argument("--lm", default=None, help="decoder-only LM folder (encoder none) for the NLL columns")
    parser.add_argument("--scale", type=float, default=None,
                        help="sampling scale for every model (default: each model's paraphrase_scale, else 1)")
    parser.add_argument("--limit", type=int, default=None, help="keep the first N inputs of each set (smoke runs)")
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    parser.add_argument("--int8", action="store_true", help="decode with int8 weights (TextVAE.int8_decoding)")
    parser.add_argument("--app", action="store_true",
                        help="the samples are what model.paraphrase(input, n=5) returns (ranked, distinct, never the "
                             "input) instead of raw draws")
    parser.add_argument("--refine-steps", type=int, default=None,
                        help="latent refinement steps for every model (default: each model's refine_steps)")
    args = parser.parse_args()
    args.model = args.model or ["bundled"]
    args.label = args.label or []
    if len(args.label) > len(args.model):
        parser.error(f"{len(args.label)} --label for {len(args.model)} --model")
    args.label += [Path(m).name for m in args.model[len(args.label) :]]
    if len(set(args.label)) < len(args.label) or REFERENCE in args.label:
        parser.error(f"labels must be distinct and not '{REFERENCE}'")
    return args


def main() -> None:
    args = parse_args()
    command = command_line()
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    base = {"machine": machine_info(), "date": datetime.date.today().isoformat(), "command": command,
            "lm": args.lm, "limit": args.limit}
    sources, paraphrases = qqp_unseen(QQP, args.limit)
    sets = {"qqp-unseen": sources, "dailydialog-test": dialogue_unseen(
        DAILYDIALOG, QQP / "train.tsv", min(DIALOGUE_INPUTS, args.limit or DIALOGUE_INPUTS))}
    print(", ".join(f"{name}: {len(texts)} inputs" for name, texts in sets.items()))
    judge = PretrainedEncoder("minilm").to(device).eval()
    lm = TextVAE.from_pretrained(args.lm, device=device) if args.lm else None
    if lm is not None and lm.has_latent:
        sys.exit(f"--lm {args.lm} has an encoder; the NLL columns need a decoder-only LM (model.encoder: none)")
    vecs = {name: embed(judge, texts) for name, texts in sets.items()}
    lexicon = reference_lexicon()
    rows = reference_rows(judge, lm, sets, vecs, paraphrases, lexicon)
    runs = record_run(RESULTS, {**base, "model": REFERENCE, "rows": rows}, key="model")
    rows = [{**r, "reference": True} for r in rows]
    for spec, label in zip(args.model, args.label):
        start = time.perf_counter()
        model = load_model(spec, device, args.int8, args.refine_steps)
        scale = args.scale if args.scale is not None else getattr(model.config, "paraphrase_scale", 1.0)
        run = {**base, "model": label, "path": spec, "encoder": model.config.encoder, "scale": scale, "app": args.app,
               "refine_steps": model.config.refine_steps,
               "sets": {}, "examples": {}}
        for name, texts in sets.items():
            torch.manual_seed(0)
            run["sets"][name], run["examples"][name] = evaluate_set(model, judge, lm, texts, vecs[name], scale,
                                                                          args.app, lexicon)
        run["seconds"] = time.perf_counter() - start
        print(f"{label}: {run['seconds']:.0f} s")
        runs = record_run(RESULTS, run, key="model")
        rows += rows_of([run])
    print(table(rows))
    publish(runs, command)
    print(f"wrote {RESULTS} and {DOC}")


if __name__ == "__main__":
    main()
