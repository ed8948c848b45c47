"""`textvae train` on 2 CPU processes (DDP over gloo): the saved model loads in one process."""

import os
import socket
import subprocess
import sys

import pytest
import torch

from textvae import TextVAE
from textvae.training.checkpoint import load_training_state


@pytest.mark.parametrize("launcher", ["accelerate", "torchrun"])
def test_two_process_training_writes_a_model_that_loads_in_one_process(tmp_path, launcher):
    from conftest import ptb_lines

    train_file = tmp_path / "train.txt"
    train_file.write_text("\n".join(ptb_lines("train", 200)) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    # `accelerate launch --cpu` needs MPI for several processes; `--multi_gpu` on a machine without GPUs
    # starts the processes through torchrun and textvae falls back to DDP over gloo
    launchers = {"accelerate": [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
                                "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                                "--main_process_port", str(port)],
                 "torchrun": [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                              "--master_port", str(port)]}
    cmd = [*launchers[launcher], "-m", "textvae.cli.main", "train", "--output", str(out), "--quiet",
           "--set", f"data.train={train_file}", "--set", "data.tokenizer=word", "--set", "model.encoder=gru",
           "--set", "model.embed_dim=16", "--set", "model.hidden_dim=16", "--set", "model.latent_dim=4",
           "--set", "model.max_length=8", "--set", "train.epochs=2", "--set", "train.batch_size=16",
           "--set", "train.save_every=3", "--set", "train.log_every=1"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("saved to") == 1  # only rank 0 reports

    state = load_training_state(out / "checkpoint")
    # 200 texts in 13 batches of <= 16, sharded over 2 processes: 7 steps per epoch, 2 epochs
    assert state["progress"]["step"] == 14 and state["progress"]["epoch"] == 2
    model = TextVAE.from_pretrained(out, device="cpu")
    again = TextVAE.from_pretrained(out, device="cpu")
    texts = ["the market fell sharply", "stocks rose"]
    assert torch.equal(model.encode(texts)[0], again.encode(texts)[0])
    # with no validation set the saved model is the last training state
    again.load_state_dict(state["model"])
    assert torch.equal(model.encode(texts)[0], again.encode(texts)[0])
    assert all(torch.equal(v, state["model"][k]) for k, v in model.state_dict().items())
