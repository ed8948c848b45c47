"""Data in any common format: text, TSV, CSV, JSON, JSON Lines and Parquet files, Hugging Face dataset folders
with a config and split; columns by name or index; bad sources fail in one line; reading stops at a limit."""

import io
import json
import sys

import pytest

from textvae.config import load_experiment
from textvae.data import FILE_FORMATS, load_texts
from textvae.data.corpus import iter_input_chunks, load_pairs
from textvae.data.sources import with_dataset_defaults
from textvae.errors import ConfigError, DataError

ROWS = [{"id": 1, "source": "how are you ?", "text": "how do  you do ?"},
        {"id": 2, "source": "hi", "text": "hello"},
        {"id": 3, "source": "bye", "text": ""}]


def write(tmp_path, suffix: str):
    """ROWS in the format `suffix` names."""
    path = tmp_path / f"rows{suffix}"
    if suffix == ".csv":
        lines = ["id,source,text"] + [f'{r["id"]},"{r["source"]}","{r["text"]}"' for r in ROWS]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps(ROWS), encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(ROWS), path)
    return path


def test_every_registered_format_is_one_the_docs_name():
    assert set(FILE_FORMATS) == {".txt", ".tsv", ".tab", ".csv", ".json", ".jsonl", ".parquet"}


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl", ".parquet"])
def test_structured_files_give_a_column_by_name_or_index(tmp_path, suffix):
    path = write(tmp_path, suffix)
    with pytest.warns(UserWarning, match="skipped 1 empty"):
        assert load_texts(path, "text") == ["how do you do ?", "hello"]
    with pytest.warns(UserWarning, match="skipped 1 empty"):
        assert load_texts(path, 2) == ["how do you do ?", "hello"]
    assert load_texts(path, "id") == ["1", "2", "3"]  # numbers are read as their text
    assert load_pairs(path, "source", "text") == (["how are you ?", "hi"], ["how do you do ?", "hello"])
    assert load_texts(path, "text", limit=1) == ["how do you do ?"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_a_missing_column_is_one_line_listing_the_columns(tmp_path, suffix):
    path = write(tmp_path, suffix)
    with pytest.raises(DataError, match=r"has no column 'sentence'; columns: id, source, text$"):
        load_texts(path, "sentence")
    with pytest.raises(DataError, match=r"has 3 column\(s\), column 7 requested; columns: id, source, text$"):
        load_texts(path, 7)


def test_malformed_files_fail_with_one_clear_line(tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "fine"}\n{"text": oops\n', encoding="utf-8")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("text\ncaf\xe9\n".encode("latin-1"))
    not_parquet = tmp_path / "fake.parquet"
    not_parquet.write_text("just text\n")
    for path, kind in ((broken, "JSON"), (latin1, "CSV"), (not_parquet, "PARQUET")):
        with pytest.raises(DataError, match=f"{path.name}: cannot be read as {kind}: ") as caught:
            load_texts(path, "text")
        assert "\n" not in str(caught.value)


def test_a_text_file_has_one_column(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("one\ntwo\n", encoding="utf-8")
    assert load_texts(path, 0) == ["one", "two"]
    with pytest.raises(DataError, match="a text file has one column"):
        load_texts(path, 1)


def test_a_limit_reads_no_further_than_the_texts_it_keeps(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"one\n\ntwo\nthree\nbad \xff byte\n")
    with pytest.warns(UserWarning, match="skipped 1 empty"):
        assert load_texts(path, limit=3) == ["one", "two", "three"]  # the bad line after them is never read
    with pytest.raises(DataError, match="big.txt:5: not valid UTF-8"):
        load_texts(path)


@pytest.fixture()
def dataset_folder(tmp_path):
    """A local Hugging Face dataset with two configs, declared in its README as on the hub."""
    folder = tmp_path / "corpus"
    for config, split, text in (("short", "train", "short train"), ("short", "test", "short test"),
                                ("long", "train", "a long train text")):
        (folder / config).mkdir(parents=True, exist_ok=True)
        (folder / config / f"{split}.jsonl").write_text(json.dumps({"sentence": text}) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(
        "---\nconfigs:\n"
        "- config_name: short\n  data_files:\n  - {split: train, path: short/train.jsonl}\n"
        "  - {split: test, path: short/test.jsonl}\n"
        "- config_name: long\n  data_files:\n  - {split: train, path: long/train.jsonl}\n---\n", encoding="utf-8")
    return folder


def test_a_dataset_is_named_name_config_split(dataset_folder):
    assert load_texts(f"{dataset_folder}:short:test", "sentence") == ["short test"]
    assert load_texts(f"{dataset_folder}:long:train", 0, limit=5) == ["a long train text"]  # streamed
    with pytest.raises(DataError, match="BuilderConfig 'medium' not found"):
        load_texts(f"{dataset_folder}:medium:train", "sentence")
    with pytest.raises(DataError, match="a dataset is named NAME\\[:SPLIT\\] or NAME:CONFIG:SPLIT"):
        load_texts(f"{dataset_folder}:short:test:extra")


def test_config_fields_fill_in_what_the_name_leaves_out(dataset_folder, tmp_path):
    assert with_dataset_defaults(str(dataset_folder), "short", "test") == f"{dataset_folder}:short:test"
    assert with_dataset_defaults(f"{dataset_folder}:train", "short", "test") == f"{dataset_folder}:short:train"
    assert with_dataset_defaults("glue", None, None) == "glue:train"
    assert with_dataset_defaults("owner/name:cfg:validation", "other", "test") == "owner/name:cfg:validation"
    text_file = tmp_path / "a.txt"
    text_file.write_text("x\n")
    assert with_dataset_defaults(str(text_file), "short", "test") == str(text_file)
    config = load_experiment(None, [f"data.train={dataset_folder}", "data.dataset_config=short", "data.split=test"])
    assert (config.data.dataset_config, config.data.split) == ("short", "test")
    with pytest.raises(ConfigError, match="data.split must be one non-empty name without ':'"):
        load_experiment(None, ["data.split=a:b"])


def test_training_reads_the_configured_column_config_split_and_only_the_examples_it_keeps(dataset_folder, tmp_path):
    from textvae.training.texts import split_texts

    csv = write(tmp_path, ".csv")
    config = load_experiment(None, [f"data.train={csv}", "data.column=source", "data.max_examples=2"])
    assert split_texts(config) == ((["how are you ?", "hi"], None), None)
    config = load_experiment(None, [f"data.train={dataset_folder}", "data.column=sentence",
                                    "data.dataset_config=short", f"data.valid={dataset_folder}:test"])
    assert split_texts(config) == ((["short train"], None), (["short test"], None))


def test_input_lines_come_in_chunks_from_a_file_or_standard_input(tmp_path, monkeypatch):
    path = tmp_path / "in.txt"
    path.write_text("a  b\n\n\x07\nc\nd\ne\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="skipped 2 empty line"):
        assert list(iter_input_chunks(path, 2)) == [["a b", "c"], ["d", "e"]]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x\ny\n")))
    assert list(iter_input_chunks("-", 5)) == [["x", "y"]]
    with pytest.raises(DataError, match="input file not found"):
        iter_input_chunks(tmp_path / "none.txt", 2)  # at once, before a model is loaded to read it
