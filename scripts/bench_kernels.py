"""What a decoder pass spends besides its matmuls, on this machine: the native kernels' elementwise work
(softmax of the fused output loss, GRU gates) timed against the matmuls beside them, at PTB's shapes,
on one thread (the benchmark rows' setting).

On a CPU whose bf16 matmuls are fast (AMX) the elementwise part is a large share of every step and of
the K = 500 evaluation; on one without, the matmuls dominate. benchmarks/results/kernels.json keeps one
run per machine (`textvae env` names it) and docs/RESULTS.md shows them all.

    python scripts/bench_kernels.py           # ~1 minute
"""

from __future__ import annotations

import argparse
import datetime
import time

import torch

from benchkit.paths import RESULTS_DIR
from benchkit.results import DOC, command_line, record_run, update_section
from textvae.fastcpu import build
from textvae.fastcpu.machine import machine_info

RESULTS = RESULTS_DIR / "kernels.json"
VOCAB, HIDDEN, TOKENS = 10_002, 512, 768  # PTB's vocabulary, the GRU rows' state, one evaluation block of tokens
STEPS, IW_ROWS, TRAIN_ROWS = 24, 400, 64  # a PTB sentence; 8 sentences x 50 samples; a training batch


def best_ms(fn, repeats: int) -> float:
    """The fastest of `repeats` calls after one warm-up, in ms (the least disturbed by other work)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def output_layer(repeats: int) -> list[dict]:
    """The fused output loss on TOKENS rows: the logits matmul, then the softmax forward and backward."""
    loss = build.load("output_loss")
    torch.manual_seed(0)
    hidden = torch.randn(TOKENS, HIDDEN).bfloat16()
    weight = (torch.randn(VOCAB, HIDDEN) * 0.05).bfloat16()
    bias, targets, grad = torch.zeros(VOCAB), torch.randint(0, VOCAB, (TOKENS,)), torch.ones(TOKENS)
    logits = hidden @ weight.t()
    matmul = best_ms(lambda: hidden @ weight.t(), repeats)
    forward = best_ms(lambda: loss.forward(logits, bias, targets), repeats)
    lse = loss.forward(logits, bias, targets)[1]
    backward = best_ms(lambda: loss.backward(logits, bias, targets, lse, grad), repeats)
    shape = f"{TOKENS} tokens x {VOCAB:,} words"
    return [{"part": "output layer, evaluation", "shape": shape, "matmul_ms": matmul, "elementwise_ms": forward},
            {"part": "output layer, training", "shape": shape, "matmul_ms": 3 * matmul,  # logits, two gradients
             "elementwise_ms": forward + backward}]


def recurrence(part: str, batch: int, train: bool, repeats: int) -> dict:
    """The GRU's time loops (one matmul and one pass over the gates per step; forward and backward when
    `train`) against their matmuls alone."""
    loops = build.load("gru")
    torch.manual_seed(0)
    weight = (torch.randn(3 * HIDDEN, HIDDEN) * 0.03).bfloat16()
    bias = torch.randn(3 * HIDDEN) * 0.1
    gates_x, h0, grad = torch.randn(STEPS, batch, 3 * HIDDEN), torch.randn(batch, HIDDEN) * 0.1, torch.randn(STEPS, batch, HIDDEN)
    h = h0.bfloat16()

    def run() -> None:
        states, gates, recurrent_n = loops.forward(gates_x, h0, weight, bias, train, None)
        if train:
            loops.backward(grad, states, gates, recurrent_n, weight)

    matmuls = (2 if train else 1) * best_ms(lambda: [h @ weight.t() for _ in range(STEPS)], repeats)
    return {"part": part, "shape": f"{STEPS} steps x {batch} rows x {HIDDEN}", "matmul_ms": matmuls,
            "elementwise_ms": max(best_ms(run, repeats) - matmuls, 0.0)}


def table(runs: list[dict]) -> str:
    lines = ["| machine | part | shape | matmuls ms | elementwise ms | elementwise share | date |",
             "|---|---|---|---|---|---|---|"]
    for run in runs:
        for r in run["rows"]:
            share = r["elementwise_ms"] / (r["elementwise_ms"] + r["matmul_ms"])
            lines.append(f"| {run['machine']['label']} | {r['part']} | {r['shape']} | {r['matmul_ms']:.2f} | "
                         f"{r['elementwise_ms']:.2f} | {share:.0%} | {run['date']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    torch.set_num_threads(1)
    if build.load("gru") is None or build.load("output_loss") is None:
        raise SystemExit("the native kernels did not build here (see the warning above): nothing to time")
    machine = machine_info(measure=True)
    print(f"machine: {machine['label']}")
    run = {"machine": machine, "threads": 1, "rows": [*output_layer(args.repeats),
           recurrence("GRU recurrence, evaluation", IW_ROWS, False, args.repeats),
           recurrence("GRU recurrence, training", TRAIN_ROWS, True, args.repeats)],
           "date": datetime.date.today().isoformat()}
    runs = record_run(RESULTS, run)
    update_section("kernels", "Elementwise work beside the matmuls", table(runs) + "\n\nOne thread, the fastest "
                   "of the repeats; bf16 matmuls; the GRU's elementwise time is its loops' time less their "
                   "matmuls'. Elementwise work runs at about the same speed on any AVX-512 CPU; matmuls do not.",
                   command_line())
    print(table([run]))
    print(f"wrote {RESULTS} and {DOC}")


if __name__ == "__main__":
    main()
