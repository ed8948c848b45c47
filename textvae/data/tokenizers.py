"""Decoder vocabularies: word-level (for pre-tokenized corpora such as PTB), SentencePiece trained on the
training text, and a pretrained encoder's own vocabulary (a decoder that starts from its embeddings). All reserve
the same special ids and save next to the model."""

from __future__ import annotations

import io
import json
import re
import shutil
import unicodedata
from collections import Counter
from pathlib import Path

from textvae.errors import CheckpointError, ConfigError
from textvae.registry import Registry

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
TOKENIZER_FILE = "tokenizer.json"

TOKENIZERS: Registry[type] = Registry("tokenizer")


def normalize(text: str, lowercase: bool) -> str:
    """NFC, control characters removed, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if ch in "\t\n" or unicodedata.category(ch) != "Cc")
    text = " ".join(text.split())
    return text.lower() if lowercase else text


@TOKENIZERS.register("word")
class WordTokenizer:
    """Whitespace-separated words; '<unk>' in the text (as in PTB) maps to the unknown id."""

    kind = "word"

    def __init__(self, vocab: list[str], lowercase: bool = False) -> None:
        self.vocab = vocab
        self.lowercase = lowercase
        self.index = {word: i for i, word in enumerate(vocab)}

    @classmethod
    def train(cls, texts: list[str], vocab_size: int = 0, lowercase: bool = False) -> WordTokenizer:
        counts = Counter(word for text in texts for word in normalize(text, lowercase).split())
        for special in SPECIALS:
            counts.pop(special, None)
        words = sorted(counts, key=lambda w: (-counts[w], w))
        if vocab_size:
            words = words[: max(0, vocab_size - len(SPECIALS))]
        return cls(SPECIALS + words, lowercase)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(word, UNK) for word in normalize(text, self.lowercase).split()]

    def decode(self, ids: list[int]) -> str:
        return " ".join(self.vocab[i] for i in _content(ids))

    def save(self, folder: Path) -> None:
        _write_meta(folder, {"kind": self.kind, "lowercase": self.lowercase, "vocab": self.vocab})

    @classmethod
    def load(cls, folder: Path, meta: dict) -> WordTokenizer:
        return cls(meta["vocab"], meta.get("lowercase", False))


@TOKENIZERS.register("sentencepiece")
class SentencePieceTokenizer:
    """A unigram SentencePiece model trained on the training text (the default for raw text)."""

    kind = "sentencepiece"
    model_file = "spm.model"

    def __init__(self, model_proto: bytes, lowercase: bool = False) -> None:
        import sentencepiece as spm

        self.model_proto = model_proto
        self.lowercase = lowercase
        self.processor = spm.SentencePieceProcessor(model_proto=model_proto)

    @classmethod
    def train(cls, texts: list[str], vocab_size: int = 8000, lowercase: bool = False) -> SentencePieceTokenizer:
        import sentencepiece as spm

        buffer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter([normalize(t, lowercase) for t in texts]),
            model_writer=buffer,
            vocab_size=vocab_size or 8000,
            hard_vocab_limit=False,  # small corpora get a smaller vocabulary instead of an error
            model_type="unigram",
            character_coverage=1.0,
            pad_id=PAD, bos_id=BOS, eos_id=EOS, unk_id=UNK,
            pad_piece=SPECIALS[PAD], bos_piece=SPECIALS[BOS], eos_piece=SPECIALS[EOS], unk_piece=SPECIALS[UNK],
            minloglevel=2,
            num_threads=2,
        )
        return cls(buffer.getvalue(), lowercase)

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.processor.encode(normalize(text, self.lowercase))

    def decode(self, ids: list[int]) -> str:
        return self.processor.decode(_content(ids))

    def save(self, folder: Path) -> None:
        from textvae.io import atomic_write_bytes

        atomic_write_bytes(folder / self.model_file, self.model_proto)
        _write_meta(folder, {"kind": self.kind, "lowercase": self.lowercase, "model_file": self.model_file})

    @classmethod
    def load(cls, folder: Path, meta: dict) -> SentencePieceTokenizer:
        path = folder / meta.get("model_file", cls.model_file)
        if not path.is_file():
            raise CheckpointError(f"{path} is missing: the SentencePiece model is needed to load this tokenizer")
        try:
            return cls(path.read_bytes(), meta.get("lowercase", False))
        except RuntimeError as err:
            raise CheckpointError(f"{path} is not a valid SentencePiece model: {err}") from None


# a pretrained tokenizer's decode spaces what it split: "e - mail", "2. 5", "1, 000", "c + +"
_JOINS = [(re.compile(r"(?<=\w) - (?=\w)"), "-"), (re.compile(r"(?<=\d)([.,:]) (?=\d)"), r"\1"),
          (re.compile(r"(?<=\w) \+ \+"), "++")]


@TOKENIZERS.register("pretrained")
class PretrainedTokenizer:
    """A pretrained encoder's own tokenizer (`data.tokenizer_model`: MiniLM's uncased WordPiece by default), so
    the decoder writes in the vocabulary whose embeddings it can start from (`model.decoder_init: encoder`).
    Ids are the pretrained ones reordered so that its pad / start / end / unknown tokens ([PAD], [CLS], [SEP],
    [UNK] for BERT) take PAD, BOS, EOS and UNK (`pretrained_ids` maps each id back)."""

    kind = "pretrained"
    folder = "pretrained_tokenizer"

    def __init__(self, hf_tokenizer, name: str) -> None:
        self.hf = hf_tokenizer
        self.name = name
        self.lowercase = bool(getattr(hf_tokenizer, "do_lower_case", False))
        specials = [hf_tokenizer.pad_token_id, hf_tokenizer.cls_token_id or hf_tokenizer.bos_token_id,
                    hf_tokenizer.sep_token_id or hf_tokenizer.eos_token_id, hf_tokenizer.unk_token_id]
        if None in specials or len(set(specials)) < len(specials):
            raise ConfigError(f"tokenizer '{name}' needs distinct pad, start ([CLS] or <s>), end ([SEP] or </s>) "
                              "and unknown tokens to serve a decoder")
        reserved = set(specials)
        self.pretrained_ids = specials + [i for i in range(len(hf_tokenizer)) if i not in reserved]
        self.index = {pretrained: i for i, pretrained in enumerate(self.pretrained_ids)}

    @classmethod
    def from_pretrained(cls, name: str) -> PretrainedTokenizer:
        """The tokenizer of a Hugging Face model name or folder ('minilm': the packaged all-MiniLM-L6-v2)."""
        from transformers import AutoTokenizer

        from textvae.pretrained_models import resolve_encoder_path

        try:
            return cls(AutoTokenizer.from_pretrained(resolve_encoder_path(name)), name)
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot load tokenizer '{name}': {str(err).splitlines()[0]}") from None

    @property
    def vocab_size(self) -> int:
        return len(self.pretrained_ids)

    def encode(self, text: str) -> list[int]:
        ids = self.hf(normalize(text, False), add_special_tokens=False)["input_ids"]
        return [self.index[i] for i in ids]

    def decode(self, ids: list[int]) -> str:
        text = self.hf.decode([self.pretrained_ids[i] for i in _content(ids) if i != UNK],
                              clean_up_tokenization_spaces=True)
        for pattern, joined in _JOINS:
            text = pattern.sub(joined, text)
        return text

    def save(self, folder: Path) -> None:
        """Only the tokenizer's name: its files load from their source again, like a frozen encoder's weights
        (a copy an earlier save left in `folder/pretrained_tokenizer` is removed)."""
        _write_meta(folder, {"kind": self.kind, "name": self.name})
        shutil.rmtree(Path(folder) / self.folder, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, meta: dict) -> PretrainedTokenizer:
        """The tokenizer `meta` names, from the copy of its files in the folder when one was saved there."""
        from transformers import AutoTokenizer

        path = Path(folder) / meta.get("folder", cls.folder)
        if not path.is_dir():
            return cls.from_pretrained(meta["name"])
        try:
            return cls(AutoTokenizer.from_pretrained(path), meta["name"])
        except (OSError, ValueError) as err:
            raise CheckpointError(f"{path} is not a valid tokenizer: {str(err).splitlines()[0]}") from None


def _content(ids: list[int]) -> list[int]:
    """Token ids up to the first EOS, without BOS/PAD."""
    out = []
    for i in ids:
        if i == EOS:
            break
        if i not in (PAD, BOS):
            out.append(int(i))
    return out


def _write_meta(folder: Path, meta: dict) -> None:
    from textvae.io import atomic_write_text

    atomic_write_text(Path(folder) / TOKENIZER_FILE, json.dumps(meta, ensure_ascii=False) + "\n")


def train_tokenizer(kind: str, texts: list[str], vocab_size: int, lowercase: bool, pretrained: str = "minilm"):
    """Fit the named tokenizer on training texts; the `pretrained` kind loads the tokenizer of that model
    instead."""
    factory = TOKENIZERS.get(kind)
    if factory is PretrainedTokenizer:
        return factory.from_pretrained(pretrained)
    return factory.train(texts, vocab_size=vocab_size, lowercase=lowercase)


def load_tokenizer(folder: str | Path):
    """Load whichever tokenizer was saved in `folder`."""
    path = Path(folder) / TOKENIZER_FILE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: not a saved textvae model folder")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is corrupted: {err}") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path} is corrupted: expected a JSON object, got {type(meta).__name__}")
    try:
        return TOKENIZERS.get(meta.get("kind", "?")).load(Path(folder), meta)
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"{path} is corrupted: no {err} (or a wrong type)") from None
