"""The encoder as an NLU model: how much of MiniLM's understanding survives the trip into a small Gaussian code.

A logistic-regression probe is trained on frozen representations of DailyDialog training utterances and
scored on the 7,740 test utterances, for two tasks: dialogue act (4 classes) and emotion (7 classes;
"no emotion" is 82 % of the test set, so macro-F1 is the telling number). Representations: raw MiniLM
(mean-pooled, its sentence embedding), μ of each model given (default: the bundled VAE and its AE twin),
and a bag-of-words baseline (word unigrams and bigrams).

    python scripts/probe_nlu.py                                   # bundled VAE and AE
    python scripts/probe_nlu.py --model runs/x --label "my VAE"   # add models (repeat the pair)
    python scripts/probe_nlu.py --train-limit 2000                # smoke run (writes nothing)
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import time

import numpy as np

from benchkit.corpora import labelled_utterances
from benchkit.judges import minilm_mean, posterior_means
from benchkit.paths import RESULTS_DIR
from benchkit.results import command_line, record_run, update_section
from textvae import TextVAE
from textvae.fastcpu.machine import machine_info
from textvae.models.registry import DEFAULT_AE, default_model_path

RESULTS = RESULTS_DIR / "nlu_probe.json"
TARGET = 0.95  # mu keeps at least this share of raw MiniLM's probe accuracy
TASKS = ("act", "emotion")


def probe(train_x, train_y, test_x, test_y) -> dict:
    """Logistic regression on standardised features (sparse counts are used as they are)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import StandardScaler

    if isinstance(train_x, np.ndarray):
        scaler = StandardScaler().fit(train_x)
        train_x, test_x = scaler.transform(train_x), scaler.transform(test_x)
    classifier = LogisticRegression(max_iter=2000).fit(train_x, train_y)
    predicted = classifier.predict(test_x)
    return {"accuracy": float(accuracy_score(test_y, predicted)),
            "macro_f1": float(f1_score(test_y, predicted, average="macro"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], help="a model folder (repeatable)")
    parser.add_argument("--label", action="append", default=[], help="its name in the table (same order)")
    parser.add_argument("--train-limit", type=int, default=20000, help="training utterances for the probe")
    args = parser.parse_args()
    models = [(label, path) for label, path in zip(args.label, args.model)] or [
        ("bundled VAE μ (64-d)", None), ("bundled AE μ (64-d)", str(default_model_path(DEFAULT_AE)))]
    train_texts, train_acts, train_emotions = labelled_utterances("train")
    test_texts, test_acts, test_emotions = labelled_utterances("test")
    keep = sorted(random.Random(0).sample(range(len(train_texts)), min(args.train_limit, len(train_texts))))
    train_texts = [train_texts[i] for i in keep]
    labels = {"act": ([train_acts[i] for i in keep], test_acts),
              "emotion": ([train_emotions[i] for i in keep], test_emotions)}
    print(f"{len(train_texts)} training and {len(test_texts)} test utterances")

    representations: dict[str, tuple] = {}
    from sklearn.feature_extraction.text import CountVectorizer

    counts = CountVectorizer(ngram_range=(1, 2), min_df=2, lowercase=True).fit(train_texts)
    representations["bag of words (1-2 grams)"] = (counts.transform(train_texts), counts.transform(test_texts))
    for index, (label, path) in enumerate(models):
        start = time.perf_counter()
        model = TextVAE.from_pretrained(path, device="cpu")
        if index == 0:
            representations["MiniLM mean pooling (384-d, raw)"] = (minilm_mean(model, train_texts),
                                                                   minilm_mean(model, test_texts))
        representations[label] = (posterior_means(model, train_texts), posterior_means(model, test_texts))
        print(f"{label}: encoded in {time.perf_counter() - start:.0f} s")

    rows = []
    for name, (train_x, test_x) in representations.items():
        row = {"representation": name}
        for task in TASKS:
            row[task] = probe(train_x, labels[task][0], test_x, labels[task][1])
        rows.append(row)
        print(name, {t: round(row[t]["accuracy"], 3) for t in TASKS})
    raw = next((r for r in rows if r["representation"].startswith("MiniLM")), None)
    lines = ["| representation | act accuracy | act macro-F1 | emotion accuracy | emotion macro-F1 | "
             "share of MiniLM's accuracy (act / emotion) |", "|---|---|---|---|---|---|"]
    for row in rows:
        share = " / ".join(f"{row[t]['accuracy'] / raw[t]['accuracy']:.1%}" for t in TASKS) if raw else "–"
        lines.append(f"| {row['representation']} | {row['act']['accuracy']:.3f} | {row['act']['macro_f1']:.3f} | "
                     f"{row['emotion']['accuracy']:.3f} | {row['emotion']['macro_f1']:.3f} | {share} |")
    table = "\n".join(lines)
    print(table)
    if args.train_limit < 20000:
        return
    machine = machine_info()
    record_run(RESULTS, {"machine": machine, "date": datetime.date.today().isoformat(),
                         "train_utterances": len(train_texts), "test_utterances": len(test_texts), "rows": rows})
    update_section("nlu_probe", "The encoder as an NLU model: a probe on μ (DailyDialog acts and emotions)",
                   table + f"\n\nLogistic regression (standardised features) trained on {len(train_texts):,} "
                   f"DailyDialog training utterances (a fixed random sample), scored on all {len(test_texts):,} "
                   f"test utterances. Target: μ keeps >= {TARGET:.0%} of raw MiniLM's accuracy on each task. "
                   f"{machine['label']}.", command_line())
    print(json.dumps({"wrote": str(RESULTS)}))


if __name__ == "__main__":
    main()
