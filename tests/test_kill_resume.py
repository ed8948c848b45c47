"""A `textvae train` killed with SIGKILL at random points and resumed with --resume ends with the
same weights as an uninterrupted run (CPU)."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from textvae.training.checkpoint import existing_checkpoint, load_training_state


def _command(files: dict[str, Path], out: Path, resume: bool) -> list[str]:
    sets = [f"data.train={files['train']}", f"data.valid={files['valid']}", "data.tokenizer=word",
            "model.encoder=gru", "model.embed_dim=16", "model.hidden_dim=24", "model.latent_dim=4",
            "model.dropout=0.0", "model.max_length=6", "objective.beta_schedule=linear", "objective.anneal_steps=20",
            "train.batch_size=16", "train.lr=3e-3", "train.max_steps=45", "train.epochs=10", "train.save_every=3",
            "train.log_every=1", "train.seed=0"]
    return [sys.executable, "-m", "textvae.cli.main", "train", "--output", str(out), "--quiet",
            *[arg for item in sets for arg in ("--set", item)], *(["--resume"] if resume else [])]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def _steps_logged(out: Path) -> int:
    metrics = out / "metrics.jsonl"
    return metrics.read_text().count('"loss"') if metrics.is_file() else 0


def _kill_and_resume(files: dict[str, Path], out: Path, kills: int, seed: int) -> list[int]:
    """Start (or resume) the run, SIGKILL it a random number of steps in, `kills` times;
    then resume until it finishes. Returns the checkpoint step seen after each kill."""
    rng = random.Random(seed)
    seen = []
    for _ in range(kills):
        resume = existing_checkpoint(out / "checkpoint") is not None
        logged = _steps_logged(out)
        proc = subprocess.Popen(_command(files, out, resume), env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        # kill a random number of steps into this process's training (independent of the machine's
        # speed), at a random moment within that step: mid-step, mid-checkpoint or mid-validation
        target = logged + rng.randint(4, 14)
        deadline = time.monotonic() + 60
        while _steps_logged(out) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        found = existing_checkpoint(out / "checkpoint")
        seen.append(load_training_state(out / "checkpoint")["progress"]["step"] if found else 0)
    result = subprocess.run(_command(files, out, existing_checkpoint(out / "checkpoint") is not None), env=_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return seen


def _assert_same_weights(a: Path, b: Path) -> None:
    wa = load_training_state(a / "checkpoint")["model"]
    wb = load_training_state(b / "checkpoint")["model"]
    assert load_training_state(b / "checkpoint")["progress"]["step"] == 45
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture()
def reference(tmp_path, ptb_files):
    out = tmp_path / "uninterrupted"
    result = subprocess.run(_command(ptb_files, out, False), env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def test_sigkill_at_random_points_then_resume_gives_identical_weights(tmp_path, ptb_files, reference):
    out = tmp_path / "killed"
    seen = _kill_and_resume(ptb_files, out, kills=2, seed=7)
    assert 3 <= seen[0] <= seen[-1] < 45, seen  # killed mid-run after a checkpoint, progress kept
    _assert_same_weights(reference, out)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_more_kill_points(tmp_path, ptb_files, reference, seed):
    out = tmp_path / "killed"
    _kill_and_resume(ptb_files, out, kills=3, seed=seed)
    _assert_same_weights(reference, out)


def test_resume_before_an_epoch_end_crosses_it_identically(tmp_path, ptb_files):
    """In-process regression: the resumed loader must shuffle the next epoch like the original one."""
    from textvae.config import load_experiment
    from textvae.training import train

    sets = [arg for arg in _command(ptb_files, tmp_path, False) if "=" in arg]
    full, split = tmp_path / "full", tmp_path / "split"
    train(load_experiment(None, [*sets, "train.max_steps=21"]), full, show_progress=False)
    train(load_experiment(None, [*sets, "train.max_steps=9"]), split, show_progress=False)
    train(load_experiment(None, [*sets, "train.max_steps=21"]), split, resume=True, show_progress=False)
    a, b = (load_training_state(d / "checkpoint")["model"] for d in (full, split))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_changed_settings_warns(tmp_path, ptb_files):
    from textvae.config import load_experiment
    from textvae.training import train

    sets = [arg for arg in _command(ptb_files, tmp_path, False) if "=" in arg]
    train(load_experiment(None, [*sets, "train.max_steps=3"]), tmp_path / "run", show_progress=False)
    with pytest.warns(UserWarning, match=r"resuming with changed settings \(train.lr: 0.003 -> 0.001\)"):
        train(load_experiment(None, [*sets, "train.max_steps=6", "train.lr=1e-3"]), tmp_path / "run", resume=True,
              show_progress=False)
