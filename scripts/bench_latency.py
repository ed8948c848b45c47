"""Paraphrase and reply latency with the bundled models: median warm wall time on this machine, with float
decoding and with int8 decoding (TextVAE.int8_decoding, `--int8` on the CLI), side by side in one run; for a
model that refines its latents (`model.refine_steps`), also without the refinement.

    python scripts/bench_latency.py [--model DIR] [--paraphraser DIR] [--dialogue DIR] [--repeats 30] [--unseen 20]

The benchmark sentence is a common question; a refinement that stops early (`model.refine_early_stop`) stops
sooner on it than on most new questions, so the refined row is also measured on unseen QQP test questions.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import statistics
import time
from collections.abc import Callable

import torch

from benchkit.corpora import qqp_unseen
from benchkit.fidelity import draws_described
from benchkit.paths import QQP, RESULTS_DIR
from benchkit.results import command_line, update_section
from textvae import TextVAE
from textvae.fastcpu.machine import machine_info
from textvae.latent import DiagonalGaussian
from textvae.models.refine import Refinement
from textvae.models.registry import DEFAULT_DIALOGUE, DEFAULT_PARAPHRASER, default_model_path

RESULTS = RESULTS_DIR / "latency.json"
UNSEEN_REPEATS = 5  # timed runs per unseen question
SENTENCE = "How can I improve my English speaking skills?"
TURN = "Do you want to grab lunch tomorrow?"


def median_ms(fn, repeats: int) -> float:
    for _ in range(3):  # warm-up
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--paraphraser", default=None,
                        help="supervised paraphraser (default: the bundled paraphrase CVAE)")
    parser.add_argument("--dialogue", default=None, help="dialogue model (default: the bundled dialogue CVAE)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--unseen", type=int, default=20,
                        help="also the refined 10 samples of this many unseen QQP test questions (median of their medians)")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = TextVAE.from_pretrained(args.model, device="cpu")
    paraphraser = TextVAE.from_pretrained(args.paraphraser or default_model_path(DEFAULT_PARAPHRASER), device="cpu")
    dialogue = TextVAE.from_pretrained(args.dialogue or default_model_path(DEFAULT_DIALOGUE), device="cpu")

    def ten_samples(text: str = SENTENCE, refine_steps: int | None = None) -> list[str]:
        mu, logvar = model.encode([text], refine_steps=refine_steps)
        posterior = DiagonalGaussian(mu.expand(10, -1), logvar.expand(10, -1))
        return model.decode(posterior.rsample(scale=model.paraphrase_scale()))

    unseen = qqp_unseen(QQP, args.unseen)[0]
    steps = model.config.refine_steps
    refined = f"encode ({Refinement.of(model.config).describe()}, the model's default) + decode 10 samples (greedy)"
    def timed(task) -> Callable[[], float]:
        """The median warm wall time of `task`, in ms."""
        return lambda: median_ms(task, args.repeats)

    def over_unseen() -> float:
        """The median over the unseen questions of each one's median time for the refined 10 samples, in ms."""
        return statistics.median(median_ms(functools.partial(ten_samples, text), UNSEEN_REPEATS) for text in unseen)

    timers = {
        refined: timed(ten_samples),
        f"{refined}, median over {len(unseen)} unseen QQP questions": over_unseen,
        **({"encode without refinement + decode 10 samples (greedy)": timed(lambda: ten_samples(refine_steps=0))}
           if steps else {}),
        f"paraphrase(n=10): {draws_described(model, 10)}, dedupe, rerank":
            timed(lambda: model.paraphrase(SENTENCE, n=10)),
        f"supervised paraphraser, paraphrase(n=5): {draws_described(paraphraser, 5)}, dedupe, rerank":
            timed(lambda: paraphraser.paraphrase(SENTENCE, n=5)),
        "respond(n=5), dialogue model": timed(lambda: dialogue.respond(TURN, n=5)),
    }
    rows: dict[str, dict[str, float]] = {}
    for name, timer in timers.items():
        rows[name] = {}
        for weights in ("float32", "int8"):
            for each in (model, paraphraser, dialogue):
                each.int8_decoding(weights == "int8")
            rows[name][weights] = timer()
        print(f"{rows[name]['float32']:8.1f} ms float32 {rows[name]['int8']:8.1f} ms int8  {name}")
    table = "| what | float32 decoding: median ms (warm) | int8 decoding | speed-up |\n|---|---|---|---|\n" + "\n".join(
        f"| {k} | {v['float32']:.1f} | {v['int8']:.1f} | {v['float32'] / v['int8']:.2f}x |" for k, v in rows.items())
    machine = machine_info()["label"]
    update_section("latency", "Paraphrase and reply latency (bundled models)",
                   table + f"\n\n{machine}, {torch.get_num_threads()} thread(s), sentence: \"{SENTENCE}\", "
                   f"dialogue turn: \"{TURN}\", "
                   f"{args.repeats} repeats.",
                   command_line())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"sentence": SENTENCE, "turn": TURN, "machine": machine, "threads": torch.get_num_threads(),
                                   "median_ms": rows, "repeats": args.repeats, "date": datetime.date.today().isoformat()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
