"""textvae env [--measure] [--json]: the machine and library versions, for bug reports and benchmarks."""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_json_arg

    p = sub.add_parser("env", help="machine and versions (CPU, matmul instruction sets, threads, torch)",
                       description="Print what decides textvae's speed here: the CPU and its matmul instruction "
                                   "sets (AVX-512, AVX512-BF16, AMX), whether bf16 runs natively, threads and "
                                   "library versions. Paste it into bug reports next to timings.")
    p.add_argument("--measure", action="store_true",
                   help="also time float32 and bf16 matmuls on one thread and on every core (a few seconds)")
    add_json_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import emit
    from textvae.fastcpu.machine import machine_info

    info = machine_info(measure=args.measure)
    lines = [f"{key:>15}: {', '.join(value) if isinstance(value, list) else value}"
             for key, value in info.items() if key != "matmul_tflops"]
    lines += [f"{'matmul ' + key:>15}: {value:.3f} TFLOP/s" for key, value in info.get("matmul_tflops", {}).items()]
    if not info["native_bf16"] and info["cuda"] is None:
        lines.append("note: this CPU has no native bf16 matmul; train with `--set train.mixed_precision=no` "
                     "and evaluate with `--iw-precision fp32`")
    emit(args, info, lines)
    return 0
