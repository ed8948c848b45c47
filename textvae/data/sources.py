"""Rows of raw text from a data source: a file, read by the reader its suffix names, or a Hugging Face dataset.

Files: `.txt` (and any unregistered suffix) hold one text per line; `.tsv`/`.tab` columns are picked by
index; `.csv`, `.json`, `.jsonl` and `.parquet` go through `datasets` and their columns are picked by
name or index. A dataset is named `NAME[:SPLIT]` or `NAME:CONFIG:SPLIT` (`glue:sst2:validation`,
`Salesforce/wikitext:wikitext-2-raw-v1:train`); NAME may be a hub id or a local dataset folder, and
the split defaults to `train`. Every source is read lazily, a line or a batch of rows at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from textvae.errors import DataError
from textvae.registry import Registry

Column = int | str
Row = tuple[str, ...]
Reader = Callable[[Path, Sequence[Column]], Iterator[Row]]

FILE_FORMATS: Registry[Reader] = Registry("data file format")
DEFAULT_FORMAT = ".txt"  # files with an unregistered suffix hold one text per line
DATASET_BATCH = 1024  # rows per batch read from a `datasets` source


def read_lines(handle: BinaryIO, name: str) -> Iterator[str]:
    """Lines of a UTF-8 stream without their line ends; a bad byte is reported with `name` and the line number."""
    for number, raw in enumerate(handle, start=1):
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as err:
            raise DataError(f"{name}:{number}: not valid UTF-8 ({err.reason} at byte {err.start})") from None


@FILE_FORMATS.register(".txt")
def _text_file(path: Path, columns: Sequence[Column]) -> Iterator[Row]:
    """One text per line: column 0 is the only one."""
    other = next((column for column in columns if column != 0), None)
    if other is not None:
        raise DataError(f"{path}: a text file has one column (0), column {other!r} requested; "
                        f"use a .tsv, .csv, .jsonl or .parquet file for several")
    with path.open("rb") as handle:
        for line in read_lines(handle, str(path)):
            yield (line,) * len(columns)


def _tsv_file(path: Path, columns: Sequence[Column]) -> Iterator[Row]:
    """Tab-separated columns, picked by index; a line without the column is an error."""
    named = next((column for column in columns if not isinstance(column, int)), None)
    if named is not None:
        raise DataError(f"{path}: a TSV column must be given by index (data.column: 0, 1, ...), got '{named}'")
    widest = max(columns)
    with path.open("rb") as handle:
        for number, line in enumerate(read_lines(handle, str(path)), start=1):
            fields = line.split("\t")
            if widest >= len(fields):
                raise DataError(f"{path}:{number}: has {len(fields)} tab-separated column(s), column {widest} requested")
            yield tuple(fields[column] for column in columns)


def _as_text(value: object) -> str:
    """A cell as text: a missing cell is empty, numbers are written out."""
    return "" if value is None else value if isinstance(value, str) else str(value)


def column_key(column: Column, names: list[str], where: str) -> str:
    """The name of `column` (a name or an index) among `names`, or a DataError listing them."""
    if isinstance(column, int):
        if column < len(names):
            return names[column]
        raise DataError(f"{where} has {len(names)} column(s), column {column} requested; columns: {', '.join(names)}")
    if column not in names:
        raise DataError(f"{where} has no column '{column}'; columns: {', '.join(names)}")
    return column


def _dataset_rows(dataset, columns: Sequence[Column], where: str) -> Iterator[Row]:
    """Rows of a `datasets` Dataset or IterableDataset, a batch at a time; the columns are resolved against the
    first batch's (a streamed file knows its columns only once it is read)."""
    keys = None
    for batch in dataset.iter(batch_size=DATASET_BATCH):
        keys = keys or [column_key(column, list(batch), where) for column in columns]
        yield from zip(*([_as_text(value) for value in batch[key]] for key in keys))


