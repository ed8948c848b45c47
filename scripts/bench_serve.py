"""The explorer's API with the bundled models, over HTTP on this machine: warm paraphrase latency, the latent
map of 2,000 sentences (first time and cached), and a load test of mixed requests from concurrent clients.

    python scripts/bench_serve.py [--corpus FILE] [--map-size 2000] [--requests 200] [--clients 20] [--int8]

The map corpus is the first --map-size distinct questions of QQP's test split (text the models never saw), or
any sentence-per-line --corpus file. With --int8 the models decode with int8 weights, as `textvae serve --int8`
serves them. Prints a table and writes benchmarks/results/serve.json (serve_int8.json with --int8).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from benchkit.paths import QQP, RESULTS_DIR
from benchkit.results import command_line
from textvae.fastcpu.machine import machine_info
from textvae.server import create_app
from textvae.server.background import serve_in_thread
from textvae.server.explorer import load_explorer

QQP_TEST = QQP / "test.tsv"
SENTENCE = "How can I improve my English speaking skills?"


def map_corpus(source: Path, size: int, folder: Path) -> Path:
    """A sentence-per-line file of the first `size` distinct texts of `source` (a .tsv: its first column)."""
    lines = source.read_text(encoding="utf-8").splitlines()
    texts = [line.split("\t")[0].strip() if source.suffix == ".tsv" else line.strip() for line in lines]
    distinct = list(dict.fromkeys(t for t in texts if t))[:size]
    if len(distinct) < size:
        sys.exit(f"{source} has only {len(distinct)} distinct sentences, fewer than --map-size {size}")
    path = folder / "map_corpus.txt"
    path.write_text("\n".join(distinct) + "\n", encoding="utf-8")
    return path


def call(url: str, path: str, body: dict | None = None) -> tuple[int, float]:
    """(HTTP status, milliseconds) of one request; a refused or dropped connection is status 0."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, (time.perf_counter() - start) * 1000


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def warm_latency(url: str, path: str, body: dict, repeats: int) -> dict[str, float]:
    """Median and p95 wall time, and the mean CPU time this process spent per request (server and client
    share the process: the CPU time is what a request costs whatever else the machine is running)."""
    for _ in range(3):
        call(url, path, body)
    cpu = time.process_time()
    answers = [call(url, path, body) for _ in range(repeats)]
    cpu_ms = (time.process_time() - cpu) * 1000 / repeats
    if any(status != 200 for status, _ in answers):
        sys.exit(f"{path} answered {sorted({status for status, _ in answers})}, not only 200")
    times = [ms for _, ms in answers]
    return {"median_ms": statistics.median(times), "p95_ms": percentile(times, 95), "cpu_ms": cpu_ms}


def mixed_requests(count: int, texts: list[str]) -> list[tuple[str, dict]]:
    """`count` requests cycling through the page's operations on varied sentences."""
    kinds = [
        lambda t, u: ("api/paraphrase", {"text": t, "n": 5}),
        lambda t, u: ("api/interpolate", {"a": t, "b": u, "steps": 8}),
        lambda t, u: ("api/sample", {"space": "vae", "n": 5}),
        lambda t, u: ("api/decode", {"space": "vae", "point": [0.5, -0.5]}),
        lambda t, u: ("api/project", {"space": "vae", "texts": [t, u]}),
        lambda t, u: ("api/contrast", {"text": t, "n": 3}),
    ]
    pairs = ((texts[i % len(texts)], texts[(7 * i + 3) % len(texts)]) for i in range(count))
    return [kinds[i % len(kinds)](*pair) for i, pair in enumerate(pairs)]


def load_test(url: str, requests: list[tuple[str, dict]], clients: int) -> dict:
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(lambda request: call(url, *request), requests))
    seconds = time.perf_counter() - start
    statuses = [status for status, _ in answers]
    times = [ms for _, ms in answers]
    return {"requests": len(requests), "clients": clients,
            "failed": sum(status != 200 for status in statuses),
            "server_errors": sum(status >= 500 for status in statuses), "p50_ms": percentile(times, 50),
            "p95_ms": percentile(times, 95), "max_ms": max(times), "seconds": seconds,
            "requests_per_s": len(requests) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=QQP_TEST, help="sentences for the map (.txt or .tsv)")
    parser.add_argument("--map-size", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=30, help="timed paraphrase requests")
    parser.add_argument("--requests", type=int, default=200, help="requests in the load test")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients in the load test")
    parser.add_argument("--int8", action="store_true", help="decode with int8 weights (textvae serve --int8)")
    args = parser.parse_args()
    torch.manual_seed(0)
    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        explorer = load_explorer(corpus=map_corpus(args.corpus, args.map_size, Path(folder)), int8=args.int8)
    with serve_in_thread(create_app(explorer)) as url:
        request = {"text": SENTENCE, "n": 5}
        paraphrase = warm_latency(url, "api/paraphrase", request, args.repeats)
        unranked = warm_latency(url, "api/paraphrase", {**request, "rerank": False}, args.repeats)
        cpu = time.process_time()
        first_map = call(url, "api/map")
        first_map_cpu = time.process_time() - cpu
        cached_map = statistics.median(call(url, "api/map")[1] for _ in range(5))
        load = load_test(url, mixed_requests(args.requests, explorer.corpus[:200]), args.clients)
    rows = [
        ("paraphrase n=5, median (warm)", f"{paraphrase['median_ms']:.0f} ms", "<= 100 ms"),
        ("paraphrase n=5, p95 (warm)", f"{paraphrase['p95_ms']:.0f} ms", ""),
        ("paraphrase n=5, CPU time per request", f"{paraphrase['cpu_ms']:.0f} ms", ""),
        ("paraphrase n=5 without rerank, median (warm)", f"{unranked['median_ms']:.0f} ms", ""),
        (f"map of {args.map_size:,} sentences, first time", f"{first_map[1] / 1000:.2f} s", "<= 3 s"),
        (f"map of {args.map_size:,} sentences, CPU time", f"{first_map_cpu:.2f} s", ""),
        (f"map of {args.map_size:,} sentences, cached", f"{cached_map:.0f} ms", "cached"),
        (f"load: {load['requests']} mixed requests, {load['clients']} clients", f"{load['seconds']:.1f} s",
         ""),
        ("load: failed / 5xx", f"{load['failed']} / {load['server_errors']}", "0 / 0"),
        ("load: p50 / p95 latency", f"{load['p50_ms']:.0f} / {load['p95_ms']:.0f} ms", "reported"),
    ]
    machine = machine_info()["label"]
    print("| what | measured | target |\n|---|---|---|")
    print("\n".join(f"| {what} | {value} | {target} |" for what, value, target in rows))
    threads = torch.get_num_threads()
    decoding = "int8" if args.int8 else "float32"
    print(f"\n{machine}, {threads} torch thread(s), {decoding} decoding, load average {load_average:.1f} at the start")
    results = RESULTS_DIR / ("serve_int8.json" if args.int8 else "serve.json")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps({
        "machine": machine, "threads": torch.get_num_threads(), "decoding": decoding,
        "load_average_at_start": load_average,
        "date": datetime.date.today().isoformat(), "sentence": SENTENCE, "paraphrase_n5": paraphrase,
        "paraphrase_n5_without_rerank": unranked,
        "map": {"sentences": args.map_size, "corpus": args.corpus.name, "first_s": first_map[1] / 1000,
                "first_status": first_map[0], "first_cpu_s": first_map_cpu,
                "cached_ms": cached_map},
        "load_test": load, "command": command_line()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
