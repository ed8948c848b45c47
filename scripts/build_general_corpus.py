"""Build the general short-English training corpus of the bundled models: every question of the QQP-50K
training pairs (both columns) and every DailyDialog training utterance, deduplicated (case- and
space-insensitive) and shuffled with a fixed seed, one text per line. No test text is used.

    python scripts/build_general_corpus.py                  # -> runs/data/general/train.txt
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from benchkit.paths import DAILYDIALOG, QQP, ROOT
from textvae.data import load_texts
from textvae.data.corpus import load_dialogue_pairs
from textvae.io import atomic_write_text

OUT = ROOT / "runs" / "data" / "general" / "train.txt"


def dialogue_utterances(path: Path) -> list[str]:
    """Every utterance of a DailyDialog file (each dialogue's turns, in order)."""
    contexts, responses = load_dialogue_pairs(path)
    # consecutive pairs repeat every inner turn; the dedupe below keeps one copy
    return contexts + responses


def general_corpus(qqp_train: Path, dialogue_train: Path, seed: int = 0) -> list[str]:
    """Distinct texts of both sources (first spelling kept), shuffled."""
    texts = load_texts(qqp_train, 0) + load_texts(qqp_train, 1) + dialogue_utterances(dialogue_train)
    seen: set[str] = set()
    kept = []
    for text in texts:
        key = " ".join(text.lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(text)
    random.Random(seed).shuffle(kept)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qqp", type=Path, default=QQP / "train.tsv")
    parser.add_argument("--dialogue", type=Path, default=DAILYDIALOG / "train" / "dialogues_train.txt")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    texts = general_corpus(args.qqp, args.dialogue)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, "\n".join(texts) + "\n")
    print(f"{len(texts)} distinct texts -> {args.out}")


if __name__ == "__main__":
    main()
