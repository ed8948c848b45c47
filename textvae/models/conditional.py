"""Conditional text VAE: source / context c -> target x (supervised paraphrase, dialogue responses).

Recognition network q(z | x, c), prior p(z | c) (learned, as in Zhao et al. 2017) or N(0, I) (as in
Gupta et al. 2018), and a decoder fed [z; condition(c)], so z carries the variation the source does
not determine. The NLU encoder reads both c and x. With `source_attention: true` a bidirectional GRU
also reads c's tokens and the decoder attends over them (exact words, names and numbers survive).
With `variational: false` z is always 0: a deterministic seq2seq of the same size, the baseline the
CVAE is compared with.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn

from textvae.config import ModelConfig
from textvae.data.tokenizers import PAD, UNK
from textvae.errors import TextVAEError, require_count
from textvae.eval_mode import evaluating
from textvae.latent import DiagonalGaussian
from textvae.models.control import CONTROL_DIM, pair_control, requested_control, require_control
from textvae.models.registry import MODELS
from textvae.models.text_vae import TextVAE, TextVAEOutput, bag_of_words_head, sized_config, start_decoder
from textvae.models.token_nll import per_example, per_example_or_none
from textvae.nlg import build_decoder
from textvae.nlg.copy import copy_probability, mixture_log_prob
from textvae.nlg.lexicon import Lexicon
from textvae.nlu import PosteriorHead, build_encoder
from textvae.nlu.gru import GRUEncoder
from textvae.objectives import drop_decoder_inputs


@MODELS.register("conditional_vae")
class ConditionalTextVAE(TextVAE):
    model_type = "conditional_vae"
    conditional = True

    def __init__(self, config: ModelConfig, tokenizer, lexicon: Lexicon | None = None) -> None:
        nn.Module.__init__(self)
        self.config = sized_config(config, tokenizer)
        self.tokenizer = tokenizer
        self.lexicon = lexicon
        self.encoder = build_encoder(self.config)
        hidden = self.encoder.output_dim
        self.control_dim = CONTROL_DIM if config.control else 0
        self.posterior_head = PosteriorHead(2 * hidden, config.latent_dim, config.posterior_hidden, config.logvar_clamp)
        self.prior_head = (PosteriorHead(hidden + self.control_dim, config.latent_dim, config.posterior_hidden,
                                         config.logvar_clamp) if config.prior == "learned" else None)
        self.condition_proj = nn.Sequential(nn.Linear(hidden, config.condition_dim), nn.Tanh())
        self.decoder = build_decoder(self.config, config.latent_dim + config.condition_dim + self.control_dim)
        self.source_tokens = (GRUEncoder(self.config.vocab_size, self.config.embed_dim, config.hidden_dim // 2)
                              if config.source_attention else None)
        if self.source_tokens is not None and self.config.decoder_init == "encoder":  # the pretrained table, shared
            self.source_tokens.embedding = self.decoder.embedding
        self.bow_head = bag_of_words_head(self.config, config.latent_dim)
        start_decoder(self)

    # ---- pieces -----------------------------------------------------------------------------
    def source_features(self, batch: dict) -> Tensor:
        if "source_texts" not in batch:
            raise TextVAEError("a conditional model needs the source / context of each example")
        if "source_features" in batch:  # cached features of a frozen pretrained encoder
            return batch["source_features"].float()
        return self.encoder(self.make_batch(batch["source_texts"])).float()

    def source_memory(self, sources: list[str]) -> dict[str, Tensor] | None:
        """The sources' token states for the decoder to attend over (None without source attention)."""
        if self.source_tokens is None:
            return None
        batch = self.make_batch(sources)
        return {"memory": self.source_tokens.token_states(batch), "memory_mask": batch["target_ids"] != PAD,
                "memory_ids": batch["target_ids"]}

    def reconstruction_terms(self, batch: dict, z: Tensor | None, input_ids: Tensor | None = None,
                             memory: dict[str, Tensor] | None = None,
                             uniform: bool = False) -> tuple[Tensor, Tensor | None]:
        """-log p(x | z, c) per example (B,), and with `uniform` the label-smoothing term; a copying decoder
        (`model.copy`) mixes the output layer's distribution with copying the source's tokens (textvae.nlg.copy),
        and its label-smoothing term smooths the output layer's distribution."""
        if not self.config.copy:
            return super().reconstruction_terms(batch, z, input_ids, memory, uniform)
        inputs = batch["input_ids"] if input_ids is None else input_ids
        targets = batch["target_ids"]
        hidden, gate, weights = self.decoder.forward_with_copy(inputs, z, memory)
        vocab_nll, position, smoothing = self._real_token_terms(hidden, targets, uniform)
        copied = copy_probability(weights, memory["memory_ids"], targets).flatten()[position]
        nll = -mixture_log_prob(gate.flatten()[position], -vocab_nll, copied)
        return per_example(nll, position, targets.shape), per_example_or_none(smoothing, position, targets.shape)

    def control(self, batch: dict, h_target: Tensor, h_source: Tensor,
                memory: dict[str, Tensor] | None) -> Tensor | None:
        """[similarity, novelty] of each target to its source (`textvae.models.control`); None without
        `model.control`."""
        if not self.control_dim:
            return None
        source_ids = (memory or self.make_batch(batch["source_texts"]))["memory_ids" if memory else "target_ids"]
        return pair_control(h_target, h_source, batch["target_ids"], source_ids)

    def requested(self, h_source: Tensor) -> Tensor | None:
        """The control generation asks for (`config.control_similarity`, `config.control_novelty`), one row per
        source row; None without `model.control`."""
        if not self.control_dim:
            return None
        return requested_control(self.config.control_similarity, self.config.control_novelty, h_source.shape[0],
                                 h_source.device)

    def controlled(self, similarity: float | None = None, novelty: float | None = None) -> ConditionalTextVAE:
        """This model asking for other control values (None: the config's): a shallow copy that shares every weight
        and leaves this model as it is; its `paraphrase`, `generate` and ranking all ask for the new values."""
        require_control(self.config, "a similarity or novelty to ask for")
        asked = {"control_similarity": similarity, "control_novelty": novelty}
        config = dataclasses.replace(self.config, **{key: value for key, value in asked.items() if value is not None})
        config.validate()
        twin = copy.copy(self)
        twin.config = config
        return twin

    def prior(self, h_source: Tensor, control: Tensor | None = None) -> DiagonalGaussian:
        """p(z | c) (with `model.control`, p(z | c, control)): the learned prior network, or N(0, I)."""
        if self.prior_head is not None:
            return self.prior_head(h_source if control is None else torch.cat([h_source, control], dim=-1))
        zeros = torch.zeros(h_source.shape[0], self.config.latent_dim, device=h_source.device)
        return DiagonalGaussian(zeros, zeros)

    def posterior(self, batch: dict, h_source: Tensor | None = None,
                  h_target: Tensor | None = None) -> DiagonalGaussian:
        """q(z | x, c) (h_target: the target's encoder features, when already read)."""
        h_source = self.source_features(batch) if h_source is None else h_source
        h_target = self.encoder(batch).float() if h_target is None else h_target
        return self.posterior_head(torch.cat([h_target, h_source], dim=-1))

    def _latent_input(self, z: Tensor, h_source: Tensor, control: Tensor | None = None) -> Tensor:
        parts = [z, self.condition_proj(h_source)] + ([] if control is None else [control])
        return torch.cat(parts, dim=-1)

    def forward(self, batch: dict, word_dropout_rate: float = 0.0, uniform: bool = False) -> TextVAEOutput:
        inputs = drop_decoder_inputs(batch, word_dropout_rate, UNK)
        h_source = self.source_features(batch)
        memory = self.source_memory(batch["source_texts"])
        h_target = self.encoder(batch).float() if self.variational or self.control_dim else None
        control = self.control(batch, h_target, h_source, memory)
        if not self.variational:  # deterministic seq2seq: the decoder sees the source only
            z = torch.zeros(h_source.shape[0], self.config.latent_dim, device=h_source.device)
            rec, smoothing = self.reconstruction_terms(batch, self._latent_input(z, h_source, control), inputs, memory,
                                                       uniform)
            return TextVAEOutput(rec, None, None, z, uniform_ce=smoothing)
        posterior = self.posterior(batch, h_source, h_target)
        z = posterior.rsample()
        kl = posterior.kl_to(self.prior(h_source, control))
        rec, smoothing = self.reconstruction_terms(batch, self._latent_input(z, h_source, control), inputs, memory,
                                                   uniform)
        return TextVAEOutput(rec, kl, posterior, z, self.bag_of_words_nll(z, batch), smoothing)

    # ---- user API ---------------------------------------------------------------------------
    @torch.no_grad()
    def sampler(self, sources: list[str]) -> Callable[..., Iterator[str]]:
        """Read the sources once; `draw(n, scale=None, strategy="greedy", **options)` streams n outputs per source
        (source 0's, then source 1's, ...): latents and the repeated source states are made one decoding chunk at a
        time, so memory stays flat for any n."""
        with evaluating(self):
            h_source = self.encoder(self.make_batch(sources)).float()
            memory = self.source_memory(sources)

        def draw(n: int = 5, scale: float | None = None, strategy: str = "greedy", **options) -> Iterator[str]:
            require_count(n)
            scale = self.paraphrase_scale(scale)
            opts, rows = self.decoding_options(strategy, **options)
            total = h_source.shape[0] * n

            def parts() -> Iterator[tuple[Tensor, int, dict | None]]:
                for start in range(0, total, rows):
                    index = torch.arange(start, min(start + rows, total), device=h_source.device) // n
                    control = self.requested(h_source[index])
                    with torch.no_grad():
                        prior = self.prior(h_source[index], control)
                    z = prior.rsample(scale=scale) if scale > 0 and self.variational else prior.mu * self.variational
                    part_memory = None if memory is None else {key: value[index] for key, value in memory.items()}
                    yield self._latent_input(z, h_source[index], control), len(index), part_memory

            return self.decode_parts(parts(), strategy, opts, lambda row: sources[row // n])

        return draw

    def reply_decoding(self, strategy: str | None = None, **options) -> tuple[str, dict]:
        """(strategy, options) of a reply: those given, else the model's default (`config.reply_top_p`: nucleus
        sampling of each z's decode with that top_p, or greedy when it is None)."""
        if strategy is not None or self.config.reply_top_p is None:
            return strategy or "greedy", options
        return "sample", {"top_p": self.config.reply_top_p, **options}

    def respond(self, context: str, n: int = 5, strategy: str | None = None, deterministic: bool = False,
                **options) -> list[str]:
        """n responses to one context (dialogue), each from its own z ~ p(z | context), decoded as `reply_decoding`
        says; with `deterministic`, the one reply a model without variation gives: the greedy decode of the prior
        mean."""
        if deterministic:
            return self.generate([context], 1, scale=0.0, strategy="greedy", **options)[0]
        strategy, options = self.reply_decoding(strategy, **options)
        return self.generate([context], n, strategy=strategy, **options)[0]

    def conditions(self, sources: list[str]) -> tuple[Tensor, dict[str, Tensor] | None]:
        """(decoder latent input, source memory), one row per source, of the mean of p(z | source) (z = 0 without
        variation)."""
        with evaluating(self):
            h_source = self.encoder(self.make_batch(sources)).float()
            control = self.requested(h_source)
            z = self.prior(h_source, control).mu * self.variational
            return self._latent_input(z, h_source, control), self.source_memory(sources)

    def encode(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        raise TextVAEError("a conditional model has no q(z|x) for a text alone: use generate()/respond()/paraphrase()")

    def sample(self, n: int, strategy: str | None = None, **options) -> list[str]:
        raise TextVAEError("a conditional model samples given a source: use generate(sources, n) or respond(text, n)")
