import json

import torch

from textvae import TextVAE
from textvae.config import load_experiment
from textvae.io import load_tensors
from textvae.training import train
from textvae.training.checkpoint import load_training_state


def tiny_experiment(files, *extra):
    return load_experiment(None, [
        f"data.train={files['train']}", f"data.valid={files['valid']}", "data.tokenizer=word",
        "model.encoder=gru", "model.embed_dim=32", "model.hidden_dim=48", "model.latent_dim=8",
        "model.dropout=0.0", "objective.beta_schedule=linear", "objective.anneal_steps=40",
        "train.batch_size=16", "train.lr=3e-3", "train.log_every=5", "train.seed=0", *extra])


def test_tiny_end_to_end_run_on_real_ptb_reduces_the_loss(ptb_files, tmp_path):
    out = tmp_path / "run"
    model = train(tiny_experiment(ptb_files, "train.epochs=3"), out, show_progress=False)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["rec"] for r in records if "rec" in r]
    valid = [r["valid_neg_elbo"] for r in records if "valid_neg_elbo" in r]
    assert len(valid) == 3
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    assert valid[-1] < valid[0]
    assert {"beta", "kl", "loss", "lr"} <= set(records[0])
    reloaded = TextVAE.from_pretrained(out, device="cpu")
    assert len(reloaded.sample(2)) == 2 and isinstance(model, TextVAE)


def test_resume_continues_to_the_same_weights(ptb_files, tmp_path):
    full, split = tmp_path / "full", tmp_path / "split"
    train(tiny_experiment(ptb_files, "train.max_steps=30", "train.save_every=10", "train.epochs=5"), full,
          show_progress=False)
    train(tiny_experiment(ptb_files, "train.max_steps=20", "train.save_every=10", "train.epochs=5"), split,
          show_progress=False)
    assert load_training_state(split / "checkpoint")["progress"]["step"] == 20
    train(tiny_experiment(ptb_files, "train.max_steps=30", "train.save_every=10", "train.epochs=5"), split,
          resume=True, show_progress=False)
    a = load_training_state(full / "checkpoint")["model"]
    b = load_training_state(split / "checkpoint")["model"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_tensors(split / "model.safetensors").keys()


def test_a_fresh_run_in_a_used_folder_starts_its_own_log_and_a_resumed_one_appends(ptb_files, tmp_path):
    out = tmp_path / "run"

    def steps() -> list[int]:
        return [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
                if "loss" in json.loads(line)]

    train(tiny_experiment(ptb_files, "train.max_steps=10", "train.epochs=5"), out, show_progress=False)
    train(tiny_experiment(ptb_files, "train.max_steps=10", "train.epochs=5"), out, show_progress=False)
    assert steps() == [5, 10]
    train(tiny_experiment(ptb_files, "train.max_steps=20", "train.epochs=5"), out, resume=True, show_progress=False)
    assert steps() == [5, 10, 15, 20]


def test_the_training_process_keeps_freed_memory(monkeypatch):
    import platform

    from textvae.training.allocator import keep_freed_memory

    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert keep_freed_memory()
    monkeypatch.setenv("TEXTVAE_KEEP_FREED_MEMORY", "0")
    assert not keep_freed_memory()
