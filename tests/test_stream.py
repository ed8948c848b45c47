import json
import random

import pytest
import torch

from textvae import TextVAE
from textvae.config import load_experiment
from textvae.data.stream import TextStream, bucketed_batches, split_head, stream_texts
from textvae.errors import ConfigError, DataError
from textvae.training import Trainer, train
from textvae.training.checkpoint import load_training_state


def streaming_experiment(train_file, *extra):
    return load_experiment(None, [
        f"data.train={train_file}", "data.streaming=true", "data.valid_fraction=0.1", "data.stream_sample=100",
        "data.shuffle_buffer=64", "data.tokenizer=word", "model.encoder=gru", "model.embed_dim=32",
        "model.hidden_dim=48", "model.latent_dim=8", "model.dropout=0.0", "train.batch_size=8", "train.lr=3e-3",
        "train.log_every=5", "train.seed=0", *extra])


@pytest.fixture()
def numbered_file(tmp_path, ptb_texts):
    """300 distinct PTB lines (each starts with its number), with empty lines between some of them."""
    path = tmp_path / "train.txt"
    lines = [f"{i} {text}" + ("\n" if i % 50 == 0 else "") for i, text in enumerate(ptb_texts[:300])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_shuffle_buffer_reads_no_further_than_its_size_before_the_first_batch():
    read = []

    def texts():
        for i in range(1000):
            read.append(i)
            yield "x" * (i % 17)

    batches = bucketed_batches(texts(), len, batch_size=4, buffer_size=40, rng=random.Random(0))
    first = next(batches)
    assert len(read) == 40 and len(first) == 4
    rest = list(batches)
    assert len(read) == 1000
    assert sorted(len(t) for batch in [first, *rest] for t in batch) == sorted(i % 17 for i in range(1000))
    assert all(len(batch) == 4 for batch in rest[:-1])


def test_batches_are_bucketed_by_length_and_shuffled_deterministically():
    def draw(seed):
        return list(bucketed_batches(range(400), lambda x: x % 23, 8, 200, random.Random(seed), pool=5))

    batches = draw(0)
    spread = [max(x % 23 for x in b) - min(x % 23 for x in b) for b in batches]
    assert sum(spread) / len(spread) < 5  # unbucketed batches of 8 span ~17 lengths
    assert draw(0) == batches and draw(1) != batches


def test_stream_texts_skips_empty_lines_and_the_held_out_start(numbered_file):
    texts = list(stream_texts(numbered_file))
    assert len(texts) == 300 and all(texts)
    assert list(stream_texts(numbered_file, skip=10, limit=5)) == texts[10:15]
    held, rest = split_head(numbered_file, 0, 100, 0.1)
    assert held == texts[:10] and rest == texts[10:100]
    with pytest.raises(DataError, match="too few"):
        split_head(numbered_file, 0, 1, 0.5)


def test_the_training_stream_never_yields_a_validation_text(numbered_file, tmp_path):
    trainer = Trainer(streaming_experiment(numbered_file, "train.max_steps=5"), tmp_path / "run",
                      show_progress=False)
    trainer._start_run(False)
    run = trainer._prepare(False)
    seen = [text for batch in run.batches.epoch(0, 0) for text in batch["texts"]]
    valid = run.valid_set.texts
    assert len(valid) == 10 and not set(seen) & set(valid)
    assert sorted(seen + valid) == sorted(stream_texts(numbered_file))


def test_streaming_training_saves_a_model_that_loads(numbered_file, tmp_path):
    out = tmp_path / "run"
    train(streaming_experiment(numbered_file, "train.max_steps=12", "train.eval_every=6"), out, show_progress=False)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "valid_neg_elbo" in r] == [6, 12]
    assert len(TextVAE.from_pretrained(out, device="cpu").sample(2)) == 2


def test_without_max_steps_an_epoch_is_one_counted_pass_over_the_file(numbered_file, tmp_path):
    out = tmp_path / "run"
    train(streaming_experiment(numbered_file, "train.epochs=2"), out, show_progress=False)
    steps = load_training_state(out / "checkpoint")["progress"]["step"]
    assert steps == 2 * -(-290 // 8)  # 300 texts less the 10 held out, in batches of 8
    epochs = [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "epoch_seconds" in r]
    assert [r["step"] for r in epochs] == [37, 74]


def test_a_resumed_streaming_run_continues_to_the_same_weights(numbered_file, tmp_path):
    full, split = tmp_path / "full", tmp_path / "split"
    options = ["train.save_every=10", "train.epochs=5"]
    train(streaming_experiment(numbered_file, "train.max_steps=50", *options), full, show_progress=False)
    train(streaming_experiment(numbered_file, "train.max_steps=20", *options), split, show_progress=False)
    train(streaming_experiment(numbered_file, "train.max_steps=50", *options), split, resume=True,
          show_progress=False)
    a = load_training_state(full / "checkpoint")["model"]
    b = load_training_state(split / "checkpoint")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_text_stream_batches_carry_the_collated_keys(numbered_file, word_tokenizer):
    stream = TextStream(numbered_file, 0, word_tokenizer, batch_size=8, buffer_size=32, max_length=5)
    batch = next(stream.batches(0))
    assert set(batch) == {"input_ids", "target_ids", "lengths", "texts"}
    assert batch["input_ids"].shape[0] == len(batch["texts"]) == 8 and int(batch["lengths"].max()) <= 6
    assert stream.count_batches() == -(-300 // 8)


@pytest.mark.parametrize(("override", "message"), [
    ("data.streaming=sometimes", "data.streaming must be bool"),
    ("data.shuffle_buffer=0", "data.shuffle_buffer must be > 0"),
    ("data.stream_sample=-5", "data.stream_sample must be > 0"),
    ("data.shuffle_buffer=4", "data.shuffle_buffer \\(4\\) must hold at least one batch"),
    ("data.source_column=1", "data.streaming reads unpaired texts only"),
])
def test_bad_streaming_settings_fail_clearly(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        streaming_experiment(tmp_path / "train.txt", override)
