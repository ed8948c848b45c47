"""Texts, (source, target) pairs and dialogue turns from any data source (textvae.data.sources): cleaned,
with empty lines dropped, and read only as far as a `limit` asks."""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from textvae.data.sources import Column, iter_rows, read_lines
from textvae.data.tokenizers import normalize
from textvae.errors import DataError

STDIN = "-"  # the input source that names standard input


def clean(text: str) -> str:
    """Whitespace collapsed to single spaces, ends stripped."""
    return " ".join(text.split())


def iter_texts(spec: str | Path, column: Column = 0, streaming: bool = False) -> Iterator[str]:
    """The cleaned texts of one column of a file or dataset, empty ones included, read lazily."""
    return (clean(text) for (text,) in iter_rows(spec, (column,), streaming))


def load_texts(spec: str | Path, column: Column = 0, drop_empty: bool = True, limit: int | None = None) -> list[str]:
    """The texts of a data source (textvae.data.sources says which), cleaned; empty ones are dropped with a
    warning. With `limit`, only the first `limit` texts are read (a dataset is then streamed)."""
    texts, empty = [], 0
    for text in iter_texts(spec, column, streaming=limit is not None):
        if text or not drop_empty:
            texts.append(text)
            if len(texts) == limit:
                break
        else:
            empty += 1
    if empty:
        warnings.warn(f"{spec}: skipped {empty} empty line(s)", stacklevel=2)
    if not texts:
        raise DataError(f"{spec}: no text found (the file or dataset is empty)")
    return texts


def iter_input_chunks(source: str | Path, size: int) -> Iterator[list[str]]:
    """The texts of a file, or of standard input for '-', one per line, cleaned, in lists of at most `size`,
    read as they are needed; empty lines (control characters only included) are skipped with a warning at the
    end. A missing file fails here, before anything is read."""
    stdin = str(source) == STDIN
    if not stdin and not Path(source).is_file():
        raise DataError(f"input file not found: {source}")
    return _input_chunks(sys.stdin.buffer if stdin else None, Path(source), size)


def _input_chunks(handle: BinaryIO | None, path: Path, size: int) -> Iterator[list[str]]:
    name = "<stdin>" if handle is not None else str(path)
    with contextlib.nullcontext(handle) if handle is not None else path.open("rb") as lines:
        chunk, empty = [], 0
        for line in read_lines(lines, name):
            text = clean(line)
            if not normalize(text, False):
                empty += 1
                continue
            chunk.append(text)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
    if empty:
        warnings.warn(f"{name}: skipped {empty} empty line(s)", stacklevel=2)


def validation_start(count: int, fraction: float) -> int:
    """Where the held-out validation part begins when the last `fraction` of `count` texts is held out
    (at least one text)."""
    return count - max(1, int(count * fraction))


def load_pairs(spec: str | Path, source_column: Column, target_column: Column,
               limit: int | None = None) -> tuple[list[str], list[str]]:
    """(sources, targets) from two columns of one data source; pairs with an empty side are dropped.
    With `limit`, reading stops after that many pairs."""
    rows = iter_rows(spec, (source_column, target_column), streaming=limit is not None)
    sources, targets, read = [], [], 0
    for source, target in rows:
        read += 1
        source, target = clean(source), clean(target)
        if source and target:
            sources.append(source)
            targets.append(target)
            if len(sources) == limit:
                break
    if not read:
        raise DataError(f"{spec}: no text found (the file or dataset is empty)")
    if not sources:
        raise DataError(f"{spec}: no (source, target) pair with both sides non-empty")
    return sources, targets


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


def both_directions(targets: list[str], sources: list[str]) -> tuple[list[str], list[str]]:
    """(targets, sources) with each pair followed by its reverse: source -> target, then target -> source."""
    return ([text for pair in zip(targets, sources) for text in pair],
            [text for pair in zip(sources, targets) for text in pair])
