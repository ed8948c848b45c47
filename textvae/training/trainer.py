"""The training loop, on Hugging Face Accelerate (CPU, one GPU, DDP and bf16 with no code change).

The objective (textvae.objectives) runs the model and weighs its loss terms; this loop only steps, validates,
logs, checkpoints and stops early.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import get_scheduler

from textvae.config import ExperimentConfig
from textvae.data import BucketBatchSampler, TextDataset, load_tokenizer, train_tokenizer
from textvae.data.sources import with_dataset_defaults
from textvae.data.stream import TextStream
from textvae.errors import CheckpointError, ConfigError, TextVAEError
from textvae.fastcpu import build_kernels
from textvae.fastcpu.machine import warn_if_emulated_bf16
from textvae.io import WEIGHTS_FILE, atomic_write_text, read_model_config
from textvae.metrics import evaluate_elbo, latent_report
from textvae.models import MODELS, TextVAE
from textvae.nlg.lexicon import Lexicon
from textvae.objectives import Objective, build_objective
from textvae.training import tracking
from textvae.training.batches import EpochBatches, LoaderBatches, StreamBatches
from textvae.training.checkpoint import (
    existing_checkpoint,
    load_training_state,
    rng_state,
    save_training_state,
    set_rng_state,
)
from textvae.training.features import attach_cached_features
from textvae.training.texts import split_texts, streamed_texts

CHECKPOINT_DIR = "checkpoint"
EXPERIMENT_FILE = "experiment.yaml"


@dataclass
class TrainingRun:
    """What one `Trainer.train` call works with: the prepared model, optimizer, data and objective, and the
    progress counters saved in checkpoints."""

    model: nn.Module  # as Accelerate prepared it (wrapped for DDP)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    batches: EpochBatches
    valid_set: TextDataset | None
    objective: Objective
    total_steps: int
    steps_per_epoch: int | None  # None: a stream's epoch ends when its source does
    state: dict = field(default_factory=lambda: {"step": 0, "epoch": 0, "batch": 0, "best": math.inf,
                                                 "bad_evals": 0})
    saved_rng: dict | None = None  # a resumed run's RNG state, restored when its first batch is drawn
    progress: tqdm | None = None

    def restore_rng(self) -> None:
        """Put back a resumed run's RNG state, once."""
        if self.saved_rng is not None:
            set_rng_state(self.saved_rng)
            self.saved_rng = None


