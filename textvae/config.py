"""Experiment configs: dataclasses that load from YAML, take `--set key=value` overrides,
validate with clear errors and round-trip through JSON."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from textvae.errors import ConfigError, require
from textvae.registry import closest

C = TypeVar("C")


def _check_type(value: Any, annotation: Any, where: str) -> Any:
    """Coerce `value` to a field's annotated type (int -> float allowed) or raise ConfigError."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(value, option, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0])
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads '3e-4' as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif origin is dict:
        if isinstance(value, dict):
            return value
    else:
        return value
    name = getattr(annotation, "__name__", str(annotation))
    raise ConfigError(f"{where} must be {name}, got {value!r} ({type(value).__name__})")


def from_dict(cls: type[C], data: dict[str, Any], prefix: str = "") -> C:
    """Build dataclass `cls` from a nested dict, rejecting unknown keys with a suggestion."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"unknown config key '{prefix}{key}'{closest(str(key), names)}")
        annotation = hints[key]
        if dataclasses.is_dataclass(annotation):
            kwargs[key] = from_dict(annotation, value, f"{prefix}{key}.")
        else:
            kwargs[key] = _check_type(value, annotation, f"{prefix}{key}")
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if validate:
        validate()
    return obj


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


@dataclass
class DataConfig:
    """Where the text comes from and how the decoder tokenizes it."""

    train: str | None = None
    valid: str | None = None
    test: str | None = None
    column: int | str = 0  # the text column: an index (TSV, CSV, JSON, Parquet, datasets) or a name (all but TSV)
    dataset_config: str | None = None  # a Hugging Face dataset's config, for sources that name none (NAME:CONFIG:SPLIT)
    split: str | None = None  # a Hugging Face dataset's split, for sources that name none (default: train)
    tokenizer: str = "sentencepiece"  # word | sentencepiece | pretrained (the vocabulary of tokenizer_model)
    tokenizer_model: str = "minilm"  # tokenizer: pretrained: a Hugging Face model name or folder ('minilm': packaged)
    vocab_size: int = 8000  # sentencepiece pieces, or the most frequent words kept (0 = all)
    lowercase: bool = False
    max_length: int = 64  # training sentences are truncated to this many tokens (EOS excluded)
    max_examples: int | None = None  # keep only the first N training examples
    valid_fraction: float = 0.0  # with no data.valid: hold out this last fraction of the training texts
    source_column: int | str | None = None  # conditional models: the column holding the source / context
    dialogue: bool = False  # conditional models: lines are dialogues ('__eou__'), pairs = consecutive turns
    both_directions: bool = False  # pairs (source_column): also train on each pair reversed (paraphrase is symmetric)
    streaming: bool = False  # read data.train as a stream, one pass per epoch, never whole (unpaired texts only)
    stream_sample: int = 100000  # streaming: the first N texts build the tokenizer (valid_fraction of them held out)
    shuffle_buffer: int = 20000  # streaming: training texts held at once; batches are drawn from them

    def validate(self) -> None:
        require(0 <= self.valid_fraction < 1, f"data.valid_fraction must be in [0, 1), got {self.valid_fraction}")
        require(self.max_length > 0, f"data.max_length must be > 0, got {self.max_length}")
        require(self.vocab_size >= 0, f"data.vocab_size must be >= 0, got {self.vocab_size}")
        require(self.max_examples is None or self.max_examples > 0, "data.max_examples must be > 0")
        require(not isinstance(self.column, int) or self.column >= 0, f"data.column must be >= 0, got {self.column}")
        require(not self.both_directions or self.source_column is not None,
                 "data.both_directions needs pairs: set data.source_column")
        require(self.stream_sample > 0, f"data.stream_sample must be > 0, got {self.stream_sample}")
        require(self.shuffle_buffer > 0, f"data.shuffle_buffer must be > 0, got {self.shuffle_buffer}")
        require(not self.streaming or (self.source_column is None and not self.dialogue),
                 "data.streaming reads unpaired texts only: paired data (data.source_column, data.dialogue) "
                 "trains in memory (data.streaming: false)")
        for key in ("dataset_config", "split"):
            value = getattr(self, key)
            require(value is None or (value and ":" not in value), f"data.{key} must be one non-empty name without ':', "
                     f"got {value!r}")


@dataclass
class ModelConfig:
    """The architecture of a TextVAE: saved as config.json next to the weights."""

    type: str = "text_vae"  # text_vae | conditional_vae (source/context -> target, e.g. paraphrase, dialogue)
    prior: str = "standard"  # conditional_vae: standard N(0, I) or learned p(z | source)
    condition_dim: int = 256  # conditional_vae: size of the source vector fed to the decoder
    source_attention: bool = False  # conditional_vae: the decoder also attends over the source's tokens
    copy: bool = False  # with source_attention: the decoder can also copy source tokens (pointer-generator)
    control: bool = False  # conditional_vae: prior and decoder also read [similarity, novelty] of target to source
    control_similarity: float = 0.9  # with control: the sentence similarity to the source that generation asks for
    control_novelty: float = 0.3  # with control: the share of tokens not in the source that generation asks for
    context_turns: int = 1  # dialogue (data.dialogue): the previous turns a response is conditioned on
    encoder: str = "minilm"  # minilm | gru | none (decoder-only LM) | any HF encoder name or folder
    encoder_trainable_layers: int = 0  # pretrained encoder: 0 frozen, k = top k layers, -1 = all
    encoder_max_tokens: int = 128
    encoder_pooling: str = "mean"  # pretrained encoder: poolings joined by '+' (mean, max, cls, embeddings)
    encoder_bidirectional: bool = True  # gru encoder: both directions; false: forward only (Bowman et al.'s reference)
    share_embeddings: bool = False  # gru encoder reads the decoder's input embedding table (one table, as in the reference)
    posterior_hidden: int = 0  # 0: linear heads for mu/logvar; >0: one hidden layer of this size
    decoder: str = "gru"  # gru | transformer
    decoder_init: str = "random"  # random | encoder: a transformer decoder starts from the pretrained encoder's layers
    freeze_decoder_embeddings: bool = False  # decoder_init: encoder: the word table (tied output) stays the encoder's, not saved
    decoder_table_rank: int = 0  # decoder_init: encoder: >0 saves the word table as the encoder's + a rank-R difference
    latent_dim: int = 32
    variational: bool = True  # false: plain autoencoder (z = mu, no sampling, no KL)
    embed_dim: int = 256
    hidden_dim: int = 512  # GRU state size (decoder and GRU encoder)
    num_layers: int = 1  # GRU layers / transformer blocks
    num_heads: int = 4
    ff_dim: int = 1024
    memory_tokens: int = 1  # transformer: z becomes this many cross-attention memory tokens
    max_positions: int = 256
    max_length: int = 64  # generation stops after this many tokens
    dropout: float = 0.1
    tie_embeddings: bool = False  # output layer shares the input embedding (GRU: via a hidden -> embed projection)
    logvar_clamp: float = 10.0
    bow_weight: float = 0.0  # > 0: a linear head predicts the text's bag of tokens from z, this weight in the loss
    paraphrase_scale: float = 1.0  # the default S of paraphrase/generate: z = mu + S * sigma * eps
    reply_top_p: float | None = None  # respond()'s default decoding of each z: greedy (None) or nucleus sampling
    paraphrase_oversample: int = 3  # paraphrase(): latents drawn per paraphrase asked, before deduplication and ranking
    paraphrase_beam: int = 0  # paraphrase(): each latent decoded greedily (0) or by beam search of this width
    rerank_overlap: float = 0.0  # paraphrase ranking: similarity - this * sentence-BLEU(candidate, input) / 100 ...
    rerank_likelihood: float = 0.0  # ... - this * the candidate's per-token NLL given the input (`candidate_nll`) ...
    rerank_recovery: float = 0.0  # ... - this * the input's per-token NLL given the candidate (`source_nll`) ...
    rerank_brevity: float = 0.0  # ... - this * how much shorter than the input the candidate is (1 - words ratio, >= 0)
    refine_steps: int = 0  # text_vae: Adam steps on z from mu towards a z decoded back as the input (models/refine.py)
    refine_lr: float = 0.1  # ... their learning rate
    refine_momentum: float = 0.9  # ... Adam's beta1 (less momentum: fewer steps overshoot)
    refine_anchor: float = 0.0  # ... weight of the pull towards the encoder's posterior (-log q(z|x))
    refine_early_stop: bool = False  # ... a text stops once the greedy decode of its z is the text
    paraphrase_center: float = 1.0  # samples are centered this far from the encoder's mean (0) to the refined one (1)
    clean_up_tokenization_spaces: bool = False  # decoded text loses the space before punctuation ("sorry , I" -> "sorry, I")
    truecase: bool = False  # decoded text gets each word's commonest casing from the model's lexicon ("i" -> "I")
    vocab_size: int = 0  # set from the tokenizer when the model is built

    def validate(self) -> None:
        require(self.latent_dim > 0, f"model.latent_dim must be > 0, got {self.latent_dim}")
        for name in ("embed_dim", "hidden_dim", "num_layers", "num_heads", "ff_dim", "memory_tokens",
                     "max_positions", "max_length", "encoder_max_tokens"):
            value = getattr(self, name)
            require(value > 0, f"model.{name} must be > 0, got {value}")
        require(self.encoder_trainable_layers >= -1, "model.encoder_trainable_layers must be >= -1")
        from textvae.nlu.pretrained import pooling_names

        pooling_names(self.encoder_pooling)
        require(self.posterior_hidden >= 0, "model.posterior_hidden must be >= 0")
        require(0 <= self.dropout < 1, f"model.dropout must be in [0, 1), got {self.dropout}")
        require(self.logvar_clamp > 0, "model.logvar_clamp must be > 0")
        require(self.bow_weight >= 0, f"model.bow_weight must be >= 0, got {self.bow_weight}")
        require(self.paraphrase_scale >= 0, f"model.paraphrase_scale must be >= 0, got {self.paraphrase_scale}")
        require(self.reply_top_p is None or 0 < self.reply_top_p <= 1,
                f"model.reply_top_p must be empty (greedy) or in (0, 1], got {self.reply_top_p}")
        require(self.paraphrase_oversample > 0, f"model.paraphrase_oversample must be > 0, got {self.paraphrase_oversample}")
        require(self.paraphrase_beam >= 0, f"model.paraphrase_beam must be >= 0 (0: greedy), got {self.paraphrase_beam}")
        for name in ("rerank_overlap", "rerank_likelihood", "rerank_recovery", "rerank_brevity"):
            require(getattr(self, name) >= 0, f"model.{name} must be >= 0, got {getattr(self, name)}")
        require(self.refine_steps >= 0, f"model.refine_steps must be >= 0, got {self.refine_steps}")
        require(self.refine_lr > 0, f"model.refine_lr must be > 0, got {self.refine_lr}")
        require(0 <= self.refine_momentum < 1, f"model.refine_momentum must be in [0, 1), got {self.refine_momentum}")
        require(self.refine_anchor >= 0, f"model.refine_anchor must be >= 0, got {self.refine_anchor}")
        require(0 <= self.paraphrase_center <= 1, f"model.paraphrase_center must be in [0, 1], got {self.paraphrase_center}")
        require(not self.refine_steps or (self.type == "text_vae" and self.has_latent),
                "model.refine_steps needs model.type: text_vae with a latent (an encoder)")
        require(self.vocab_size >= 0, "model.vocab_size must be >= 0")
        require(self.prior in ("standard", "learned"), f"model.prior must be standard or learned, got '{self.prior}'")
        require(self.condition_dim > 0, "model.condition_dim must be > 0")
        require(self.context_turns > 0, f"model.context_turns must be > 0, got {self.context_turns}")
        require(not self.source_attention or self.type == "conditional_vae",
                "model.source_attention needs model.type: conditional_vae")
        require(not self.copy or self.source_attention, "model.copy needs model.source_attention: true")
        require(not self.control or self.type == "conditional_vae", "model.control needs model.type: conditional_vae")
        require(-1 <= self.control_similarity <= 1,
                f"model.control_similarity must be in [-1, 1], got {self.control_similarity}")
        require(0 <= self.control_novelty <= 1, f"model.control_novelty must be in [0, 1], got {self.control_novelty}")
        require(self.decoder_init in ("random", "encoder"),
                f"model.decoder_init must be random or encoder, got '{self.decoder_init}'")
        require(self.decoder_init == "random" or (self.decoder == "transformer" and self.encoder not in ("gru", "none")),
                "model.decoder_init: encoder needs model.decoder: transformer and a pretrained model.encoder")
        require(not self.freeze_decoder_embeddings or self.decoder_init == "encoder",
                "model.freeze_decoder_embeddings needs model.decoder_init: encoder")
        require(self.decoder_table_rank >= 0, f"model.decoder_table_rank must be >= 0, got {self.decoder_table_rank}")
        require(not self.decoder_table_rank or (self.decoder_init == "encoder" and not self.freeze_decoder_embeddings),
                "model.decoder_table_rank needs model.decoder_init: encoder and a trained table "
                "(freeze_decoder_embeddings: false)")
        require(self.encoder_bidirectional or self.encoder == "gru", "model.encoder_bidirectional: false needs model.encoder: gru")
        require(not self.share_embeddings or (self.encoder == "gru" and self.type == "text_vae"),
                 "model.share_embeddings needs model.encoder: gru and model.type: text_vae")

    @property
    def has_latent(self) -> bool:
        return self.encoder != "none"


@dataclass
class ObjectiveConfig:
    """The training objective, its KL weighting and the anti-collapse kit."""

    type: str = "elbo"  # a registered objective (textvae.objectives.OBJECTIVES)
    beta_schedule: str = "logistic"  # constant | linear | logistic | cyclical
    beta: float = 1.0  # the final (maximum) KL weight
    anneal_steps: int = 10000  # linear: steps from 0 to beta
    logistic_k: float = 0.0025
    logistic_x0: int = 2500
    cycle_steps: int = 10000  # cyclical: length of one cycle
    cycle_zero: float = 0.0  # cyclical: fraction of each cycle held at beta = 0
    cycle_rise: float = 0.5  # cyclical: fraction of each cycle spent rising to beta
    word_dropout: float = 0.25
    free_bits: float = 0.0  # per-dimension KL floor in nats
    label_smoothing: float = 0.0  # ε: train the reconstruction against (1 - ε) the text's tokens + ε uniform

    def validate(self) -> None:
        from textvae.objectives import BETA_SCHEDULES, OBJECTIVES

        OBJECTIVES.get(self.type)
        BETA_SCHEDULES.get(self.beta_schedule)
        require(self.beta >= 0, f"objective.beta must be >= 0, got {self.beta}")
        require(0 <= self.word_dropout <= 1, f"objective.word_dropout must be in [0, 1], got {self.word_dropout}")
        require(self.free_bits >= 0, f"objective.free_bits must be >= 0, got {self.free_bits}")
        require(0 <= self.label_smoothing < 1, f"objective.label_smoothing must be in [0, 1), got {self.label_smoothing}")
        require(self.anneal_steps > 0 and self.cycle_steps > 0, "objective anneal/cycle steps must be > 0")
        require(0 <= self.cycle_zero < 1 and 0 < self.cycle_rise <= 1, "objective cycle fractions must be in [0, 1]")


@dataclass
class TrainConfig:
    """The optimisation loop."""

    epochs: int = 10
    max_steps: int | None = None  # stop after this many optimizer steps (overrides epochs)
    batch_size: int = 32
    eval_batch_size: int = 128
    lr: float = 1e-3
    encoder_lr: float | None = None  # the trained layers of a pretrained encoder (None: train.lr)
    init_from: str | None = None  # start from a saved model's weights and tokenizer (a model folder)
    weight_decay: float = 0.0
    lr_schedule: str = "constant"  # any transformers.get_scheduler name: constant, linear, cosine, ...
    warmup_steps: int = 0
    grad_clip: float = 5.0
    seed: int = 0
    patience: int = 3  # early stopping: epochs without validation improvement (0 = off)
    eval_every: int | None = None  # validate every N steps (default: each epoch)
    save_every: int = 500  # training-state checkpoint every N steps
    log_every: int = 50
    mixed_precision: str = "no"  # no | bf16 | fp16 (fp16 on GPU only)
    report_to: str = "none"  # experiment trackers, comma-separated: none, all, tensorboard, wandb, mlflow, ...

    @property
    def trackers(self) -> list[str]:
        """train.report_to as a list of Accelerate tracker names ([] for none)."""
        return [] if self.report_to == "none" else [name.strip() for name in self.report_to.split(",")]

    def validate(self) -> None:
        require(self.epochs > 0, f"train.epochs must be > 0, got {self.epochs}")
        require(self.max_steps is None or self.max_steps > 0, "train.max_steps must be > 0")
        require(self.batch_size > 0 and self.eval_batch_size > 0, "train.batch_size must be > 0")
        require(self.lr > 0, f"train.lr must be > 0, got {self.lr}")
        require(self.encoder_lr is None or self.encoder_lr > 0, f"train.encoder_lr must be > 0, got {self.encoder_lr}")
        require(self.grad_clip >= 0, "train.grad_clip must be >= 0")
        require(self.patience >= 0, "train.patience must be >= 0")
        require(self.save_every > 0 and self.log_every > 0, "train.save_every/log_every must be > 0")
        require(self.eval_every is None or self.eval_every > 0, "train.eval_every must be > 0")
        require(self.mixed_precision in ("no", "bf16", "fp16"), "train.mixed_precision must be no, bf16 or fp16")
        from accelerate.utils import LoggerType

        known = [tracker.value for tracker in LoggerType]
        for name in self.trackers:
            require(name in known, f"unknown train.report_to tracker '{name}'{closest(name, known)}; choose none or "
                     f"any of: {', '.join(known)}")
        from transformers import SchedulerType

        names = [s.value for s in SchedulerType]
        require(self.lr_schedule in names, f"unknown train.lr_schedule '{self.lr_schedule}'"
                 f"{closest(self.lr_schedule, names)}; choose one of: {', '.join(names)}")


@dataclass
class ExperimentConfig:
    """Everything `textvae train` needs: data, model, objective, train."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> None:
        """Checks across sections. model.type is checked against the model registry by the trainer: the models
        read their ModelConfig from this module, so it does not import them."""
        from textvae.data.tokenizers import TOKENIZERS
        from textvae.nlg import DECODERS

        TOKENIZERS.get(self.data.tokenizer)
        DECODERS.get(self.model.decoder)
        if self.model.decoder == "transformer":  # BOS + tokens must fit the positions
            limit = self.model.max_positions - 1
            require(self.data.max_length <= limit, f"data.max_length {self.data.max_length} is too long for "
                     f"model.max_positions={self.model.max_positions} (at most {limit})")
        require(not self.data.streaming or self.data.shuffle_buffer >= self.train.batch_size,
                 f"data.shuffle_buffer ({self.data.shuffle_buffer}) must hold at least one batch "
                 f"(train.batch_size={self.train.batch_size})")
        require(self.model.decoder_init == "random" or (
                self.data.tokenizer == "pretrained" and self.data.tokenizer_model == self.model.encoder),
                "model.decoder_init: encoder needs the encoder's vocabulary: data.tokenizer: pretrained with "
                "data.tokenizer_model equal to model.encoder")
        conditional = self.model.type == "conditional_vae"
        paired = self.data.source_column is not None or self.data.dialogue
        if conditional != paired:
            raise ConfigError("model.type conditional_vae needs paired data (data.source_column or data.dialogue), "
                              "and paired data needs model.type: conditional_vae")


