"""Tokenized datasets, length-bucketed batches and padding."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from textvae.data.tokenizers import BOS, EOS, PAD


class TextDataset(Dataset):
    """Texts with their decoder token ids (truncated to `max_length` when given).

    `features` may hold a cached (N, H) tensor of pooled encoder features, one row per text, and
    `encoder_states` the cached token states of a partly fine-tuned encoder (an object whose
    `batch(indices)` gives the batch's `encoder_states`).
    """

    def __init__(self, texts: list[str], tokenizer, max_length: int | None = None,
                 sources: list[str] | None = None) -> None:
        self.texts = texts
        self.sources = sources  # conditional models: the source / context of each text
        self.source_features: Tensor | None = None
        ids = [tokenizer.encode(text) for text in texts]
        self.ids = [x[:max_length] for x in ids] if max_length else ids
        self.truncated = sum(len(a) != len(b) for a, b in zip(ids, self.ids))
        self.features: Tensor | None = None
        self.encoder_states = None

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index: int) -> int:
        return index

    @property
    def lengths(self) -> list[int]:
        return [len(x) + 1 for x in self.ids]  # + EOS

    def collate(self, indices: list[int]) -> dict:
        """Pad a batch: decoder inputs start with BOS, targets end with EOS (PAD elsewhere)."""
        ids = [self.ids[i] for i in indices]
        batch = pad_batch(ids)
        batch["texts"] = [self.texts[i] for i in indices]
        if self.features is not None:
            batch["features"] = self.features[indices]
        if self.encoder_states is not None:
            batch["encoder_states"] = self.encoder_states.batch(indices)
        if self.sources is not None:
            batch["source_texts"] = [self.sources[i] for i in indices]
            if self.source_features is not None:
                batch["source_features"] = self.source_features[indices]
        return batch


def pad_batch(ids: list[list[int]]) -> dict[str, Tensor]:
    """{'input_ids': BOS + ids, 'target_ids': ids + EOS, 'lengths'} as padded (B, T) tensors, T = the longest
    text + 1: a recurrence step or a transformer position costs the same on padding as on a token (widths
    rounded up to multiples of 8, for fewer distinct shapes, made 16-20% of PTB's steps padding alone)."""
    width = max(len(x) for x in ids) + 1
    inputs = torch.full((len(ids), width), PAD, dtype=torch.long)
    targets = torch.full((len(ids), width), PAD, dtype=torch.long)
    for row, seq in enumerate(ids):
        seq_t = torch.tensor(seq, dtype=torch.long)
        inputs[row, 0] = BOS
        inputs[row, 1 : len(seq) + 1] = seq_t
        targets[row, : len(seq)] = seq_t
        targets[row, len(seq)] = EOS
    lengths = torch.tensor([len(x) + 1 for x in ids], dtype=torch.long)
    return {"input_ids": inputs, "target_ids": targets, "lengths": lengths}


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar length (little padding). Shuffled pools of `pool` batches are sorted by
    length, then the batch order is shuffled; deterministic given (seed, epoch).

    `short_last` yields the one short batch last, as Accelerate's DDP sharding expects (a short batch
    in the middle would make it drop batches)."""

    def __init__(self, lengths: list[int], batch_size: int, shuffle: bool = True, seed: int = 0, pool: int = 50,
                 short_last: bool = False) -> None:
        self.lengths = lengths
        self.short_last = short_last
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool = pool
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        if not self.shuffle:
            order = sorted(range(len(self.lengths)), key=lambda i: self.lengths[i])
            yield from (order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size))
            return
        generator = torch.Generator().manual_seed(self.seed * 1000003 + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        size = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), size):
            chunk = sorted(order[start : start + size], key=lambda i: self.lengths[i])
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        shuffled = [batches[b] for b in torch.randperm(len(batches), generator=generator).tolist()]
        if self.short_last:
            shuffled.sort(key=lambda batch: len(batch) < self.batch_size)  # stable: only the short one moves
        yield from shuffled
