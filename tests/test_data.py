import pytest
import torch

from textvae.data import (
    BOS,
    EOS,
    PAD,
    UNK,
    BucketBatchSampler,
    TextDataset,
    load_texts,
    load_tokenizer,
    pad_batch,
    train_tokenizer,
)
from textvae.errors import CheckpointError, DataError


def test_text_and_tsv_files(tmp_path):
    txt = tmp_path / "a.txt"
    txt.write_text(" the cat \n\n a  dog\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="skipped 1 empty"):
        assert load_texts(txt) == ["the cat", "a dog"]
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("how are you?\thow do you do?\nhi\thello\n", encoding="utf-8")
    assert load_texts(tsv, column=1) == ["how do you do?", "hello"]
    with pytest.raises(DataError, match="pairs.tsv:1: has 2 tab-separated column"):
        load_texts(tsv, column=2)


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_texts(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        load_texts(empty)
    binary = tmp_path / "bad.txt"
    binary.write_bytes(b"fine line\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"bad.txt:2: not valid UTF-8"):
        load_texts(binary)


def test_word_tokenizer_maps_ptb_unk_and_round_trips(ptb_texts, word_tokenizer, tmp_path):
    text = ptb_texts[0]
    ids = word_tokenizer.encode(text)
    assert word_tokenizer.decode(ids + [EOS, 5, 6]) == text
    assert word_tokenizer.encode("<unk> zzzunseen") == [UNK, UNK]
    word_tokenizer.save(tmp_path)
    assert load_tokenizer(tmp_path).encode(text) == ids


def test_sentencepiece_tokenizer_trains_saves_and_loads(ptb_texts, tmp_path):
    tok = train_tokenizer("sentencepiece", ptb_texts, 500, lowercase=False)
    assert tok.vocab_size <= 500
    ids = tok.encode("the market fell sharply")
    assert all(i > UNK for i in ids)
    assert tok.decode(ids) == "the market fell sharply"
    tok.save(tmp_path)
    assert load_tokenizer(tmp_path).encode("the market") == tok.encode("the market")
    (tmp_path / "spm.model").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a valid SentencePiece model"):
        load_tokenizer(tmp_path)


def test_pad_batch_layout():
    batch = pad_batch([[5, 6, 7], [8]])  # as wide as the longest text + 1, no wider
    assert batch["input_ids"].tolist() == [[BOS, 5, 6, 7], [BOS, 8, PAD, PAD]]
    assert batch["target_ids"].tolist() == [[5, 6, 7, EOS], [8, EOS, PAD, PAD]]
    assert batch["lengths"].tolist() == [4, 2]


def test_bucketed_batches_cover_everything_once_and_are_reproducible(ptb_texts, word_tokenizer):
    ds = TextDataset(ptb_texts, word_tokenizer, max_length=20)
    assert max(len(x) for x in ds.ids) <= 20 and ds.truncated > 0
    sampler = BucketBatchSampler(ds.lengths, 16, seed=1)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(ptb_texts)))
    assert batches == list(BucketBatchSampler(ds.lengths, 16, seed=1))
    sampler.set_epoch(1)
    assert list(sampler) != batches
    # bucketing keeps padding low compared with random batches
    spread = sum(max(ds.lengths[i] for i in b) - min(ds.lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 6
    collated = ds.collate(batches[0])
    assert collated["input_ids"].shape == collated["target_ids"].shape
    assert isinstance(collated["texts"][0], str) and collated["lengths"].dtype == torch.long


def test_hugging_face_dataset_folder_through_datasets(tmp_path):
    folder = tmp_path / "my_dataset"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"sentence": "first one", "label": 0}\n{"sentence": "second", "label": 1}\n')
    assert load_texts(f"{folder}:train", column="sentence") == ["first one", "second"]
    with pytest.raises(DataError, match="has no column 'text'; columns: sentence, label"):
        load_texts(str(folder), column="text")
