"""Experiment tracking (train.report_to), the training-curve PNG, and a training library that leaves the
process's malloc settings alone."""

import ctypes
import json
import platform

import pytest
from test_training import tiny_experiment

from textvae.config import load_experiment
from textvae.errors import ConfigError
from textvae.training import Trainer, train
from textvae.training.curves import CURVES_FILE, main, plot_training_curves

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.fixture()
def mallopt_calls(monkeypatch):
    """The mallopt calls made through ctypes while a test runs (recorded, not applied)."""
    calls, real = [], ctypes.CDLL

    class Recording:
        def __init__(self, *args, **kwargs):
            self._library = real(*args, **kwargs)

        def __getattr__(self, name):
            if name == "mallopt":
                return lambda option, value: calls.append((option, value)) or 1
            return getattr(self._library, name)

    monkeypatch.setattr(ctypes, "CDLL", Recording)
    return calls


def metrics(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_tensorboard_receives_the_same_scalars_as_metrics_jsonl_and_curves_are_drawn(ptb_files, tmp_path,
                                                                                   mallopt_calls):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    train(tiny_experiment(ptb_files, "train.max_steps=10", "train.eval_every=5", "train.report_to=tensorboard"),
          run, show_progress=False)
    assert mallopt_calls == []  # the library never changes malloc for the process that imports it
    events = EventAccumulator(str(run / "textvae")).Reload()
    records = metrics(run)
    for key in ("loss", "rec", "kl", "beta", "lr", "valid_neg_elbo", "valid_mi", "valid_au"):
        logged = {r["step"]: r[key] for r in records if key in r}
        assert logged, key
        written = {e.step: e.value for e in events.Scalars(key)}
        assert written == pytest.approx(logged, rel=1e-6), key
    assert (run / CURVES_FILE).read_bytes().startswith(PNG_MAGIC)


def test_curves_can_be_drawn_for_an_existing_run_folder(tmp_path, capsys):
    run = tmp_path / "old_run"
    run.mkdir()
    lines = [{"step": s, "epoch": 0, "loss": 90.0 - s, "rec": 80.0 - s, "kl": 2.0 + s, "beta": s / 10} for s in (5, 10)]
    lines += [{"step": 10, "epoch": 0, "valid_neg_elbo": 85.0, "valid_mi": 1.5, "valid_au": 4},
              {"step": 5, "epoch": 0, "loss": 86.0}]  # a resumed run logs step 5 again: the last value counts
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"step": 15, "lo')
    assert main([str(run)]) == 0
    assert (run / CURVES_FILE).read_bytes().startswith(PNG_MAGIC)
    other = tmp_path / "curves.png"
    assert plot_training_curves(run, other) == other and other.read_bytes().startswith(PNG_MAGIC)
    (run / "metrics.jsonl").write_text(json.dumps({"step": 3, "epoch": 0, "epoch_seconds": 1.0}) + "\n")
    assert plot_training_curves(run) is None  # nothing to plot yet
    assert main([str(tmp_path / "missing")]) == 2
    assert "metrics.jsonl is missing or holds no training metrics" in capsys.readouterr().err


def test_report_to_names_accelerate_trackers_and_needs_their_package(tmp_path):
    assert load_experiment(None, ["train.report_to=tensorboard, wandb"]).train.trackers == ["tensorboard", "wandb"]
    assert load_experiment(None, []).train.trackers == []
    with pytest.raises(ConfigError, match="unknown train.report_to tracker 'tensorbord' \\(did you mean 'tensorboard'"):
        load_experiment(None, ["train.report_to=tensorbord"])
    import importlib.util

    if importlib.util.find_spec("wandb") is None:
        config = load_experiment(None, ["data.train=x.txt", "train.report_to=wandb"])
        with pytest.raises(ConfigError, match="train.report_to wandb: its package is not installed"):
            Trainer(config, tmp_path / "run")


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_the_train_command_keeps_freed_memory_for_its_own_process(ptb_files, tmp_path, mallopt_calls):
    from textvae.cli.main import main as textvae

    overrides = [f"--set={item}" for item in (f"data.train={ptb_files['train']}", "data.tokenizer=word",
                                              "model.encoder=gru", "model.embed_dim=16", "model.hidden_dim=16",
                                              "model.latent_dim=4", "train.max_steps=1")]
    assert textvae(["train", *overrides, "--output", str(tmp_path / "run"), "--quiet"]) == 0
    assert len(mallopt_calls) == 3
