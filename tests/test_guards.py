"""Numerical guards (NaN/Inf loss stops with the step named, the last good checkpoint kept) and no
pickle anywhere: weights in safetensors, configs in JSON, torch.load only with weights_only=True."""

import re
from pathlib import Path

import pytest
import torch

from textvae import TextVAE
from textvae.cli.main import main
from textvae.config import load_experiment
from textvae.errors import TextVAEError
from textvae.training import train
from textvae.training.checkpoint import load_training_state

SOURCE = Path(__file__).resolve().parents[1] / "textvae"


def tiny(files, *extra):
    return load_experiment(None, [f"data.train={files['train']}", "data.tokenizer=word", "model.encoder=gru",
                                  "model.embed_dim=16", "model.hidden_dim=16", "model.latent_dim=4",
                                  "train.batch_size=16", "train.save_every=3", "train.max_steps=12", *extra])


def test_nan_loss_names_the_step_and_keeps_the_last_good_checkpoint(ptb_files, tmp_path, monkeypatch):
    import textvae.objectives.elbo as elbo

    calls = {"n": 0}
    real = elbo.elbo_loss

    def poisoned(*args, **kwargs):
        terms = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 8:  # step index 7: the checkpoint of step 6 is the last good one
            terms.loss = terms.loss * float("nan")
        return terms

    monkeypatch.setattr(elbo, "elbo_loss", poisoned)
    with pytest.raises(TextVAEError, match=r"non-finite loss \(nan\) at step 7"):
        train(tiny(ptb_files), tmp_path / "run", show_progress=False)
    state = load_training_state(tmp_path / "run" / "checkpoint")
    assert state["progress"]["step"] == 6
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    # and the run resumes from it once the cause is gone
    monkeypatch.setattr(elbo, "elbo_loss", real)
    model = train(tiny(ptb_files), tmp_path / "run", resume=True, show_progress=False)
    assert isinstance(model, TextVAE) and load_training_state(tmp_path / "run" / "checkpoint")["progress"]["step"] == 12


def test_absurd_learning_rate_stops_with_one_error_line(ptb_files, tmp_path, capsys):
    code = main(["train", "--output", str(tmp_path / "run"), "--quiet", "--set", f"data.train={ptb_files['train']}",
                 "--set", "data.tokenizer=word", "--set", "model.encoder=gru", "--set", "model.embed_dim=16",
                 "--set", "model.hidden_dim=16", "--set", "model.latent_dim=4", "--set", "train.lr=1e30",
                 "--set", "train.grad_clip=0", "--set", "train.max_steps=20", "--set", "train.save_every=1"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert re.fullmatch(r"error: non-finite (loss \(-?(nan|inf)\)|weights \(\S+\)) at step \d+; .*\n", err), err
    state = load_training_state(tmp_path / "run" / "checkpoint")  # the last good one
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_no_pickle_in_the_source():
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if re.search(r"\bimport (c?pickle|dill|joblib)\b|\bfrom (c?pickle|dill|joblib) import", code):
                offenders.append(f"{path}:{number}: {line.strip()}")
            if "torch.load(" in code and "weights_only=True" not in code:
                offenders.append(f"{path}:{number}: {line.strip()}")
            if re.search(r"\b(pickle|np)\.loads?\(|allow_pickle=True", code):
                offenders.append(f"{path}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
