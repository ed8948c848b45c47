import json

import pytest
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


def test_the_training_process_keeps_freed_memory():
    import platform

    from textvae.fastcpu.process import keep_freed_memory

    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert keep_freed_memory()


def test_init_from_starts_from_a_saved_model_and_keeps_its_tokenizer(ptb_files, tmp_path):
    first, second, cold = tmp_path / "first", tmp_path / "second", tmp_path / "cold"
    train(tiny_experiment(ptb_files, "train.max_steps=20", "train.epochs=5"), first, show_progress=False)
    # an lr so small that one step leaves the weights where they started
    one_step = ["train.max_steps=1", "train.epochs=5", "train.lr=1e-9", "train.seed=7"]
    train(tiny_experiment(ptb_files, *one_step, f"train.init_from={first}"), second, show_progress=False)
    train(tiny_experiment(ptb_files, *one_step), cold, show_progress=False)
    saved, warm, fresh = (load_tensors(folder / "model.safetensors") for folder in (first, second, cold))
    assert (second / "tokenizer.json").read_text() == (first / "tokenizer.json").read_text()
    assert max((warm[k] - saved[k]).abs().max().item() for k in saved) < 1e-5
    assert max((fresh[k] - saved[k]).abs().max().item() for k in saved) > 1e-2


def test_a_trained_model_knows_the_words_of_its_training_texts_and_of_the_model_it_starts_from(ptb_files, ptb_texts,
                                                                                              tmp_path):
    from textvae.nlg.lexicon import Lexicon

    first, second = tmp_path / "first", tmp_path / "second"
    train(tiny_experiment(ptb_files, "train.max_steps=1", "train.epochs=1"), first, show_progress=False)
    assert Lexicon.load(first) == Lexicon.of(ptb_texts[:300])  # the training texts, not the validation ones
    other = tmp_path / "other.txt"
    other.write_text("a paraphrase keeps the meaning\n" * 20, encoding="utf-8")
    train(tiny_experiment({**ptb_files, "train": other}, "train.max_steps=1", "train.epochs=1",
                          f"train.init_from={first}"), second, show_progress=False)
    assert Lexicon.load(second).known == Lexicon.load(first).known | {"paraphrase", "keeps", "meaning"}


def test_init_from_a_different_architecture_fails_clearly(ptb_files, tmp_path):
    import pytest

    from textvae.errors import CheckpointError

    first = tmp_path / "first"
    train(tiny_experiment(ptb_files, "train.max_steps=2", "train.epochs=5"), first, show_progress=False)
    with pytest.raises(CheckpointError, match="does not match the config"):
        train(tiny_experiment(ptb_files, "train.max_steps=1", f"train.init_from={first}", "model.hidden_dim=64"),
              tmp_path / "second", show_progress=False)


def test_encoder_lr_gives_a_pretrained_encoders_layers_their_own_rate(word_tokenizer, tiny_config):
    import dataclasses

    from textvae.training.trainer import parameter_groups

    model = TextVAE(dataclasses.replace(tiny_config, encoder="minilm", encoder_trainable_layers=1), word_tokenizer)
    groups = parameter_groups(model, 1e-5)
    assert [g.get("lr") for g in groups] == [None, 1e-5]
    assert all(p.requires_grad for g in groups for p in g["params"])
    encoder = {id(p) for n, p in model.named_parameters() if n.startswith("encoder.model.") and p.requires_grad}
    assert {id(p) for p in groups[1]["params"]} == encoder and encoder
    assert len(parameter_groups(model, None)) == 1


def test_an_unknown_model_type_fails_before_any_work(tmp_path):
    from textvae.errors import ConfigError
    from textvae.training import Trainer

    config = load_experiment(None, ["data.train=no/such/file.txt", "model.type=txt_vae"])
    with pytest.raises(ConfigError, match="unknown model type 'txt_vae' \\(did you mean 'text_vae'\\?\\)"):
        Trainer(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
