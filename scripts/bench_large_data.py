"""Bounded memory on large data, each command in a child process whose own peak resident memory (RSS) is reported.

`--part train` writes a text file of --size-mb (lines of PTB and QQP repeated), trains a small GRU VAE on it with
`data.streaming: true` for --steps steps, and compares the peak RSS with the file's size. `--part encode` encodes
--sentences QQP questions with the bundled model through `textvae encode` and reports the peak RSS (target
<= 1.5 GB), sentences per second and the threads used.

    python scripts/bench_large_data.py --part train                          # a 1 GB file, 200 steps
    python scripts/bench_large_data.py --part encode                         # 50,000 questions
    python scripts/bench_large_data.py --part train --size-mb 5 --steps 20   # a smoke run
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
from pathlib import Path

from benchkit.child import run_measured
from benchkit.paths import PTB, QQP, RESULTS_DIR
from benchkit.results import command_line, record_run, update_section
from textvae.data import load_texts
from textvae.fastcpu.machine import machine_info

RESULTS = RESULTS_DIR / "large_data.json"
ENCODE_TARGET_MB = 1536
MODEL = ["model.encoder=gru", "model.embed_dim=128", "model.hidden_dim=256", "model.latent_dim=32",
         "train.batch_size=32", "data.valid_fraction=0.01"]  # a small GRU VAE: minutes for 200 steps on 2 cores


def corpus_lines() -> list[str]:
    """The lines the large file repeats: PTB's training sentences and both columns of QQP's training pairs."""
    return load_texts(PTB / "ptb.train.txt") + load_texts(QQP / "train.tsv", 0) + load_texts(QQP / "train.tsv", 1)


def write_corpus(path: Path, size_bytes: int) -> int:
    """Write whole lines of `corpus_lines`, repeated, up to `size_bytes`; return the number of lines."""
    block = ("\n".join(corpus_lines()) + "\n").encode("utf-8")
    lines = written = 0
    with path.open("wb") as out:
        while written < size_bytes:
            part = block if written + len(block) <= size_bytes else block[: block.rfind(b"\n", 0, size_bytes - written) + 1]
            if not part:
                break
            out.write(part)
            written += len(part)
            lines += part.count(b"\n")
    return lines


def train_part(args: argparse.Namespace, folder: Path) -> dict:
    """Train in streaming mode on a written file of --size-mb; the row of the table."""
    corpus = args.file or folder / "large.txt"
    lines = write_corpus(corpus, int(args.size_mb * 2**20))
    overrides = ["data.streaming=true", f"train.max_steps={args.steps}", "train.epochs=1",
                 f"train.eval_every={args.steps}", f"train.save_every={args.steps}", *MODEL]
    try:
        done = run_measured(["train", "--output", str(folder / "run"), "--quiet", "--set", f"data.train={corpus}",
                             *sum((["--set", item] for item in overrides), [])])
        size_mb = corpus.stat().st_size / 2**20
    finally:
        if not args.keep:
            corpus.unlink(missing_ok=True)
    return {"part": "train", "file_mb": round(size_mb, 1), "lines": lines, "steps": args.steps,
            "seconds": round(done.seconds, 1), "peak_rss_mb": done.peak_rss_mb, "threads": done.threads,
            "rss_to_file": round(done.peak_rss_mb / size_mb, 3), "overrides": overrides}


def encode_part(args: argparse.Namespace, folder: Path) -> dict:
    """Encode --sentences QQP questions with the bundled model; the row of the table."""
    questions = (load_texts(QQP / "train.tsv", 0) + load_texts(QQP / "train.tsv", 1))[: args.sentences]
    if len(questions) < args.sentences:
        raise SystemExit(f"--sentences {args.sentences}: QQP's training pairs hold {len(questions)} questions")
    source = folder / "questions.txt"
    source.write_text("\n".join(questions) + "\n", encoding="utf-8")
    done = run_measured(["encode", str(source), "--output", str(folder / "latents.npy")])
    return {"part": "encode", "sentences": len(questions), "seconds": round(done.seconds, 1),
            "sentences_per_second": round(len(questions) / done.seconds, 1), "peak_rss_mb": done.peak_rss_mb,
            "threads": done.threads, "target_mb": ENCODE_TARGET_MB}


def one_row_table(cells: dict[str, str]) -> str:
    """A markdown table of one row: column name -> cell."""
    return (f"| {' | '.join(cells)} |\n|{'---|' * len(cells)}\n| {' | '.join(cells.values())} |")


def publish_train(row: dict, machine: dict) -> None:
    """Print the train part's table and write it to its section of docs/RESULTS.md."""
    table = one_row_table({"file MB": f"{row['file_mb']:,.0f}", "lines": f"{row['lines']:,}", "steps": str(row["steps"]),
                           "seconds": f"{row['seconds']:.0f}", "threads": str(row["threads"]),
                           "peak RSS MB": f"{row['peak_rss_mb']:.0f}", "peak RSS / file size": f"{row['rss_to_file']:.2f}"})
    print(table)
    note = (f"{machine['label']}. `textvae train` with `data.streaming: true` in a child process on a file of PTB and "
            "QQP lines repeated, a small GRU VAE (" + ", ".join(f"`{o}`" for o in MODEL) + "); the tokenizer is built "
            "on the first `data.stream_sample` texts and batches come from a shuffle buffer of `data.shuffle_buffer` "
            "texts, so the peak RSS does not grow with the file.")
    update_section("large_data_train", "Training on a file larger than memory (data.streaming)", f"{table}\n\n{note}",
                   command_line())


def publish_encode(row: dict, machine: dict) -> None:
    """Print the encode part's table and write it to its section of docs/RESULTS.md."""
    table = one_row_table({"sentences": f"{row['sentences']:,}", "seconds": f"{row['seconds']:.0f}",
                           "sentences / s": f"{row['sentences_per_second']:.0f}", "threads": str(row["threads"]),
                           "peak RSS MB": f"{row['peak_rss_mb']:.0f}", "target MB": f"<= {row['target_mb']}"})
    print(table)
    update_section("large_data_encode", "Encoding many sentences in bounded memory", f"{table}\n\n{machine['label']}. "
                   "`textvae encode` of QQP training questions with the bundled model to a .npy file in a child process "
                   "(texts read, encoded and written in chunks); seconds include loading the model.", command_line())


PARTS = {"train": (train_part, publish_train), "encode": (encode_part, publish_encode)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=sorted(PARTS), required=True)
    parser.add_argument("--size-mb", type=float, default=1024, help="train: the size of the file written")
    parser.add_argument("--steps", type=int, default=200, help="train: optimizer steps")
    parser.add_argument("--file", type=Path, help="train: write the file here (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="train: keep the file afterwards")
    parser.add_argument("--sentences", type=int, default=50000, help="encode: QQP questions encoded")
    args = parser.parse_args()
    measure, publish = PARTS[args.part]
    with tempfile.TemporaryDirectory(prefix="bench-large-") as folder:
        row = measure(args, Path(folder))
    machine = machine_info()
    record_run(RESULTS, {"machine": machine, "date": datetime.date.today().isoformat(), **row}, key="part")
    publish(row, machine)


if __name__ == "__main__":
    main()
