"""Latent arithmetic on sentences, measured: turn DailyDialog statements into questions with a vector.

The attribute vector is mean μ(question utterances) − mean μ(inform utterances) over DailyDialog training
utterances (dialogue-act labels). Each of --inputs test utterances labelled "inform" is shifted,
μ + strength · vector, and decoded greedily. A dialogue-act classifier (logistic regression on MiniLM
sentence embeddings of the training utterances) judges transfer: the share of outputs it calls a question.
Content kept: MiniLM cosine and BLEU of each output to its source. Baselines: no shift (strength 0) and a
random direction of the same norm (one fixed draw).

    python scripts/eval_arithmetic.py                     # the bundled VAE
    python scripts/eval_arithmetic.py --model runs/x --inputs 100   # smoke run (writes nothing)
"""

from __future__ import annotations

import argparse
import datetime
import random

import numpy as np
import torch

from benchkit.corpora import labelled_utterances
from benchkit.judges import minilm_mean, posterior_means
from benchkit.paths import RESULTS_DIR
from benchkit.results import command_line, record_run, update_section
from textvae import TextVAE
from textvae.fastcpu.machine import machine_info
from textvae.metrics.generation import corpus_bleu

RESULTS = RESULTS_DIR / "arithmetic.json"
INFORM, QUESTION = 1, 2
STRENGTHS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
MIN_COSINE = 0.6  # the target compares transfer where content is still kept this well
TRAIN_UTTERANCES = 20000


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(min=1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder (default: the bundled VAE)")
    parser.add_argument("--inputs", type=int, default=500, help="test 'inform' utterances to shift")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    torch.manual_seed(0)
    model = TextVAE.from_pretrained(args.model, device="cpu")
    texts, acts, _ = labelled_utterances("train")
    keep = sorted(random.Random(0).sample(range(len(texts)), TRAIN_UTTERANCES))  # the probe's sample: cached
    texts, acts = [texts[i] for i in keep], [acts[i] for i in keep]
    classifier = LogisticRegression(max_iter=2000).fit(unit(minilm_mean(model, texts)), acts)
    mu = posterior_means(model, texts)
    acts_array = np.array(acts)
    vector = torch.tensor(mu[acts_array == QUESTION].mean(0) - mu[acts_array == INFORM].mean(0))
    random_direction = torch.randn(vector.shape[0], generator=torch.Generator().manual_seed(0))
    random_direction = random_direction * vector.norm() / random_direction.norm()

    test_texts, test_acts, _ = labelled_utterances("test")
    sources = [t for t, a in zip(test_texts, test_acts) if a == INFORM and not t.rstrip().endswith("?")]
    sources = sources[: args.inputs]
    source_vectors = unit(minilm_mean(model, sources))
    rows = []
    for name, direction in (("question − inform vector", vector), ("random direction, same norm", random_direction)):
        for strength in STRENGTHS:
            if name.startswith("random") and strength == 0.0:
                continue  # the same as the vector's strength 0: no shift
            outputs = model.shift(sources, direction, strength)
            embedded = unit(minilm_mean(model, outputs))
            rows.append({"direction": "no shift" if strength == 0 else name, "strength": strength,
                         "question_share": float((classifier.predict(embedded) == QUESTION).mean()),
                         "cosine": float((embedded * source_vectors).sum(1).mean()),
                         "bleu": corpus_bleu(outputs, sources),
                         "examples": [{"source": s, "output": o} for s, o in list(zip(sources, outputs))[:5]]})
            print(rows[-1]["direction"], strength, round(rows[-1]["question_share"], 3), round(rows[-1]["cosine"], 3))
    lines = ["| direction | strength | judged a question | MiniLM cosine to source | BLEU to source |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['direction']} | {r['strength']:g} | {r['question_share']:.1%} | {r['cosine']:.3f} | "
              f"{r['bleu']:.1f} |" for r in rows]
    kept = [r for r in rows if r["direction"].startswith("question") and r["cosine"] >= MIN_COSINE]
    best = max(kept, key=lambda r: r["question_share"], default=None)
    summary = ""
    if best is not None:
        baseline = next(r for r in rows if r["direction"].startswith("random") and r["strength"] == best["strength"])
        ratio = best["question_share"] / max(baseline["question_share"], 1e-9)
        summary = (f"\n\nAt strength {best['strength']:g} (the strongest transfer with cosine >= {MIN_COSINE}), "
                   f"{best['question_share']:.1%} of outputs are judged questions against "
                   f"{baseline['question_share']:.1%} for a random direction of the same norm: {ratio:.1f}x "
                   f"(target >= 3x).")
    example_row = best or rows[0]
    examples = "\n".join(f"- {e['source']}  →  {e['output']}" for e in example_row["examples"])
    table = "\n".join(lines) + summary + f"\n\nExamples at strength {example_row['strength']:g}:\n\n{examples}"
    print(table)
    if args.inputs < 500:
        return
    machine = machine_info()
    record_run(RESULTS, {"machine": machine, "date": datetime.date.today().isoformat(), "model": args.model or "bundled",
                         "inputs": len(sources), "rows": rows})
    update_section("arithmetic", "Latent arithmetic: statements into questions (DailyDialog acts)",
                   table + f"\n\n{len(sources)} DailyDialog test utterances labelled inform (not ending in '?'); "
                   f"vector from {TRAIN_UTTERANCES:,} training utterances; the judge is a logistic regression on "
                   f"MiniLM embeddings of the same training utterances. {machine['label']}.",
                   command_line())


if __name__ == "__main__":
    main()
