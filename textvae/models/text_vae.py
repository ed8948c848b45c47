"""TextVAE: text -> NLU encoder -> q(z|x) -> z -> NLG decoder -> text.

With `variational=False` the same network is a plain autoencoder (z = mu, no KL); with
`encoder='none'` it is a decoder-only language model (no z) for baselines.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from textvae.config import ModelConfig, from_dict
from textvae.data.batching import pad_batch
from textvae.data.tokenizers import EOS, PAD, UNK, load_tokenizer, normalize
from textvae.errors import CheckpointError, ConfigError, TextVAEError, require_count
from textvae.eval_mode import evaluating
from textvae.fastcpu.float16 import Float16Weights
from textvae.fastcpu.int8 import Int8Weights, int8_available
from textvae.fastcpu.output_loss import linear_cross_entropy
from textvae.io import WEIGHTS_FILE, load_tensors, read_model_config, save_tensors, write_model_config
from textvae.latent import DiagonalGaussian
from textvae.low_rank import factor_difference, restore_difference
from textvae.model_card import CARD_FILE, write_model_card
from textvae.models.refine import Refinement, refine_posterior
from textvae.models.registry import MODELS, default_model_path
from textvae.models.token_nll import per_example, per_example_or_none, uniform_cross_entropy
from textvae.nlg import build_decoder
from textvae.nlg.base import time_major_view
from textvae.nlg.decoding import STRATEGIES, DecodingOptions, decode_latents
from textvae.nlg.lexicon import LEXICON_FILE, Lexicon
from textvae.nlg.spacing import clean_up_tokenization
from textvae.nlg.warm_start import encoder_shape, pretrained_table, warm_start
from textvae.nlu import PosteriorHead, PretrainedEncoder, build_encoder
from textvae.objectives import drop_decoder_inputs
from textvae.quantized import dequantize_rows, quantize_rows

LATENT_CHUNK = 4096  # latents drawn at once for a stream of samples (1 MB at 64 dimensions)
ENCODE_BATCH = 64  # texts encoded at once by default: with length-sorted batches, faster and smaller than 256
TABLE_KEY = "decoder.embedding.weight"  # the decoder's word table (tied to its output layer when tie_embeddings)


@dataclass
class TextVAEOutput:
    """Per-example terms of one forward pass."""

    reconstruction: Tensor  # (B,) -log p(x|z), summed over tokens incl. EOS
    kl_per_dim: Tensor | None  # (B, D) KL(q(z|x) || N(0, I)); None for an AE or LM
    posterior: DiagonalGaussian | None
    z: Tensor | None
    bag_of_words: Tensor | None = None  # (B,) -log p(bag of the text's tokens | z); None without a BOW head
    uniform_ce: Tensor | None = None  # (B,) the label-smoothing term (TextVAE.reconstruction_terms); None unless asked


def sized_config(config: ModelConfig, tokenizer) -> ModelConfig:
    """`config` with the tokenizer's vocabulary size, and with `decoder_init: encoder` the decoder shaped like the
    pretrained encoder it starts from (textvae.nlg.warm_start)."""
    config = dataclasses.replace(config, vocab_size=tokenizer.vocab_size)
    if config.decoder_init == "random":
        return config
    if getattr(tokenizer, "name", None) != config.encoder:
        raise ConfigError(f"model.decoder_init: encoder needs the vocabulary of model.encoder '{config.encoder}' "
                          "(data.tokenizer: pretrained, data.tokenizer_model the same name)")
    return encoder_shape(config)


def start_decoder(model: TextVAE) -> None:
    """With `decoder_init: encoder`, copy the pretrained encoder into the decoder (before any saved weights load);
    with `freeze_decoder_embeddings`, its word table stays that copy."""
    if model.config.decoder_init == "encoder":
        warm_start(model.decoder, model.encoder.model, model.tokenizer.pretrained_ids)
        model.decoder.embedding.weight.requires_grad_(not model.config.freeze_decoder_embeddings)


def bag_of_words_head(config: ModelConfig, latent_dim: int) -> nn.Linear | None:
    """z -> logits over the vocabulary when config.bow_weight > 0 (Zhao et al. 2017: predicting every token
    of the text from z alone makes z carry the words), else None."""
    return nn.Linear(latent_dim, config.vocab_size) if config.bow_weight and latent_dim else None


@MODELS.register("text_vae")
class TextVAE(nn.Module):
    config_class = ModelConfig
    model_type = "text_vae"
    conditional = False  # True for models that generate from a source / context

    def __init__(self, config: ModelConfig, tokenizer, lexicon: Lexicon | None = None) -> None:
        super().__init__()
        if config.vocab_size and config.vocab_size != tokenizer.vocab_size:
            raise CheckpointError(f"the config's vocab_size {config.vocab_size} does not match the tokenizer size "
                                  f"{tokenizer.vocab_size} (config.json and tokenizer.json are from different models)")
        self.config = sized_config(config, tokenizer)
        self.tokenizer = tokenizer
        self.lexicon = lexicon  # the words of the training text (textvae.nlg.lexicon); None: not known
        latent_dim = self.config.latent_dim if self.config.has_latent else 0
        self.encoder = build_encoder(self.config) if self.config.has_latent else None
        self.posterior_head = (PosteriorHead(self.encoder.output_dim, latent_dim, self.config.posterior_hidden,
                                             self.config.logvar_clamp) if self.encoder is not None else None)
        self.decoder = build_decoder(self.config, latent_dim)
        self.bow_head = bag_of_words_head(self.config, latent_dim)
        if self.config.share_embeddings:  # one table, registered under both (saved as two equal tensors)
            self.encoder.embedding = self.decoder.embedding
        start_decoder(self)
        self.float16_weights = Float16Weights()  # the output layer's copies that latent refinement reads on a CPU

    # ---- properties -------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def has_latent(self) -> bool:
        return self.encoder is not None

    @property
    def max_tokens(self) -> int | None:
        """The longest text in tokens (EOS excluded) a position-limited decoder takes (BOS takes one
        position), None for a GRU."""
        positions = getattr(self.decoder, "max_positions", None)
        return None if positions is None else positions - 1

    @property
    def variational(self) -> bool:
        return self.has_latent and self.config.variational

    # ---- training-time pieces ---------------------------------------------------------------
    def posterior(self, batch: dict) -> DiagonalGaussian:
        """q(z|x) for a padded batch."""
        if self.encoder is None:
            raise TextVAEError("this model is a language model without a latent space (encoder: none)")
        return self.posterior_head(self.encoder(batch))

    def reconstruction_nll(self, batch: dict, z: Tensor | None, input_ids: Tensor | None = None,
                           memory: dict[str, Tensor] | None = None) -> Tensor:
        """-log p(x|z) per example (B,), summed over tokens including EOS (padding is ignored); `memory`:
        the source token states a decoder with source attention reads.

        Only the real tokens are projected, by the fused output-layer cross-entropy in fixed blocks of
        rows (a few fixed shapes keep oneDNN's per-shape kernel caches, and memory, bounded under bf16).
        """
        return self.reconstruction_terms(batch, z, input_ids, memory)[0]

    def reconstruction_terms(self, batch: dict, z: Tensor | None, input_ids: Tensor | None = None,
                             memory: dict[str, Tensor] | None = None,
                             uniform: bool = False) -> tuple[Tensor, Tensor | None]:
        """(`reconstruction_nll`, and with `uniform` the label-smoothing term over the same tokens: the output
        layer's cross-entropy against the uniform distribution, summed per example (B,); else None)."""
        inputs = batch["input_ids"] if input_ids is None else input_ids
        targets = batch["target_ids"]
        nll, position, smoothing = self._real_token_terms(self.decoder(inputs, z, memory), targets, uniform)
        return per_example(nll, position, targets.shape), per_example_or_none(smoothing, position, targets.shape)

    def reconstruction_states(self, batch: dict) -> Callable[[Tensor], tuple[Tensor, Tensor, Tensor]]:
        """z (B, D) -> what the output layer reads for every real token of the batch's texts (N, E), the tokens
        (N,), and their positions row * T + step in the (B, T) targets: latent refinement scores them for one
        z after another (`Decoder.latent_reader`)."""
        read = self.decoder.latent_reader(batch["input_ids"])
        return lambda z: self._real_tokens(read(z), batch["target_ids"])

    def samples_reconstruction_nll(self, batch: dict, z: Tensor) -> Tensor:
        """-log p(x|z_k) for K latent samples per example: z (K, B, D) -> (K, B). Equal to
        `reconstruction_nll` on the batch tiled K times; the decoder shares what does not depend on z."""
        hidden = self.decoder.forward_samples(batch["input_ids"], z)
        return self._token_nll(hidden, batch["target_ids"].repeat(z.shape[0], 1)).view(z.shape[:2])

    def bag_of_words_nll(self, z: Tensor, batch: dict) -> Tensor | None:
        """-sum over the text's tokens of log softmax(bow_head(z)) per example (B,); None without the head."""
        if self.bow_head is None:
            return None
        with torch.autocast(z.device.type, enabled=False):
            log_probs = torch.log_softmax(self.bow_head(z.float()), dim=-1)
        targets = batch["target_ids"]
        real = (targets != PAD) & (targets != EOS)
        return -(log_probs.gather(1, targets) * real).sum(1)

    def _real_tokens(self, hidden: Tensor, targets: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Decoder states (B, T, H) and targets (B, T) -> the states and targets of the real (non-padding) tokens,
        and their positions row * T + step in `targets`.

        Real tokens are gathered in the states' memory order: a GRU's states are a batch-first view of
        time-major memory, and gathering them time-major spares a (B, T, H) copy."""
        rows, steps = targets.shape
        time_major = time_major_view(hidden)
        flat = (hidden.transpose(0, 1) if time_major else hidden).flatten(0, 1)
        flat_targets = (targets.t() if time_major else targets).flatten()
        real = (flat_targets != PAD).nonzero().squeeze(1)
        position = (real % rows) * steps + real // rows if time_major else real
        return flat.index_select(0, real), flat_targets.index_select(0, real), position

    def _real_token_terms(self, hidden: Tensor, targets: Tensor,
                          uniform: bool = False) -> tuple[Tensor, Tensor, Tensor | None]:
        """Decoder states (B, T, H) and targets (B, T) -> the NLL of every real (non-padding) token under the
        output layer, its position row * T + step in `targets`, and with `uniform` its label-smoothing term
        (`uniform_cross_entropy`; else None)."""
        states, real_targets, position = self._real_tokens(hidden, targets)
        output = self.decoder.output
        nll = linear_cross_entropy(states, output.weight, output.bias, real_targets)
        smoothing = uniform_cross_entropy(states, nll, output.weight, output.bias, real_targets) if uniform else None
        return nll, position, smoothing

    def _token_nll(self, hidden: Tensor, targets: Tensor) -> Tensor:
        """Decoder states (B, T, H) and targets (B, T) -> summed token NLL per row (B,)."""
        return per_example(*self._real_token_terms(hidden, targets)[:2], targets.shape)

    def forward(self, batch: dict, word_dropout_rate: float = 0.0, uniform: bool = False) -> TextVAEOutput:
        """One pass: posterior, z (sampled for a VAE, mu for an AE), reconstruction and KL terms; with `uniform`
        also the label-smoothing term (`reconstruction_terms`)."""
        inputs = drop_decoder_inputs(batch, word_dropout_rate, UNK)
        if not self.has_latent:
            rec, smoothing = self.reconstruction_terms(batch, None, inputs, uniform=uniform)
            return TextVAEOutput(rec, None, None, None, uniform_ce=smoothing)
        posterior = self.posterior(batch)
        z = posterior.rsample() if self.variational else posterior.mu
        kl = posterior.kl_per_dim() if self.variational else None
        rec, smoothing = self.reconstruction_terms(batch, z, inputs, uniform=uniform)
        return TextVAEOutput(rec, kl, posterior, z, self.bag_of_words_nll(z, batch), smoothing)

    # ---- user API ---------------------------------------------------------------------------
    @staticmethod
    def clean_texts(texts: list[str]) -> list[str]:
        """The texts with their white space collapsed; anything that is not a non-empty list of non-empty
        strings is a TextVAEError naming the first bad text by its position."""
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, (list, tuple)):
            raise TextVAEError(f"texts must be a str or a list of str, got {type(texts).__name__}")
        if not texts:
            raise TextVAEError("no texts given")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TextVAEError(f"text #{i} must be a str, got {type(text).__name__}")
        cleaned = [" ".join(t.split()) for t in texts]
        empty = [i for i, t in enumerate(cleaned) if not normalize(t, False)]  # control characters count as empty
        if empty:
            raise TextVAEError(f"text #{empty[0]} is empty or whitespace only")
        return cleaned

    def make_batch(self, texts: list[str]) -> dict:
        """A padded batch for raw texts (`clean_texts`); texts longer than the decoder's position limit are
        truncated (with one warning per batch)."""
        cleaned = self.clean_texts(texts)
        limit = min(self.config.max_positions - 1, self.max_tokens or self.config.max_positions)
        full = [self.tokenizer.encode(t) for t in cleaned]
        long = [i for i, x in enumerate(full) if len(x) > limit]
        if long:
            warnings.warn(f"{len(long)} text(s) longer than {limit} tokens (text #{long[0]}: {len(full[long[0]])}) "
                          f"truncated to {limit} tokens", UserWarning, stacklevel=3)
        ids = [x[:limit] for x in full]
        batch = pad_batch(ids)
        batch = {k: v.to(self.device) for k, v in batch.items()}
        batch["texts"] = cleaned
        return batch

    def inferred_posterior(self, batch: dict, refine_steps: int | None = None) -> tuple[DiagonalGaussian, Tensor]:
        """q(z|x) as the user API reads it: the encoder's posterior, its mean refined by `refine_steps` steps
        (None: the model's `config.refine_steps`; 0: the encoder's own; textvae.models.refine), and the
        encoder's own mean beside it."""
        posterior = self.posterior(batch)
        refinement = Refinement.of(self.config)
        if refine_steps is not None:
            require_count(refine_steps, "refine_steps", minimum=0)
            refinement = dataclasses.replace(refinement, steps=refine_steps)
        return refine_posterior(self, batch, posterior, refinement), posterior.mu.detach()

    @torch.no_grad()
    def encode_means(self, texts: list[str], batch_size: int = ENCODE_BATCH,
                     refine_steps: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """(refined mean, logvar, the encoder's own mean), each (n, latent_dim): `encode` with the mean before
        refinement beside it, from the same pass."""
        texts = self.clean_texts(texts)  # a bad text is named by its place in the input, not in a batch
        if batch_size < 1:
            raise TextVAEError(f"batch_size must be >= 1, got {batch_size}")
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with evaluating(self):
            parts = [self.inferred_posterior(self.make_batch([texts[i] for i in order[start : start + batch_size]]),
                                             refine_steps)
                     for start in range(0, len(texts), batch_size)]
        back = torch.tensor(order).argsort()  # the inverse permutation: input position -> row in the batches
        return (torch.cat([q.mu for q, _ in parts])[back], torch.cat([q.logvar for q, _ in parts])[back],
                torch.cat([mu for _, mu in parts])[back])

    def encode(self, texts: list[str], batch_size: int = ENCODE_BATCH,
               refine_steps: int | None = None) -> tuple[Tensor, Tensor]:
        """Posterior parameters (mu, logvar), each (n, latent_dim), computed `batch_size` texts at a time; the texts
        are batched in order of length (little padding), the results returned in the input's order. The mean is
        refined by `refine_steps` (None: the model's default; `inferred_posterior`)."""
        return self.encode_means(texts, batch_size, refine_steps)[:2]

    def _latents(self, z) -> Tensor:
        """z as a checked float tensor (m, latent_dim) on the model's device."""
        if not self.has_latent:
            raise TextVAEError("this language model has no latent space; call decode(None, num=n)")
        try:
            z = torch.as_tensor(z, dtype=torch.float32, device=self.device)
        except (TypeError, ValueError, RuntimeError):
            raise TextVAEError(f"z must be a tensor or array of numbers, got {type(z).__name__}") from None
        if z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            raise TextVAEError(f"z must have shape (n, {self.config.latent_dim}), got {tuple(z.shape)}")
        if not torch.isfinite(z).all():
            raise TextVAEError("z contains NaN or Inf")
        return z

    def decoding_options(self, strategy: str, **options) -> tuple[DecodingOptions, int]:
        """Checked decoding options (the model's max_length by default) and how many rows to decode at once
        within their memory budget; a misspelled name, an impossible value or a beam that cannot fit fails
        here, before any work."""
        STRATEGIES.get(strategy)
        opts = DecodingOptions.from_kwargs(**{"max_length": self.config.max_length, **options})
        opts.validate()
        if self.max_tokens is not None and opts.max_length > self.max_tokens:
            raise TextVAEError(f"max_length {opts.max_length} exceeds what this decoder can generate "
                               f"({self.max_tokens} tokens with max_positions={self.config.max_positions})")
        state_floats = self.config.num_layers * self.config.hidden_dim
        if self.config.decoder == "transformer":  # its cache keeps keys and values of every position
            state_floats = 2 * self.config.num_layers * self.config.embed_dim * (opts.max_length + 1)
        return opts, opts.rows_per_chunk(strategy, self.config.vocab_size, state_floats)

    def iter_decode(self, z: Tensor | Iterator[Tensor] | None, strategy: str = "greedy", num: int | None = None,
                    **options) -> Iterator[str]:
        """`decode`, one text at a time: rows are decoded `batch_size` at once (fewer if a row needs more than
        `memory_mb`), so memory stays flat however many there are. z may be one (n, latent_dim) tensor or array,
        or an iterator of such chunks (a stream of latents that never exists whole). Options are checked now."""
        opts, rows = self.decoding_options(strategy, **options)
        if z is None:
            if not isinstance(num, int) or num <= 0:
                raise TextVAEError("decode needs z, or num > 0 for a model without a latent space")
            return self.decode_parts(((None, min(rows, num - start), None) for start in range(0, num, rows)),
                                     strategy, opts)
        chunks = z if isinstance(z, Iterator) else iter([self._latents(z)])
        parts = ((part, part.shape[0], None) for chunk in chunks for latents in [self._latents(chunk)]
                 for part in latents.split(rows))
        return self.decode_parts(parts, strategy, opts)

    def refining(self, steps: int | None) -> TextVAE:
        """Refine latents with `steps` from now on (`config.refine_steps`; None: unchanged); a model that cannot
        refine (a conditional model, a language model) refuses steps > 0. Returns the model."""
        if steps is not None:
            config = dataclasses.replace(self.config, refine_steps=steps)
            config.validate()
            self.config = config
        return self

    def int8_decoding(self, enabled: bool = True) -> TextVAE:
        """Decode with int8 copies of the decoder's output weights, and a GRU decoder's recurrent weights (CPU):
        several times faster per step where reading the weights or the output layer's product bounds it;
        outputs may differ slightly from float decoding. Training and scoring keep the float weights. Returns
        the model."""
        if enabled:
            device = next(self.decoder.parameters()).device
            if not int8_available(device):
                raise TextVAEError(f"int8 decoding runs on the CPU (with a quantized engine); this model is on {device}")
        self.decoder.int8 = Int8Weights() if enabled else None
        return self

    def decode_parts(self, parts: Iterable[tuple[Tensor | None, int, dict | None]], strategy: str,
                     opts: DecodingOptions, source_of: Callable[[int], str] | None = None) -> Iterator[str]:
        """Texts for a stream of (decoder latent input or None, rows, decoder memory or None) parts, each
        decoded at once in eval mode (the caller sizes them with `decoding_options`); `source_of(row)`: the text
        that output row rewrites (its casing is kept, `detokenize`)."""
        row = 0
        with evaluating(self):
            for latents, count, memory in parts:
                ids = decode_latents(self.decoder, latents, count, strategy, opts, memory)
                for i, tokens in enumerate(ids, start=row):
                    yield self.detokenize(tokens, source_of(i) if source_of is not None else "")
                row += count

    def detokenize(self, ids: list[int], source: str = "") -> str:
        """The text of generated token ids, cleaned of tokenization spaces and truecased where the model's config
        asks (`config.clean_up_tokenization_spaces`, `textvae.nlg.spacing`; `config.truecase`,
        `Lexicon.truecase`, with the casing of the `source` it rewrote)."""
        text = self.tokenizer.decode(ids)
        text = clean_up_tokenization(text) if self.config.clean_up_tokenization_spaces else text
        return self.lexicon.truecase(text, source) if self.config.truecase and self.lexicon is not None else text

    def decode(self, z: Tensor | None, strategy: str = "greedy", num: int | None = None, **options) -> list[str]:
        """Texts for each row of z (n, latent_dim); for an LM pass z=None and `num`.

        strategy: greedy | sample | beam; options: max_length, temperature, top_k, top_p, beam_size,
        length_penalty, no_repeat_ngram_size, batch_size (rows at once), memory_mb (the working-memory budget).
        """
        return list(self.iter_decode(z, strategy, num, **options))

    def iter_sample(self, n: int, strategy: str | None = None, **options) -> Iterator[str]:
        """`sample`, streamed: the n prior draws are made and decoded chunk by chunk (flat memory)."""
        require_count(n)
        if not self.has_latent:
            return self.iter_decode(None, strategy or "sample", num=n, **options)
        dim, device = self.config.latent_dim, self.device
        draws = (torch.randn(min(LATENT_CHUNK, n - start), dim, device=device) for start in range(0, n, LATENT_CHUNK))
        return self.iter_decode(draws, strategy or "greedy", **options)

    def sample(self, n: int, strategy: str | None = None, **options) -> list[str]:
        """n sentences from the prior: z ~ N(0, I) decoded (greedy by default; an LM samples)."""
        return list(self.iter_sample(n, strategy, **options))

    def reconstruct(self, texts: list[str], strategy: str = "greedy", **options) -> list[str]:
        """Decode each text's posterior mean."""
        self.decoding_options(strategy, **options)
        mu, _ = self.encode(texts)
        return self.decode(mu, strategy, **options)

    @torch.no_grad()
    def candidate_nll(self, source: str, candidates: list[str], batch_size: int = 256) -> list[float]:
        """Per-token NLL (EOS included) of each candidate as the decoder's output for `source`: decoded from the
        source's posterior mean (a conditional VAE: from the mean of p(z | source), reading the source). Low
        values are what the model would say for this input; used to rank paraphrases."""
        candidates = self.clean_texts(candidates)
        scores: list[float] = []
        with evaluating(self):
            latent, memory = self.conditions([source])  # the source is read once for every batch
            for start in range(0, len(candidates), batch_size):
                batch = self.make_batch(candidates[start : start + batch_size])
                rows = batch["target_ids"].shape[0]
                scores += self._per_token_nll(batch, None if latent is None else latent.expand(rows, -1),
                                              None if memory is None else
                                              {k: v.expand(rows, *v.shape[1:]) for k, v in memory.items()})
        return scores

    @torch.no_grad()
    def source_nll(self, source: str, candidates: list[str], batch_size: int = 256) -> list[float]:
        """Per-token NLL (EOS included) of `source` as the decoder's output for each candidate in its place: low when
        the source can be said again from the candidate, i.e. when the candidate keeps what the source says (the
        reverse direction of `candidate_nll`, as maximum-mutual-information reranking scores it)."""
        candidates = self.clean_texts(candidates)
        scores: list[float] = []
        with evaluating(self):
            for start in range(0, len(candidates), batch_size):
                part = candidates[start : start + batch_size]
                latent, memory = self.conditions(part)
                scores += self._per_token_nll(self.make_batch([source] * len(part)), latent, memory)
        return scores

    def _per_token_nll(self, batch: dict, latent: Tensor | None, memory: dict[str, Tensor] | None) -> list[float]:
        """-log p(x | latent, memory) per token (EOS included) of each row of a padded batch."""
        nll = self.reconstruction_nll(batch, latent, memory=memory)
        return (nll / (batch["target_ids"] != PAD).sum(1)).tolist()

    def conditions(self, sources: list[str]) -> tuple[Tensor | None, dict[str, Tensor] | None]:
        """(decoder latent input, decoder memory), one row per source, that decode from each source's posterior mean
        (None, None for a language model)."""
        if not self.has_latent:
            return None, None
        return self.encode(sources)[0], None

    def paraphrase_scale(self, scale: float | None = None) -> float:
        """`scale`, or the model's default (`config.paraphrase_scale`) when None; negative values fail."""
        scale = self.config.paraphrase_scale if scale is None else scale
        if scale < 0:
            raise TextVAEError(f"scale must be >= 0, got {scale}")
        return scale

    def sample_center(self, encoder_mean: Tensor, mu: Tensor) -> Tensor:
        """Where samples are centered: `config.paraphrase_center` of the way from the encoder's own mean (0) to `mu`,
        the refined mean (1)."""
        weight = self.config.paraphrase_center
        return mu if weight == 1 else encoder_mean + weight * (mu - encoder_mean)

    def sampler(self, texts: list[str]) -> Callable[..., Iterator[str]]:
        """Encode the texts once; the returned `draw(n, scale=None, strategy="greedy", **options)` streams n decodes
        per text as `iter_generate` does, as often as wanted (at several scales, say) without encoding again."""
        mu, logvar, encoder_mean = self.encode_means(texts)
        center = self.sample_center(encoder_mean, mu)

        def draw(n: int = 5, scale: float | None = None, strategy: str = "greedy", **options) -> Iterator[str]:
            require_count(n)
            scale = self.paraphrase_scale(scale)
            self.decoding_options(strategy, **options)
            spread = self.variational and scale > 0  # an AE has no spread: its n decodes are of mu
            std = torch.exp(0.5 * logvar) * scale
            base = center if spread else mu  # scale 0 is the reconstruction: the refined mean itself

            def latents() -> Iterator[Tensor]:
                for start in range(0, mu.shape[0] * n, LATENT_CHUNK):
                    rows = torch.arange(start, min(start + LATENT_CHUNK, mu.shape[0] * n), device=mu.device) // n
                    yield base[rows] + std[rows] * torch.randn_like(mu[rows]) if spread else base[rows]

            return self.iter_decode(latents(), strategy, **options)

        return draw

    def iter_generate(self, texts: list[str], n: int = 5, scale: float | None = None, strategy: str = "greedy",
                      **options) -> Iterator[str]:
        """`generate`, streamed row by row (text 0's n decodes, then text 1's, ...) in flat memory."""
        require_count(n)  # a bad count, scale or decoding option fails before the texts are encoded
        self.paraphrase_scale(scale)
        self.decoding_options(strategy, **options)
        return self.sampler(texts)(n, scale, strategy, **options)

    def generate(self, texts: list[str], n: int = 5, scale: float | None = None, strategy: str = "greedy",
                 **options) -> list[list[str]]:
        """n decodes per text of z = mu + scale * sigma * eps around its posterior (scale 0: the reconstruction;
        None: the model's default scale); an autoencoder has no posterior spread: its n decodes are of mu."""
        decoded = list(self.iter_generate(texts, n, scale, strategy, **options))
        return [decoded[i * n : (i + 1) * n] for i in range(len(decoded) // n)]

    def paraphrase_candidates(self, text: str, k: int, scale: float | None = None, strategy: str = "greedy",
                              **options) -> list[str]:
        """k candidate paraphrases of one text (see `generate`)."""
        return self.generate([text], k, scale=scale, strategy=strategy, **options)[0]

    def paraphrase_decoding(self, strategy: str | None = None, **options) -> tuple[str, dict]:
        """(strategy, options) that decode each latent of a paraphrase: those given, else the model's default
        (`config.paraphrase_beam`: beam search of that width, or greedy when it is 0)."""
        if strategy is not None or not self.config.paraphrase_beam:
            return strategy or "greedy", options
        return "beam", {"beam_size": self.config.paraphrase_beam, **options}

    def paraphrase(self, text: str, n: int = 5, scale: float | None = None, strategy: str | None = None,
                   rerank: bool = True, **options) -> list[str]:
        """Up to n distinct paraphrases: decode z = mu + scale * sigma * eps around the input's posterior
        (scale None: the model's default, `config.paraphrase_scale`; strategy None: `paraphrase_decoding`)."""
        from textvae.apps.paraphrase import paraphrase

        return paraphrase(self, text, n=n, scale=scale, strategy=strategy, rerank=rerank, **options)

    def interpolate(self, a: str, b: str, steps: int = 8, method: str = "linear", **options) -> list[str]:
        """Greedy decodes along a linear or slerp path between the posterior means of a and b."""
        from textvae.apps.interpolate import interpolate

        return interpolate(self, a, b, steps=steps, method=method, **options)

    def iter_interpolate(self, a: str, b: str, steps: int = 8, method: str = "linear", **options) -> Iterator[str]:
        """`interpolate`, streamed: the path is made and decoded chunk by chunk (flat memory for any steps)."""
        from textvae.apps.interpolate import iter_interpolate

        return iter_interpolate(self, a, b, steps=steps, method=method, **options)

    def score(self, texts: list[str], method: str = "elbo_per_token", background: TextVAE | None = None,
              samples: int | None = None) -> list[float]:
        """An anomaly score per text, higher = less like the training data: elbo, elbo_per_token, iw_nll,
        reconstruction, or likelihood_ratio (against a `background` model); see textvae.metrics.scores."""
        from textvae.metrics.scores import score_texts

        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, (list, tuple)) or not texts:
            self.make_batch(texts)  # says what is wrong with the input
        return score_texts(self, list(texts), method, background, samples)

    def analogy(self, a: str, b: str, c: str, **options) -> str:
        """"a is to b as c is to ?": the decode of mu_c + mu_b - mu_a."""
        from textvae.apps.arithmetic import analogy

        return analogy(self, a, b, c, **options)

    def attribute_vector(self, with_texts: list[str], without_texts: list[str]) -> Tensor:
        """mean mu(with_texts) - mean mu(without_texts): the latent direction of an attribute."""
        from textvae.apps.arithmetic import attribute_vector

        return attribute_vector(self, with_texts, without_texts)

    def shift(self, texts: list[str], vector: Tensor, strength: float = 1.0, **options) -> list[str]:
        """Decodes of mu + strength * vector for each text (see `attribute_vector`)."""
        from textvae.apps.arithmetic import shift

        return shift(self, texts, vector, strength, **options)

    # ---- save / load ------------------------------------------------------------------------
    def _frozen_keys(self) -> set[str]:
        """Weights copied from a pretrained encoder and kept frozen (its own, and with
        `freeze_decoder_embeddings` the decoder's word table under every name): reloaded from their source,
        not saved."""
        if not isinstance(self.encoder, PretrainedEncoder):
            return set()
        table = self.decoder.embedding.weight if self.config.freeze_decoder_embeddings else None
        return {k for k, v in self.state_dict(keep_vars=True).items()
                if (k.startswith("encoder.model.") and not v.requires_grad) or v is table}  # table: under every name

    def _pretrained_table(self) -> Tensor:
        """The encoder's word table a warm-started decoder's table started from (`decoder_init: encoder`)."""
        return pretrained_table(self.encoder.model, self.tokenizer.pretrained_ids)

    def _tied_keys(self) -> set[str]:
        """Weights that alias an earlier weight (an output layer tied to the embedding): saved once."""
        seen: set[int] = set()
        tied: set[str] = set()
        for key, value in self.state_dict(keep_vars=True).items():
            if id(value) in seen:
                tied.add(key)
            seen.add(id(value))
        return tied

    def save_pretrained(self, folder: str | Path, dtype: torch.dtype | None = None, license: str | None = None,
                        datasets: Sequence[str] = (), metrics: Mapping[str, float] | None = None) -> None:
        """config.json + model.safetensors + tokenizer files (+ lexicon.txt when the model has a lexicon) + a
        README.md model card, each written atomically; with `decoder_table_rank` R, the decoder's word table is
        stored as the encoder's plus a rank-R difference (textvae.low_rank);
        `dtype` (e.g. torch.bfloat16) stores the floating-point weights in that type (they load back as
        float32; torch.int8: each matrix as int8 with a scale per row, `textvae.quantized`); `license`,
        `datasets` and `metrics` (name -> value) go into the card. A README.md that textvae did not write is
        kept."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        skipped = self._frozen_keys() | self._tied_keys()
        weights = {k: v for k, v in self.state_dict().items() if k not in skipped}
        if self.config.decoder_table_rank:
            weights = factor_difference(weights, TABLE_KEY, self._pretrained_table(), self.config.decoder_table_rank)
        if dtype == torch.int8:
            weights = quantize_rows(weights)
        elif dtype is not None:
            weights = {k: v.to(dtype) if v.is_floating_point() else v for k, v in weights.items()}
        save_tensors(folder / WEIGHTS_FILE, weights)
        self.tokenizer.save(folder)
        if self.lexicon is not None:
            self.lexicon.save(folder)
        write_model_config(folder, self.model_type, dataclasses.asdict(self.config))
        if not write_model_card(folder, self.config, license, datasets, metrics):
            warnings.warn(f"{folder / CARD_FILE} was not written by textvae: kept it, wrote no model card",
                          stacklevel=2)

    @classmethod
    def from_pretrained(cls, folder: str | Path | None = None, device: str | torch.device | None = None) -> TextVAE:
        """Load a saved model (the bundled one when folder is None) onto `device` (GPU if present)."""
        folder = Path(folder) if folder is not None else default_model_path()
        model_type, config = read_model_config(folder)
        klass = MODELS.get(model_type)
        if not issubclass(klass, cls):
            raise CheckpointError(f"{folder} holds a '{model_type}' model, not a {cls.model_type}")
        model_config, lexicon = from_dict(ModelConfig, config, "model."), Lexicon.load(folder)
        if model_config.truecase and lexicon is None:
            raise CheckpointError(f"{folder}: config.json asks for truecasing but the folder has no {LEXICON_FILE}")
        model = klass(model_config, load_tokenizer(folder), lexicon)
        model.load_weights(folder / WEIGHTS_FILE)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        return model.to(device).eval()

    def load_weights(self, path: Path, warm_start: bool = False) -> None:
        """Load safetensors weights; only a frozen encoder's weights and tied copies may be absent (with
        `warm_start`, any pretrained encoder weights: a model saved with a frozen encoder starts one that
        fine-tunes it)."""
        state = dequantize_rows(load_tensors(path))
        if self.config.decoder_table_rank:
            state = restore_difference(state, TABLE_KEY, self._pretrained_table())
        try:
            result = self.load_state_dict(state, strict=False)
        except RuntimeError as err:  # tensor shapes differ from the config's
            detail = next((line.strip() for line in str(err).splitlines() if "size mismatch" in line), str(err))
            raise CheckpointError(f"{path} does not match the config: {detail}") from None
        pretrained = self._frozen_keys() | ({k for k in self.state_dict() if k.startswith("encoder.model.")}
                                            if warm_start else set())
        missing = set(result.missing_keys) - pretrained - self._tied_keys()
        if missing or result.unexpected_keys:
            raise CheckpointError(f"{path} does not match the config: missing {sorted(missing)[:3]}, "
                                  f"unexpected {sorted(result.unexpected_keys)[:3]}")
