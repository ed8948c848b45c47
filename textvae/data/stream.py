"""Training texts read as a stream, for corpora larger than memory: a bounded shuffle buffer, length-bucketed
batches as in memory (BucketBatchSampler's pools), one pass over the source per epoch."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from textvae.data.batching import pad_batch
from textvae.data.corpus import iter_texts, load_texts
from textvae.data.sources import Column
from textvae.data.tokenizers import SentencePieceTokenizer, WordTokenizer
from textvae.errors import DataError

T = TypeVar("T")
POOL = 50  # batches drawn from the buffer together and sorted by length (BucketBatchSampler's pool)


def stream_texts(spec: str | Path, column: Column = 0, skip: int = 0, limit: int | None = None) -> Iterator[str]:
    """The non-empty cleaned texts of a source, read lazily: the first `skip` left out, at most `limit` after them."""
    texts = (text for text in iter_texts(spec, column, streaming=True) if text)
    return itertools.islice(texts, skip, None if limit is None else skip + limit)


def count_texts(spec: str | Path, column: Column = 0, skip: int = 0, limit: int | None = None) -> int:
    """How many texts `stream_texts` yields, counted in one pass that keeps none of them."""
    return sum(1 for _ in stream_texts(spec, column, skip, limit))


def split_head(spec: str | Path, column: Column, sample: int, valid_fraction: float) -> tuple[list[str], list[str]]:
    """(held out, rest) of the first `sample` texts of a source: with `valid_fraction` > 0, its first
    `valid_fraction` of them (at least one) are held out for validation."""
    head = load_texts(spec, column, limit=sample)
    held = max(1, int(len(head) * valid_fraction)) if valid_fraction else 0
    if held >= len(head):
        raise DataError(f"{spec}: {len(head)} text(s) read, too few to hold {held} out for validation and train on the rest")
    return head[:held], head[held:]


def _draw(buffer: list[T], count: int, rng: random.Random) -> list[T]:
    """Remove and return `count` items of `buffer` (all when fewer) chosen at random."""
    drawn = []
    for _ in range(min(count, len(buffer))):
        index = rng.randrange(len(buffer))
        buffer[index], buffer[-1] = buffer[-1], buffer[index]
        drawn.append(buffer.pop())
    return drawn


def bucketed_batches(items: Iterable[T], length: Callable[[T], int], batch_size: int, buffer_size: int,
                     rng: random.Random, pool: int = POOL) -> Iterator[list[T]]:
    """Batches of similar length from a stream, holding at most `buffer_size` items: the buffer is filled, a pool
    of `pool` batches' worth is drawn from it at random, sorted by `length` and cut into batches that are yielded
    in random order, then the buffer is refilled. Only the stream's last batch may be short."""
    source = iter(items)
    pool_size = max(1, min(pool, buffer_size // batch_size)) * batch_size
    buffer: list[T] = []
    while True:
        buffer += itertools.islice(source, max(0, buffer_size - len(buffer)))
        if not buffer:
            return
        drawn = sorted(_draw(buffer, pool_size, rng), key=length)
        batches = [drawn[start : start + batch_size] for start in range(0, len(drawn), batch_size)]
        rng.shuffle(batches)
        yield from batches


@dataclass
class TextStream:
    """The training texts of one source as padded batches (TextDataset.collate's keys), one pass per epoch,
    deterministic given (seed, epoch). `tokenizer` encodes a text into decoder ids, truncated to `max_length`."""

    spec: str | Path
    column: Column
    tokenizer: WordTokenizer | SentencePieceTokenizer
    batch_size: int
    buffer_size: int
    max_length: int | None = None
    skip: int = 0  # texts at the start of the source left out (the held-out validation texts)
    limit: int | None = None  # at most this many texts after them
    seed: int = 0

    def _tokenized(self) -> Iterator[tuple[str, list[int]]]:
        for text in stream_texts(self.spec, self.column, self.skip, self.limit):
            yield text, self.tokenizer.encode(text)[: self.max_length]

    def batches(self, epoch: int) -> Iterator[dict]:
        """This epoch's batches: {'input_ids', 'target_ids', 'lengths', 'texts'}."""
        rng = random.Random(self.seed * 1000003 + epoch)
        for group in bucketed_batches(self._tokenized(), lambda item: len(item[1]), self.batch_size,
                                      self.buffer_size, rng):
            batch = pad_batch([ids for _, ids in group])
            batch["texts"] = [text for text, _ in group]
            yield batch

    def count_batches(self) -> int:
        """Batches in one epoch, counted by reading the source once."""
        return -(-count_texts(self.spec, self.column, self.skip, self.limit) // self.batch_size)