class Trainer:
    """Trains a TextVAE from an ExperimentConfig into `output` (the best model is saved there)."""

    def __init__(self, config: ExperimentConfig, output: str | Path, show_progress: bool = True) -> None:
        self.config = config
        self.output = Path(output)
        self.show_progress = show_progress
        # torchrun / `accelerate launch` on a machine without GPUs: DDP over CPU processes (gloo)
        cpu_ddp = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
        self.accelerator = Accelerator(mixed_precision=config.train.mixed_precision, cpu=cpu_ddp,
                                       **tracking.accelerator_options(config.train, self.output))
        if config.train.mixed_precision == "bf16":
            warn_if_emulated_bf16(self.accelerator.device.type, "--set train.mixed_precision=no")
        if self.output.exists() and not self.output.is_dir():
            raise TextVAEError(f"--output {self.output} exists and is not a folder")
        if not config.data.train:
            raise TextVAEError("data.train is not set: give a text file, TSV file or dataset name")
        self.model_class = MODELS.get(config.model.type)  # an unknown type fails before any work
        if config.data.streaming and self.accelerator.num_processes > 1:
            raise ConfigError("data.streaming trains in one process; drop it to train with several (DDP)")

    # ---- set-up -----------------------------------------------------------------------------
    def _tokenizer(self, texts: list[str], resume: bool):
        found = existing_checkpoint(self.output / CHECKPOINT_DIR) if resume else None
        if found is not None and (found / "tokenizer.json").is_file():
            return load_tokenizer(found)
        if self.config.train.init_from:
            return load_tokenizer(self.config.train.init_from)
        data = self.config.data
        return train_tokenizer(data.tokenizer, texts, data.vocab_size, data.lowercase, data.tokenizer_model)

    def _lexicon(self, texts: list[str]) -> Lexicon:
        """The words the decoder learns to write: those of the texts the tokenizer is built on, with the words of
        the model it starts from (train.init_from)."""
        lexicon = Lexicon.of(texts)
        start = Lexicon.load(self.config.train.init_from) if self.config.train.init_from else None
        return lexicon if start is None else lexicon.joined(start)

    # ---- main loop --------------------------------------------------------------------------
    def train(self, resume: bool = False) -> TextVAE:
        """Train (continuing from the checkpoint with `resume`) and return the best model, saved in `output`."""
        self._start_run(resume)
        run = self._prepare(resume)
        stop = run.state["step"] >= run.total_steps
        while not stop and run.state["epoch"] < self.config.train.epochs:
            stop = self._train_epoch(run)
        return self._finish(run)

    def _start_run(self, resume: bool) -> None:
        """Seed, create the output folder, start the trackers and record the experiment."""
        acc = self.accelerator
        set_seed(self.config.train.seed)
        self.output.mkdir(parents=True, exist_ok=True)
        tracking.start(acc, self.config, self.output)
        if acc.is_main_process:
            atomic_write_text(self.output / EXPERIMENT_FILE,
                              yaml.safe_dump(dataclasses.asdict(self.config), sort_keys=False))
            if not resume:  # a fresh run in a used folder starts its own log (a resumed one appends)
                (self.output / tracking.METRICS_FILE).unlink(missing_ok=True)

    def _prepare(self, resume: bool) -> TrainingRun:
        """Data, tokenizer, model, optimizer and schedules, prepared by Accelerate (and restored with `resume`)."""
        cfg = self.config
        acc = self.accelerator
        if cfg.data.streaming:
            train_texts, valid_texts, held = streamed_texts(self.config)
            train_sources, valid = None, (valid_texts, None) if valid_texts else None
        else:
            (train_texts, train_sources), valid = split_texts(self.config)
        tokenizer = self._tokenizer(train_texts, resume)
        if not cfg.data.streaming:
            train_set = TextDataset(train_texts, tokenizer, cfg.data.max_length, sources=train_sources)
            if train_set.truncated:
                warnings.warn(f"{train_set.truncated} training sentence(s) longer than data.max_length="
                              f"{cfg.data.max_length} tokens were truncated", UserWarning, stacklevel=3)
        model = self.model_class(cfg.model, tokenizer, self._lexicon(train_texts))
        if cfg.train.init_from and not resume:
            warm_start(model, Path(cfg.train.init_from))
        # validation texts are not truncated, except to what a position-limited (transformer) decoder takes
        valid_set = TextDataset(valid[0], tokenizer, model.max_tokens, sources=valid[1]) if valid else None
        if cfg.data.streaming:  # a stream's texts are encoded as they come: only validation features are cached
            attach_cached_features(model, valid_set)
            model, optimizer = acc.prepare(model, self._optimizer(model))
            stream = TextStream(with_dataset_defaults(cfg.data.train, cfg.data.dataset_config, cfg.data.split),
                                cfg.data.column, tokenizer, cfg.train.batch_size, cfg.data.shuffle_buffer,
                                cfg.data.max_length, held, cfg.data.max_examples, cfg.train.seed)
            batches = StreamBatches(stream, acc.device)
            # with train.max_steps the schedule spans those steps; without, the source is counted once
            steps_per_epoch = None if cfg.train.max_steps else stream.count_batches()
        else:
            attach_cached_features(model, train_set, valid_set)
            sampler = BucketBatchSampler(train_set.lengths, cfg.train.batch_size, shuffle=True, seed=cfg.train.seed,
                                         short_last=acc.num_processes > 1)
            loader = DataLoader(train_set, batch_sampler=sampler, collate_fn=train_set.collate)
            model, optimizer, loader = acc.prepare(model, self._optimizer(model), loader)
            batches = LoaderBatches(loader, sampler, acc)
            steps_per_epoch = len(loader)  # this process's share of the batches under DDP
        build_kernels(acc.device.type)  # before the clock starts: epoch_seconds never include a compile
        total_steps = int(min(cfg.train.max_steps or math.inf, cfg.train.epochs * (steps_per_epoch or math.inf)))
        # not prepared: Accelerate would step it once per process; the schedule counts optimizer steps
        scheduler = get_scheduler(cfg.train.lr_schedule, optimizer, cfg.train.warmup_steps, total_steps)
        run = TrainingRun(model, optimizer, scheduler, batches, valid_set,
                          build_objective(cfg.objective, cfg.model), total_steps, steps_per_epoch)
        if resume:
            run.state, run.saved_rng = self._restore(run)
        run.progress = tqdm(total=total_steps, initial=run.state["step"], desc="train", dynamic_ncols=True,
                            disable=not (self.show_progress and acc.is_main_process))
        return run

    def _train_epoch(self, run: TrainingRun) -> bool:
        """Train to the end of the epoch (or until a stop); say whether training stops."""
        state = run.state
        batches = run.batches.epoch(state["epoch"], state["batch"])
        epoch_start = time.perf_counter()
        stop = ended = False
        for batch in batches:
            run.restore_rng()  # only now: creating the data iterator above draws from the global RNG
            stop = self._after_step(run, self._step(run, batch))
            if stop:
                break
        else:  # the batches ran out: the epoch ended even if its length was counted differently
            ended = True
        run.restore_rng()  # resumed at an epoch's end: no batch was left to restore it
        if ended or state["batch"] >= (run.steps_per_epoch or math.inf):  # a full epoch ended
            self._log({"step": state["step"], "epoch": state["epoch"],
                       "epoch_seconds": time.perf_counter() - epoch_start})
            state["epoch"] += 1
            state["batch"] = 0
            if not self.config.train.eval_every:
                stop = self._validate(run) or stop
        return stop

    def _step(self, run: TrainingRun, batch: dict) -> dict[str, float]:
        """One optimizer step on the objective's loss; its figures for the log."""
        step = run.state["step"]
        run.model.train()
        terms = run.objective(run.model, batch, step, self.accelerator.autocast)
        bad = (~torch.isfinite(terms.loss.detach())).float()
        if self.accelerator.num_processes > 1:  # every process stops together, none waits in a collective
            bad = self.accelerator.reduce(bad, "sum")
        if bad:
            raise TextVAEError(f"non-finite loss ({terms.loss.item()}) at step {step}; the last good model and "
                               f"checkpoint are kept in {self.output} (try a lower train.lr or mixed_precision: no)")
        run.optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(terms.loss)
        if self.config.train.grad_clip > 0:
            self.accelerator.clip_grad_norm_(run.model.parameters(), self.config.train.grad_clip)
        run.optimizer.step()
        run.scheduler.step()
        return {"loss": terms.loss.item(), "rec": terms.reconstruction.mean().item(), "kl": terms.kl.mean().item(),
                "beta": terms.beta, "lr": run.scheduler.get_last_lr()[0],
                **{name: value.mean().item() for name, value in terms.extra.items()}}

    def _after_step(self, run: TrainingRun, logs: dict[str, float]) -> bool:
        """Count the step, then log, validate and checkpoint when they are due; say whether training stops."""
        state, train = run.state, self.config.train
        state["step"] += 1
        state["batch"] += 1
        run.progress.update(1)
        run.progress.set_postfix(loss=f"{logs['loss']:.2f}", kl=f"{logs['kl']:.2f}", beta=f"{logs['beta']:.3f}")
        if state["step"] % train.log_every == 0:
            self._log({"step": state["step"], "epoch": state["epoch"], **logs})
        stop = bool(train.eval_every) and state["step"] % train.eval_every == 0 and self._validate(run)
        if state["step"] % train.save_every == 0:
            self._checkpoint(run)
        return stop or state["step"] >= run.total_steps

    def _finish(self, run: TrainingRun) -> TextVAE:
        """Save the last model when validation kept none, the final checkpoint and the curves; reload the best."""
        acc = self.accelerator
        run.progress.close()
        if run.valid_set is None or run.state["best"] == math.inf:
            self._save_model(run.model)  # no validation: the last weights are the model
        self._checkpoint(run)
        if acc.is_main_process:  # (imported here: the curves module also runs as `python -m`)
            from textvae.training.curves import plot_training_curves

            plot_training_curves(self.output)
        tracking.finish(acc)
        acc.wait_for_everyone()
        return TextVAE.from_pretrained(self.output, device=acc.device)

    def _validate(self, run: TrainingRun) -> bool:
        """Evaluate, keep the best model, and say whether early stopping triggers."""
        if run.valid_set is None:
            return False
        state = run.state
        start = time.perf_counter()
        unwrapped = self.accelerator.unwrap_model(run.model)
        result = evaluate_elbo(unwrapped, run.valid_set, self.config.train.eval_batch_size,
                               autocast=self.accelerator.autocast)
        if unwrapped.variational and not unwrapped.conditional:  # cheap (encoder only); shows collapse early
            latent = latent_report(unwrapped, run.valid_set, self.config.train.eval_batch_size)
            result.update(mi=latent["mi"], au=latent["au"])
        self._log({"step": state["step"], "epoch": state["epoch"], "eval_seconds": time.perf_counter() - start,
                   **{f"valid_{k}": v for k, v in result.items()}})
        if result["neg_elbo"] < state["best"]:
            state["best"], state["bad_evals"] = result["neg_elbo"], 0
            self._save_model(run.model)
        else:
            state["bad_evals"] += 1
        patience = self.config.train.patience
        return bool(patience) and state["bad_evals"] >= patience

    def _optimizer(self, model: TextVAE) -> torch.optim.Optimizer:
        train = self.config.train
        return torch.optim.AdamW(parameter_groups(model, train.encoder_lr), lr=train.lr,
                                 weight_decay=train.weight_decay, fused=True)

    # ---- files ------------------------------------------------------------------------------
    def _log(self, record: dict) -> None:
        if self.accelerator.is_main_process:
            with (self.output / tracking.METRICS_FILE).open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"time": time.time(), **record}) + "\n")
        tracking.log(self.accelerator, record)

    def _save_model(self, model) -> None:
        if self.accelerator.is_main_process:
            self.accelerator.unwrap_model(model).save_pretrained(self.output)

    def _checkpoint(self, run: TrainingRun) -> None:
        self.accelerator.wait_for_everyone()
        unwrapped = self.accelerator.unwrap_model(run.model)
        folder = self.output / CHECKPOINT_DIR
        bad = next((name for name, p in unwrapped.named_parameters() if not torch.isfinite(p).all()), None)
        if bad is not None:  # never overwrite the last good checkpoint with broken weights
            raise TextVAEError(f"non-finite weights ({bad}) at step {run.state['step']}; the last good checkpoint is "
                               f"kept in {folder} (try a lower train.lr or mixed_precision: no)")
        if not self.accelerator.is_main_process:
            return
        trainer_state = {"progress": dict(run.state), "experiment": dataclasses.asdict(self.config),
                         "optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
                         "rng": rng_state(), "model": unwrapped.state_dict()}
        save_training_state(folder, trainer_state, extra=unwrapped.tokenizer.save)  # tokenizer inside the swap

    def _restore(self, run: TrainingRun) -> tuple[dict, dict]:
        """Load weights, optimizer and schedule; return the progress counters and the RNG state."""
        saved = load_training_state(self.output / CHECKPOINT_DIR)
        try:
            self.accelerator.unwrap_model(run.model).load_state_dict(saved["model"])
            run.optimizer.load_state_dict(saved["optimizer"])
            run.scheduler.load_state_dict(saved["scheduler"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(f"{self.output / CHECKPOINT_DIR} does not match this config (was the model or "
                                  f"optimizer changed since it was saved?): {str(err).splitlines()[0]}") from None
        self._warn_changed(saved.get("experiment"))
        return saved["progress"], saved["rng"]

    def _warn_changed(self, saved: dict | None) -> None:
        """Warn when settings that shape the continuation differ from the checkpoint's run."""
        if not isinstance(saved, dict):
            return
        now = dataclasses.asdict(self.config)
        free = {"train.max_steps", "train.epochs", "train.patience", "train.eval_every", "train.log_every",
                "train.save_every", "data.train", "data.valid", "data.test"}
        changed = [f"{section}.{key}: {saved[section].get(key)!r} -> {value!r}"
                   for section, values in now.items() if isinstance(saved.get(section), dict)
                   for key, value in values.items()
                   if f"{section}.{key}" not in free and saved[section].get(key, value) != value]
        if changed:
            warnings.warn(f"resuming with changed settings ({'; '.join(changed[:3])}): the result will differ "
                          f"from an uninterrupted run", UserWarning, stacklevel=2)


def warm_start(model: TextVAE, folder: Path) -> None:
    """Load a saved model's weights into a freshly built one of the same type and shapes."""
    model_type, _ = read_model_config(folder)
    if model_type != model.model_type:
        raise ConfigError(f"train.init_from {folder} holds a '{model_type}' model; this config builds a "
                          f"'{model.model_type}'")
    model.load_weights(folder / WEIGHTS_FILE, warm_start=True)


def parameter_groups(model: TextVAE, encoder_lr: float | None) -> list[dict]:
    """The trained parameters; with `encoder_lr`, a pretrained encoder's own layers get that rate."""
    trained = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if encoder_lr is None:
        return [{"params": [p for _, p in trained]}]
    encoder = [p for name, p in trained if name.startswith("encoder.model.")]
    rest = [p for name, p in trained if not name.startswith("encoder.model.")]
    return [group for group in ({"params": rest}, {"params": encoder, "lr": encoder_lr}) if group["params"]]


def train(config: ExperimentConfig, output: str | Path, resume: bool = False, show_progress: bool = True) -> TextVAE:
    """Train a model as `config` says and return the best one (also saved in `output`)."""
    return Trainer(config, output, show_progress).train(resume=resume)
