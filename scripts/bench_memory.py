"""Peak memory and time of large requests to the bundled model: each command runs in a fresh process with
its output streamed to a file, and reports that process's peak resident memory (RSS), wall time, lines
written and time per 1,000 outputs.

    python scripts/bench_memory.py                       # the default sizes below
    python scripts/bench_memory.py --samples 1000000 --steps 1000000 --paraphrases 100000
"""

from __future__ import annotations

import argparse
import datetime
import tempfile

from benchkit.child import run_measured
from benchkit.paths import RESULTS_DIR
from benchkit.results import command_line, record_run, update_section
from textvae.fastcpu.machine import machine_info

RESULTS = RESULTS_DIR / "memory.json"
TARGET_MB = 1024


def run(args: list[str], outputs: int) -> dict:
    """One CLI command in a fresh process: peak RSS (MB), wall seconds, lines written."""
    with tempfile.TemporaryFile("w+") as out:
        done = run_measured(args, out)
        out.seek(0)
        lines = sum(1 for _ in out)
    return {"command": "textvae " + " ".join(args), "requested": outputs, "lines": lines,
            "peak_rss_mb": done.peak_rss_mb, "seconds": round(done.seconds, 1),
            "seconds_per_1000": round(1000 * done.seconds / max(lines, 1), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--paraphrases", type=int, default=10000)
    args = parser.parse_args()
    rows = [
        run(["sample", "-n", str(args.samples), "--seed", "0"], args.samples),
        run(["interpolate", "How do I learn to cook?", "What is the capital of France?", "--steps",
             str(args.steps)], args.steps),
        run(["paraphrase", "hi", "-n", str(args.paraphrases), "--seed", "0"], args.paraphrases),
    ]
    header = "| command | outputs asked | lines written | peak RSS MB | seconds | s per 1,000 |\n|---|---|---|---|---|---|"
    table = header + "".join(f"\n| `{r['command']}` | {r['requested']:,} | {r['lines']:,} | {r['peak_rss_mb']:.0f} | "
                             f"{r['seconds']:.0f} | {r['seconds_per_1000']:.2f} |" for r in rows)
    print(table)
    machine = machine_info()
    record_run(RESULTS, {"machine": machine, "date": datetime.date.today().isoformat(), "rows": rows})
    update_section("memory", "Large requests in bounded memory (bundled model)",
                   table + f"\n\nTarget: peak RSS <= {TARGET_MB} MB whatever the size. {machine['label']}; each "
                   "command in a fresh process, output streamed to a file. A paraphrase request decodes 3 "
                   "candidates per paraphrase asked and keeps the distinct ones (as many as exist).",
                   command_line())


if __name__ == "__main__":
    main()
