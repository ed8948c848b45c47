"""Where a run's training batches come from, epoch by epoch: a prepared DataLoader over texts held in memory,
or a TextStream read once per epoch."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Protocol

import torch
from accelerate import Accelerator
from accelerate.utils import send_to_device
from torch.utils.data import DataLoader

from textvae.data import BucketBatchSampler
from textvae.data.stream import TextStream


class EpochBatches(Protocol):
    def epoch(self, epoch: int, start: int) -> Iterable[dict]:
        """The batches of `epoch` from its batch number `start` on, on the training device."""


class LoaderBatches:
    """Batches of a DataLoader (prepared by Accelerate) over a BucketBatchSampler."""

    def __init__(self, loader: DataLoader, sampler: BucketBatchSampler, accelerator: Accelerator) -> None:
        self.loader, self.sampler, self.accelerator = loader, sampler, accelerator

    def epoch(self, epoch: int, start: int) -> Iterable[dict]:
        self.sampler.set_epoch(epoch)
        loader = self.accelerator.skip_first_batches(self.loader, start) if start else self.loader
        if hasattr(loader, "set_epoch"):  # Accelerate re-sets the epoch from its own counter, which a
            loader.set_epoch(epoch)  # resumed run's loader would have wrong
        return loader


class StreamBatches:
    """Batches of a TextStream, moved to `device`; a resumed epoch reads past the batches it already trained on."""

    def __init__(self, stream: TextStream, device: torch.device) -> None:
        self.stream, self.device = stream, device

    def epoch(self, epoch: int, start: int) -> Iterator[dict]:
        return (send_to_device(batch, self.device) for batch in itertools.islice(self.stream.batches(epoch), start, None))
