"""Training curves of a run folder as one PNG: loss, reconstruction, KL, β, validation −ELBO, MI and active
units over steps, read from its metrics.jsonl.

`python -m textvae.training.curves RUN_DIR` draws them for an existing run; training draws them at its end.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from pathlib import Path

from textvae.io import atomic_write_bytes
from textvae.training.tracking import METRICS_FILE

CURVES_FILE = "training_curves.png"
PANELS = (("loss", "training loss"), ("rec", "reconstruction (nats)"), ("kl", "KL (nats)"), ("beta", "β (KL weight)"),
          ("valid_neg_elbo", "validation −ELBO (nats)"), ("valid_mi", "validation MI (nats)"),
          ("valid_au", "validation active units"))
COLUMNS = 4


def read_curves(run_dir: Path) -> dict[str, tuple[list[int], list[float]]]:
    """{metric: (steps, values)} for each panel's metric that was logged (none without a metrics.jsonl); a step
    logged twice (a resumed run repeats the steps after its checkpoint) keeps its last value, and a torn last
    line is skipped."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return {}
    points: dict[str, dict[int, float]] = {key: {} for key, _ in PANELS}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        for key, series in points.items():
            value = record.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value) and "step" in record:
                series[record["step"]] = float(value)
    return {key: (sorted(series), [series[step] for step in sorted(series)]) for key, series in points.items() if series}


def plot_training_curves(run_dir: str | Path, output: str | Path | None = None) -> Path | None:
    """Draw the run's curves into `output` (default RUN_DIR/training_curves.png) and return its path; None
    (nothing written) when no step was logged."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    run_dir = Path(run_dir)
    curves = read_curves(run_dir)
    if not curves:
        return None
    titles = dict(PANELS)
    rows = math.ceil(len(curves) / COLUMNS)
    figure = Figure(figsize=(4 * min(len(curves), COLUMNS), 3 * rows), layout="constrained")
    FigureCanvasAgg(figure)  # the Agg canvas, set on this figure only: no process-wide backend choice
    for index, (key, (steps, values)) in enumerate(curves.items(), start=1):
        axes = figure.add_subplot(rows, min(len(curves), COLUMNS), index)
        axes.plot(steps, values, marker="o" if len(steps) <= 20 else None, linewidth=1.2)
        axes.set_title(titles[key], fontsize=10)
        axes.set_xlabel("step")
        axes.grid(alpha=0.3)
    figure.suptitle(run_dir.resolve().name)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    path = Path(output) if output is not None else run_dir / CURVES_FILE
    atomic_write_bytes(path, buffer.getvalue())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m textvae.training.curves",
                                     description="Draw a training run's curves from its metrics.jsonl.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a training run folder (holds metrics.jsonl)")
    parser.add_argument("--output", default=None, help=f"PNG to write (default: RUN_DIR/{CURVES_FILE})")
    args = parser.parse_args(argv)
    path = plot_training_curves(args.run_dir, args.output)
    if path is None:
        print(f"error: {Path(args.run_dir) / METRICS_FILE} is missing or holds no training metrics", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