def parse_override(item: str) -> tuple[list[str], Any]:
    """'train.lr=3e-4' -> (['train', 'lr'], 0.0003); values are parsed as YAML scalars."""
    if "=" not in item:
        raise ConfigError(f"--set expects key=value, got '{item}'")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {key}: cannot parse value '{raw}': {err}") from None
    return key.strip().split("."), value


def load_experiment(path: str | Path | None, overrides: list[str] = ()) -> ExperimentConfig:
    """Read a YAML experiment config (relative data paths resolve against the YAML's folder),
    apply `key=value` overrides, validate."""
    data: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise ConfigError(f"cannot parse config {path}: {str(err).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config {path} must be a mapping of sections (data, model, objective, train)")
        base = path.resolve().parent
    data = resolve_relative_paths(data, base)
    for item in overrides:
        keys, value = parse_override(item)
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item}: '{key}' is not a section")
        node[keys[-1]] = value
    return from_dict(ExperimentConfig, data)


RELATIVE_PATHS = (("data", "train"), ("data", "valid"), ("data", "test"), ("train", "init_from"))


def resolve_relative_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make data.train/valid/test and train.init_from relative to the config file when they name existing
    files or folders there."""
    data = dict(data)
    for section_name, key in RELATIVE_PATHS:
        section = data.get(section_name)
        if not isinstance(section, dict):
            continue
        value = section.get(key)
        if isinstance(value, str) and not Path(value).is_absolute() and (base / value).exists():
            data[section_name] = {**section, key: str((base / value).resolve())}
    return data