def _read_errors_as_data_errors(rows: Iterator[Row], where: str, what: str) -> Iterator[Row]:
    try:
        yield from rows
    except DataError:
        raise
    except Exception as err:  # datasets, pyarrow and pandas raise many types for a malformed file
        raise DataError(f"{where}: cannot be read as {what}: {_first_line(err)}") from None


def _first_line(err: Exception) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]


def _datasets_file(builder: str, path: Path, columns: Sequence[Column]) -> Iterator[Row]:
    """A file read through `datasets`' `builder` (csv, json, parquet), streamed: no Arrow copy is written."""
    import datasets

    def rows() -> Iterator[Row]:
        dataset = datasets.load_dataset(builder, data_files=str(path), split="train", streaming=True)
        yield from _dataset_rows(dataset, columns, str(path))

    return _read_errors_as_data_errors(rows(), str(path), builder.upper())


FILE_FORMATS.register(".tsv")(_tsv_file)
FILE_FORMATS.register(".tab")(_tsv_file)
for _suffix, _builder in ((".csv", "csv"), (".json", "json"), (".jsonl", "json"), (".parquet", "parquet")):
    FILE_FORMATS.register(_suffix)(functools.partial(_datasets_file, _builder))


@dataclass(frozen=True)
class DatasetName:
    """A Hugging Face dataset: `NAME[:SPLIT]` or `NAME:CONFIG:SPLIT`."""

    name: str
    config: str | None = None
    split: str = "train"

    @classmethod
    def parse(cls, spec: str, config: str | None = None, split: str | None = None) -> DatasetName:
        """The dataset `spec` names; `config` and `split` fill in what the string leaves out."""
        name, *rest = spec.split(":")
        if len(rest) > 2 or not name or not all(rest):
            raise DataError(f"'{spec}': a dataset is named NAME[:SPLIT] or NAME:CONFIG:SPLIT")
        return cls(name, rest[0] if len(rest) == 2 else config, rest[-1] if rest else split or "train")

    def __str__(self) -> str:
        return ":".join(part for part in (self.name, self.config, self.split) if part)


def looks_like_path(spec: str) -> bool:
    """True for strings that cannot be a dataset name ('owner/name[:config]:split')."""
    return (spec.endswith(tuple(FILE_FORMATS)) or spec.startswith((".", "/", "~"))
            or spec.split(":")[0].count("/") > 1)


def is_dataset(spec: str | Path) -> bool:
    """Whether `spec` names a dataset (a hub id or a local dataset folder) rather than a file."""
    spec = str(spec)
    if Path(spec).is_file():
        return False
    return not looks_like_path(spec) or Path(spec.split(":")[0]).is_dir()


def with_dataset_defaults(spec: str, config: str | None, split: str | None) -> str:
    """`spec` with `config` and `split` filled in where it names a dataset without them; files unchanged."""
    return str(DatasetName.parse(spec, config, split)) if is_dataset(spec) else spec


def _load_dataset(name: DatasetName, streaming: bool):
    import datasets

    try:
        return datasets.load_dataset(name.name, name.config, split=name.split, streaming=streaming)
    except Exception as err:  # datasets raises many types for a missing name, config or split, or no network
        raise DataError(f"'{name}' is neither a file nor a loadable Hugging Face dataset: {_first_line(err)}") from None


def iter_rows(spec: str | Path, columns: Sequence[Column], streaming: bool = False) -> Iterator[Row]:
    """The `columns` of every row of a file or dataset, as text. A dataset is streamed with `streaming`
    (nothing downloaded or converted beyond the rows read), else memory-mapped from its Arrow cache."""
    path = Path(spec)
    if path.is_file():
        suffix = path.suffix.lower()
        yield from FILE_FORMATS.get(suffix if suffix in FILE_FORMATS else DEFAULT_FORMAT)(path, columns)
    elif not is_dataset(spec):
        raise DataError(f"data file not found: {spec}")
    else:
        name = DatasetName.parse(str(spec))
        yield from _read_errors_as_data_errors(_dataset_rows(_load_dataset(name, streaming), columns, f"dataset '{spec}'"),
                                               f"dataset '{spec}'", "a dataset")
