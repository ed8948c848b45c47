"""The texts an experiment trains and validates on, read as its data section says (a held-out fraction, pairs both
ways, a streamed sample), and those its tokenizer and lexicon are built on."""

from __future__ import annotations

from textvae.config import ExperimentConfig
from textvae.data import load_texts
from textvae.data.corpus import both_directions, load_dialogue_pairs, load_pairs, validation_start
from textvae.data.sources import with_dataset_defaults
from textvae.data.stream import split_head

Part = tuple[list[str], list[str] | None]  # (texts, their sources; None for an unconditional model)


def split_texts(config: ExperimentConfig) -> tuple[Part, Part | None]:
    """((train texts, sources), (valid texts, sources) or None); sources are None for unconditional
    models. Validation is held out from training when data.valid_fraction asks for it; with
    data.both_directions each part holds every pair both ways (split first, so no pair is in both)."""
    parts = _split(config)
    if not config.data.both_directions:
        return parts
    return tuple(part if part is None else both_directions(*part) for part in parts)


def _split(config: ExperimentConfig) -> tuple[Part, Part | None]:
    data = config.data

    def load(spec: str, limit: int | None = None) -> Part:
        spec = with_dataset_defaults(spec, data.dataset_config, data.split)
        if data.dialogue:
            sources, texts = load_dialogue_pairs(spec, config.model.context_turns)
            return texts, sources
        if data.source_column is not None:
            sources, texts = load_pairs(spec, data.source_column, data.column, limit)
            return texts, sources
        return load_texts(spec, data.column, limit=limit), None

    def cut(part: Part, start: int | None = None, stop: int | None = None) -> Part:
        texts, sources = part
        return texts[start:stop], sources[start:stop] if sources is not None else None

    if data.valid:
        return cut(load(data.train, data.max_examples), stop=data.max_examples), load(data.valid)
    # a held-out fraction is the end of the whole source: read it all; else only the examples kept
    train = load(data.train, None if data.valid_fraction else data.max_examples)
    if data.valid_fraction:
        split = validation_start(len(train[0]), data.valid_fraction)
        return cut(cut(train, stop=split), stop=data.max_examples), cut(train, start=split)
    return cut(train, stop=data.max_examples), None


def streamed_texts(config: ExperimentConfig) -> tuple[list[str], list[str] | None, int]:
    """(the texts the tokenizer is built on, validation texts or None, how many texts at the start of data.train
    are held out for validation): the first data.stream_sample texts, less the data.valid_fraction of them
    held out when there is no data.valid."""
    data = config.data
    spec = with_dataset_defaults(data.train, data.dataset_config, data.split)
    held, sample = split_head(spec, data.column, data.stream_sample, 0.0 if data.valid else data.valid_fraction)
    if data.valid:
        return sample[: data.max_examples], load_texts(with_dataset_defaults(data.valid, data.dataset_config,
                                                                             data.split), data.column), 0
    return sample[: data.max_examples], held or None, len(held)


def tokenizer_texts(config: ExperimentConfig) -> list[str]:
    """The training texts the tokenizer and the lexicon are built on: all of them, or a stream's sample."""
    return streamed_texts(config)[0] if config.data.streaming else split_texts(config)[0][0]
