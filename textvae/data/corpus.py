"""Read raw text: sentence-per-line files, TSV columns, or any Hugging Face dataset name."""

from __future__ import annotations

import warnings
from pathlib import Path

from textvae.errors import DataError

TSV_SUFFIXES = (".tsv", ".tab")


def _read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 file; a bad byte is reported with the file and line number."""
    lines = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                lines.append(raw.decode("utf-8").rstrip("\r\n"))
            except UnicodeDecodeError as err:
                raise DataError(f"{path}:{number}: not valid UTF-8 ({err.reason} at byte {err.start})") from None
    return lines


def _column(lines: list[str], column: int | str, path: Path) -> list[str]:
    if not isinstance(column, int):
        raise DataError(f"{path}: a TSV column must be given by index (data.column: 0, 1, ...), got '{column}'")
    texts = []
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if column >= len(fields):
            raise DataError(f"{path}:{number}: has {len(fields)} tab-separated column(s), column {column} requested")
        texts.append(fields[column])
    return texts


def _load_hf(spec: str, column: int | str) -> list[str]:
    """'name' or 'name:split' (default split 'train') through datasets.load_dataset."""
    import datasets

    name, _, split = spec.rpartition(":") if ":" in spec else (spec, "", "")
    try:
        dataset = datasets.load_dataset(name, split=split or "train")
    except Exception as err:  # datasets raises many types for a missing name or no network
        raise DataError(f"'{spec}' is neither a file nor a loadable Hugging Face dataset: {str(err).splitlines()[0]}") from None
    key = column if isinstance(column, str) else dataset.column_names[column]
    if key not in dataset.column_names:
        raise DataError(f"dataset '{spec}' has no column '{key}'; columns: {', '.join(dataset.column_names)}")
    return [str(text) for text in dataset[key]]


def looks_like_path(spec: str) -> bool:
    """True for strings that cannot be an HF dataset name ('owner/name[:split]')."""
    return spec.endswith((".txt", ".json", ".jsonl", ".csv", *TSV_SUFFIXES)) or spec.startswith((".", "/", "~")) or spec.count("/") > 1


def load_texts(spec: str | Path, column: int | str = 0, drop_empty: bool = True) -> list[str]:
    """All texts of a data source, stripped; empty lines are dropped with a warning.

    A path ending in .tsv/.tab yields `column` of each line; any other existing file is one text per
    line; anything else (a hub name or a local dataset folder) goes to `datasets.load_dataset` as
    'name[:split]'.
    """
    path = Path(spec)
    if path.is_file():
        lines = _read_lines(path)
        texts = _column(lines, column, path) if path.suffix.lower() in TSV_SUFFIXES else lines
        where = str(path)
    elif looks_like_path(str(spec)) and not Path(str(spec).rsplit(":", 1)[0]).is_dir():
        raise DataError(f"data file not found: {spec}")
    else:
        texts = _load_hf(str(spec), column)
        where = str(spec)
    texts = [" ".join(text.split()) for text in texts]
    if drop_empty:
        kept = [text for text in texts if text]
        if len(kept) < len(texts):
            warnings.warn(f"{where}: skipped {len(texts) - len(kept)} empty line(s)", stacklevel=2)
        texts = kept
    if not texts:
        raise DataError(f"{where}: no text found (the file or dataset is empty)")
    return texts


def validation_start(count: int, fraction: float) -> int:
    """Where the held-out validation part begins when the last `fraction` of `count` texts is held out
    (at least one text)."""
    return count - max(1, int(count * fraction))


def load_pairs(spec: str | Path, source_column: int | str, target_column: int | str) -> tuple[list[str], list[str]]:
    """(sources, targets) from two columns of one data source; pairs with an empty side are dropped."""
    sources = load_texts(spec, source_column, drop_empty=False)
    targets = load_texts(spec, target_column, drop_empty=False)
    kept = [(s, t) for s, t in zip(sources, targets) if s and t]
    if not kept:
        raise DataError(f"{spec}: no (source, target) pair with both sides non-empty")
    return [s for s, _ in kept], [t for _, t in kept]


def context_of(turns: list[str], turns_kept: int = 1) -> str:
    """The context a dialogue model reads: the last `turns_kept` turns, joined by spaces."""
    return " ".join(turns[-turns_kept:])


def load_dialogue_pairs(spec: str | Path, context_turns: int = 1) -> tuple[list[str], list[str]]:
    """(context, response) pairs from DailyDialog-style lines (utterances end in '__eou__'): each turn after
    the first is a response; its context is the `context_turns` turns before it (`context_of`)."""
    contexts, responses = [], []
    for number, line in enumerate(load_texts(spec), start=1):
        if "__eou__" not in line:
            raise DataError(f"{spec}:{number}: not a dialogue line (utterances must end with '__eou__')")
        turns = [t.strip() for t in line.split("__eou__") if t.strip()]
        contexts += [context_of(turns[:i], context_turns) for i in range(1, len(turns))]
        responses += turns[1:]
    if not contexts:
        raise DataError(f"{spec}: no consecutive utterance pairs found")
    return contexts, responses
