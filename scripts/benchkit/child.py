"""A textvae CLI command run in a fresh child process and measured: its own peak resident memory (RSS), its
wall time and the CPU threads torch used in it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass

MEASURED = """
import json, resource, sys
from textvae.cli.main import main
code = main(sys.argv[1:])
import torch  # after the command: its process settings come first
report = {"peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "threads": torch.get_num_threads()}
print(json.dumps(report), file=sys.stderr)
sys.exit(code)
"""


@dataclass(frozen=True)
class ChildRun:
    peak_rss_mb: float
    seconds: float
    threads: int
    stderr: str


def run_measured(args: list[str], stdout=subprocess.DEVNULL) -> ChildRun:
    """`textvae ARGS` in a child process, its standard output sent to `stdout` (a file or DEVNULL); a failure
    ends the script with the command's error output."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, *args], stdout=stdout, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"textvae {' '.join(args)} failed: {done.stderr.strip()}")
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return ChildRun(round(report["peak_rss_kb"] / 1024, 1), seconds, report["threads"], done.stderr)
