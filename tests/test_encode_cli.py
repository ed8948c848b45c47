"""Batched inference from the command line: `textvae encode` (mu and logvar to .npy, .safetensors, .jsonl, in
chunks), --input files or standard input for reconstruct and paraphrase, and --device on every model command."""

import io
import json
import sys

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from textvae import TextVAE
from textvae.cli import encode as encode_command
from textvae.cli.common import resolve_device
from textvae.cli.main import build_parser, main
from textvae.errors import TextVAEError

MODEL_COMMANDS = ["sample", "reconstruct", "paraphrase", "interpolate", "contrast", "respond", "evaluate", "encode"]


@pytest.fixture()
def saved(tmp_path_factory, tiny_config, word_tokenizer):
    """A tiny GRU VAE's folder."""
    folder = tmp_path_factory.mktemp("model")
    TextVAE(tiny_config, word_tokenizer).save_pretrained(folder)
    return folder


@pytest.fixture()
def lines(ptb_texts, tmp_path):
    """Ten PTB sentences in a file, with an empty line among them (skipped)."""
    texts = [" ".join(t.split()) for t in ptb_texts[:10]]
    path = tmp_path / "in.txt"
    path.write_text("\n".join(texts[:4] + [""] + texts[4:]) + "\n", encoding="utf-8")
    return path, texts


def stdin_of(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_encode_writes_mu_and_logvar_in_every_format_chunk_by_chunk(saved, lines, tmp_path, monkeypatch):
    path, texts = lines
    model = TextVAE.from_pretrained(saved, device="cpu")
    mu, logvar = (x.numpy() for x in model.encode(texts))
    sizes = []
    original = TextVAE.encode
    monkeypatch.setattr(TextVAE, "encode", lambda self, chunk, **kw: sizes.append(len(chunk)) or original(self, chunk, **kw))
    monkeypatch.setattr(encode_command, "READ_CHUNK", 3)
    for name in ("z.npy", "z.safetensors", "z.jsonl"):
        with pytest.warns(UserWarning, match="skipped 1 empty line"):
            assert main(["encode", "--model", str(saved), str(path), "--output", str(tmp_path / name),
                         "--batch-size", "2", "--device", "cpu"]) == 0
    assert sizes == [3, 3, 3, 1] * 3  # never more than one chunk of texts in memory
    stacked = np.load(tmp_path / "z.npy")
    assert stacked.shape == (2, 10, 8) and stacked.dtype == np.float32
    np.testing.assert_allclose(stacked[0], mu, atol=1e-6)
    np.testing.assert_allclose(stacked[1], logvar, atol=1e-6)
    tensors = load_file(tmp_path / "z.safetensors")
    np.testing.assert_array_equal(tensors["mu"], stacked[0])
    np.testing.assert_array_equal(tensors["logvar"], stacked[1])
    records = [json.loads(line) for line in (tmp_path / "z.jsonl").read_text().splitlines()]
    assert [r["text"] for r in records] == texts
    np.testing.assert_allclose([r["mu"] for r in records], mu, atol=1e-6)
    np.testing.assert_allclose([r["logvar"] for r in records], logvar, atol=1e-6)


def test_encode_reads_standard_input(saved, lines, tmp_path, monkeypatch):
    path, texts = lines
    stdin_of(monkeypatch, path.read_bytes())
    with pytest.warns(UserWarning, match="<stdin>: skipped 1 empty line"):
        assert main(["encode", "--model", str(saved), "--output", str(tmp_path / "z.npy")]) == 0
    mu, _ = TextVAE.from_pretrained(saved, device="cpu").encode(texts)
    np.testing.assert_allclose(np.load(tmp_path / "z.npy")[0], mu.numpy(), atol=1e-6)


def test_encode_refuses_bad_requests_in_one_line_and_leaves_no_file(saved, lines, tmp_path, monkeypatch, capsys):
    path, _ = lines
    assert main(["encode", "--model", "/no/such/model", str(path), "--output", str(tmp_path / "z.csv")]) == 2
    assert "unknown latent file format '.csv'; choose one of: .jsonl, .npy, .safetensors" in capsys.readouterr().err
    stdin_of(monkeypatch, b"\n \n")
    with pytest.warns(UserWarning, match="skipped 2 empty"):
        assert main(["encode", "--model", str(saved), "-", "--output", str(tmp_path / "z.npy")]) == 2
    assert "no text to encode (the input is empty)" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["in.txt"]  # no output, and no temp file left
    assert main(["encode", "--model", str(saved), str(path), "--output", str(tmp_path / "z.npy"), "--batch-size", "0"]) == 2
    assert "--batch-size must be > 0" in capsys.readouterr().err


def test_reconstruct_and_paraphrase_take_many_texts_from_a_file_or_standard_input(saved, lines, monkeypatch, capsys):
    path, texts = lines
    with pytest.warns(UserWarning, match="skipped 1 empty"):
        assert main(["reconstruct", "--model", str(saved), "--input", str(path), "--jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = TextVAE.from_pretrained(saved, device="cpu").reconstruct(texts)
    assert [(r["input"], r["reconstruction"]) for r in records] == list(zip(texts, expected))
    stdin_of(monkeypatch, "\n".join(texts[:3]).encode())
    assert main(["paraphrase", "--model", str(saved), "--input", "-", "-n", "2", "--seed", "0", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["input"] for r in results] == texts[:3]
    assert all(len(r["paraphrases"]) <= 2 for r in results)
    stdin_of(monkeypatch, b"the market fell\nstocks rose\n")
    assert main(["paraphrase", "--model", str(saved), "--input", "-", "-n", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "the market fell" in out and "stocks rose" in out  # one block per input, headed by the input
    for argv in (["reconstruct", "a b", "--input", str(path)], ["reconstruct"], ["paraphrase"]):
        assert main([*argv, "--model", str(saved)]) == 2
        assert "one of the two" in capsys.readouterr().err


def test_every_command_that_loads_a_model_takes_a_device():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name in MODEL_COMMANDS:
        assert "--device" in commands[name].format_help(), name


def test_a_device_is_checked_against_this_machine(saved, capsys):
    assert resolve_device(None) == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(TextVAEError, match="--device tpu: choose cpu, cuda, cuda:N or mps"):
        resolve_device("tpu")
    with pytest.raises(TextVAEError, match="--device meta: choose cpu, cuda, cuda:N or mps"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        assert main(["sample", "--model", str(saved), "--device", "cuda:1"]) == 2
        assert capsys.readouterr().err == ("error: --device cuda:1: CUDA is not available here (no NVIDIA GPU, or a "
                                           "CPU-only build of torch)\n")
    else:
        with pytest.raises(TextVAEError, match="CUDA device"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    if not torch.backends.mps.is_available():
        with pytest.raises(TextVAEError, match="--device mps: MPS \\(an Apple GPU\\) is not available here"):
            resolve_device("mps")
