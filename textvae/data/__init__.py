"""Text in: corpora, decoder tokenizers and length-bucketed batches."""

from textvae.data.batching import BucketBatchSampler, TextDataset, pad_batch
from textvae.data.corpus import iter_texts, load_texts
from textvae.data.sources import FILE_FORMATS
from textvae.data.tokenizers import BOS, EOS, PAD, UNK, load_tokenizer, train_tokenizer

__all__ = ["BOS", "EOS", "FILE_FORMATS", "PAD", "UNK", "BucketBatchSampler", "TextDataset", "iter_texts", "load_texts",
           "load_tokenizer", "pad_batch", "train_tokenizer"]
