"""Any request size in bounded memory: decoding is chunked, the CLI streams, impossible requests are refused."""

import dataclasses
import json
import subprocess
import sys

import pytest
import torch

from textvae import TextVAE
from textvae.cli.main import main
from textvae.errors import ConfigError, TextVAEError

PEAK_RSS = """
import resource, sys
from textvae.cli.main import main
code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory, word_tokenizer):
    from textvae.config import ModelConfig

    torch.manual_seed(0)
    config = ModelConfig(encoder="gru", decoder="gru", latent_dim=8, embed_dim=32, hidden_dim=32, dropout=0.0,
                         max_length=12)
    folder = tmp_path_factory.mktemp("bounded") / "model"
    TextVAE(config, word_tokenizer).save_pretrained(folder)
    return folder


def peak_rss_mb(args: list[str], output) -> float:
    """Run the CLI in a fresh process with stdout to `output`; its peak resident memory in MB."""
    with open(output, "w") as handle:
        done = subprocess.run([sys.executable, "-c", PEAK_RSS, *args], stdout=handle, stderr=subprocess.PIPE,
                              text=True, check=True)
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def test_sampling_memory_does_not_grow_with_n_and_every_sample_is_written(saved, tmp_path):
    small = peak_rss_mb(["sample", "--model", str(saved), "-n", "1000", "--batch-size", "64"], tmp_path / "a")
    large = peak_rss_mb(["sample", "--model", str(saved), "-n", "20000", "--batch-size", "64"], tmp_path / "b")
    assert len((tmp_path / "b").read_text().splitlines()) == 20000
    # unchunked, the 20,000 rows' logits alone would take 20000 x vocab x 4 bytes (> 150 MB) at once
    assert large - small < 40, (small, large)


def test_interpolation_memory_does_not_grow_with_steps(saved, tmp_path):
    args = ["interpolate", "--model", str(saved), "the company said", "prices fell sharply", "--jsonl"]
    small = peak_rss_mb([*args, "--steps", "100"], tmp_path / "a")
    large = peak_rss_mb([*args, "--steps", "10000"], tmp_path / "b")
    rows = [json.loads(line) for line in (tmp_path / "b").read_text().splitlines()]
    assert len(rows) == 10000 and rows[0]["t"] == 0 and rows[-1]["t"] == 1
    assert large - small < 40, (small, large)


def test_chunked_decoding_gives_the_same_texts_as_one_batch(saved):
    model = TextVAE.from_pretrained(saved, device="cpu")
    z = torch.randn(50, model.config.latent_dim)
    assert model.decode(z, batch_size=7) == model.decode(z, batch_size=256)
    assert model.decode(z, strategy="beam", beam_size=3, batch_size=4) == model.decode(z, strategy="beam",
                                                                                        beam_size=3)
    chunks = iter([z[:20], z[20:]])  # a stream of latents decodes like the whole tensor
    assert list(model.iter_decode(chunks, batch_size=16)) == model.decode(z)


def test_beams_that_cannot_fit_are_refused_before_any_work(saved):
    model = TextVAE.from_pretrained(saved, device="cpu")
    vocab = model.config.vocab_size
    with pytest.raises(ConfigError, match=f"exceeds the vocabulary \\({vocab} tokens\\)"):
        model.sample(2, strategy="beam", beam_size=vocab + 1)
    with pytest.raises(ConfigError, match="over the decoding memory budget memory_mb=1"):
        model.paraphrase("the company said", n=2, strategy="beam", beam_size=1000, memory_mb=1)
    # the budget shrinks the chunk instead when a row fits
    opts, rows = model.decoding_options("beam", beam_size=1000, memory_mb=64)
    assert 1 <= rows < opts.batch_size


def test_cli_refuses_impossible_requests_in_one_line(saved, capsys):
    assert main(["paraphrase", "--model", str(saved), "hi", "-n", "3", "--strategy", "beam",
                 "--beam-size", "100000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: beam_size 100000 exceeds the vocabulary") and err.count("\n") == 1
    assert main(["sample", "--model", str(saved), "-n", "1000000", "--json"]) == 2
    err = capsys.readouterr().err
    assert "use --jsonl" in err and err.count("\n") == 1


def test_paraphrase_deduplicates_across_chunks(saved):
    model = TextVAE.from_pretrained(saved, device="cpu")
    out = model.paraphrase("the company said", n=300, scale=3.0, batch_size=16, rerank=False)
    keys = [" ".join(t.lower().split()) for t in out]
    assert len(keys) == len(set(keys)) and "the company said" not in keys and len(out) > 16


def test_streamed_generation_keeps_the_order_of_its_inputs(saved):
    model = TextVAE.from_pretrained(saved, device="cpu")
    ae = TextVAE(dataclasses.replace(model.config, variational=False), model.tokenizer).eval()
    texts = ["the company said", "prices fell sharply", "the market rose"]
    grouped = ae.generate(texts, n=4, batch_size=5)
    assert [set(group) for group in grouped] == [{r} for r in ae.reconstruct(texts)]  # an AE decodes mu n times
    with pytest.raises(TextVAEError, match="n must be an int, got 2.5"):
        model.generate(texts, n=2.5)
