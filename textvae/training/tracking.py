"""Experiment tracking through Accelerate's trackers (`train.report_to`: TensorBoard, W&B, MLflow, ...).

The trackers receive the same scalars as metrics.jsonl, at the same steps, and the flattened experiment
config as hyperparameters. They run in the project "textvae", named after the run folder; trackers that
write files (TensorBoard, Aim) write them under RUN_DIR/textvae/.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from accelerate import Accelerator

from textvae.config import ExperimentConfig, TrainConfig
from textvae.errors import ConfigError

METRICS_FILE = "metrics.jsonl"  # in the run folder: one JSON record per logged step, validation or epoch
PROJECT = "textvae"
RUN_NAME_OPTIONS = {"wandb": "name", "mlflow": "run_name"}  # the init option each tracker names its run with


def accelerator_options(train: TrainConfig, output: Path) -> dict[str, Any]:
    """Accelerator(...) keywords for `train.report_to`; a tracker whose package is missing is an error."""
    if not train.trackers:
        return {}
    from accelerate.tracking import get_available_trackers

    available = {str(tracker) for tracker in get_available_trackers()}
    missing = [name for name in train.trackers if name != "all" and name not in available]
    if missing:
        raise ConfigError(f"train.report_to {missing[0]}: its package is not installed (pip install {missing[0]})")
    return {"log_with": train.trackers, "project_dir": str(output)}


def hyperparameters(config: ExperimentConfig) -> dict[str, int | float | str | bool]:
    """The config flattened to 'section.key' entries; values that are not scalars are written as text."""
    return {f"{section}.{key}": value if isinstance(value, (int, float, str, bool)) else str(value)
            for section, values in dataclasses.asdict(config).items() for key, value in values.items()}


def start(accelerator: Accelerator, config: ExperimentConfig, output: Path) -> None:
    """Start the configured trackers (on the main process) with the config as hyperparameters."""
    if config.train.trackers:
        names = {tracker: {option: output.name} for tracker, option in RUN_NAME_OPTIONS.items()}
        accelerator.init_trackers(PROJECT, config=hyperparameters(config), init_kwargs=names)


def log(accelerator: Accelerator, record: dict[str, Any]) -> None:
    """Send a metrics.jsonl record's numbers to the trackers, at its step."""
    if accelerator.trackers:
        scalars = {key: value for key, value in record.items()
                   if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool)}
        accelerator.log(scalars, step=record["step"])


def finish(accelerator: Accelerator) -> None:
    """Flush and close the trackers (Accelerator.end_training would also end the process group)."""
    for tracker in accelerator.trackers:
        tracker.finish()
