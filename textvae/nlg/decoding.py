"""Batched decoding strategies over any Decoder: greedy, sampling (temperature, top-k, top-p), beam.

Every strategy stops at `max_length` tokens, so an untrained model never loops forever.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor

from textvae.data.tokenizers import BOS, EOS, PAD
from textvae.errors import ConfigError, require
from textvae.nlg.base import Decoder, State, reorder_state
from textvae.registry import Registry, closest

STRATEGIES: Registry = Registry("decoding strategy")
NUCLEUS_START = 64  # tokens first searched for a top-p nucleus (doubled until they cover top_p)
VOCAB_COPIES = 8  # vocabulary-sized float rows alive at once per hypothesis in the worst strategy (beam, top-p)


@dataclass
class DecodingOptions:
    max_length: int = 64
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    beam_size: int = 5
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0  # > 0: no n-gram of this many tokens occurs twice in an output
    batch_size: int = 256  # rows decoded at once (fewer when a row needs more than memory_mb allows)
    memory_mb: int = 1024  # the decoding working-memory budget; a row that cannot fit is refused

    @classmethod
    def from_kwargs(cls, **options) -> DecodingOptions:
        """Options from keyword arguments; a misspelled name is a ConfigError with a suggestion."""
        names = [f.name for f in fields(cls)]
        for key in options:
            if key not in names:
                raise ConfigError(f"unknown decoding option '{key}'{closest(key, names)}; options: {', '.join(names)}")
        return cls(**options)

    def validate(self) -> None:
        require(self.max_length > 0, f"max_length must be > 0, got {self.max_length}")
        require(self.temperature > 0, f"temperature must be > 0, got {self.temperature}")
        require(self.top_k >= 0, f"top_k must be >= 0, got {self.top_k}")
        require(0 < self.top_p <= 1, f"top_p must be in (0, 1], got {self.top_p}")
        require(self.beam_size >= 1, f"beam_size must be >= 1, got {self.beam_size}")
        require(self.no_repeat_ngram_size >= 0, f"no_repeat_ngram_size must be >= 0, got {self.no_repeat_ngram_size}")
        require(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        require(self.memory_mb >= 1, f"memory_mb must be >= 1, got {self.memory_mb}")

    def rows_per_chunk(self, strategy: str, vocab_size: int, state_floats: int) -> int:
        """How many rows to decode at once so that the working memory stays within `memory_mb`: each row
        holds beam_size (1 unless beam search) hypotheses, each with a few vocabulary-sized float rows
        (logits, log-probabilities, sorted copies), its token history and its decoder state of
        `state_floats` numbers. A row that alone exceeds the budget is a ConfigError naming the limit."""
        beams = self.beam_size if strategy == "beam" else 1
        if beams > vocab_size:
            raise ConfigError(f"beam_size {beams} exceeds the vocabulary ({vocab_size} tokens): a beam keeps "
                              f"distinct hypotheses, at most one per token")
        per_row = beams * 4 * (VOCAB_COPIES * vocab_size + 4 * (self.max_length + 1) + 2 * state_floats)
        budget = self.memory_mb * 2**20
        if per_row > budget:
            raise ConfigError(f"beam_size {beams} with max_length {self.max_length} needs about "
                              f"{per_row / 2**20:.0f} MB per sentence, over the decoding memory budget "
                              f"memory_mb={self.memory_mb} (lower beam_size or max_length, or raise memory_mb: "
                              f"--memory-mb on the command line)")
        return max(1, min(self.batch_size, budget // per_row))


def filter_logits(logits: Tensor, top_k: int = 0, top_p: float = 1.0) -> Tensor:
    """Set logits outside the top-k and outside the top-p nucleus (`nucleus`) to -inf (B, V)."""
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        kept, index = nucleus(logits, top_p)
        logits = torch.full_like(logits, float("-inf")).scatter(-1, index, kept)
    return logits


def nucleus(logits: Tensor, top_p: float) -> tuple[Tensor, Tensor]:
    """The top-p nucleus of each row: the smallest set of most probable tokens whose probability reaches top_p.
    Returns the logits of the k most probable tokens (B, k), in descending order, those outside the nucleus at
    -inf, and their vocabulary indices (B, k); k starts at NUCLEUS_START and doubles until the k tokens cover
    top_p, so no row is sorted whole."""
    vocab = logits.shape[-1]
    all_probs = logits.softmax(-1)
    k = min(NUCLEUS_START, vocab)
    while True:
        probs, index = all_probs.topk(k, dim=-1)
        if k == vocab or bool((probs.sum(-1) >= top_p).all()):
            break
        k = min(2 * k, vocab)
    return logits.gather(-1, index).masked_fill(probs.cumsum(-1) - probs >= top_p, float("-inf")), index


def draw(logits: Tensor, top_p: float = 1.0) -> Tensor:
    """One token per row (B,) drawn from softmax(logits) by Gumbel-max, within the top-p nucleus (`nucleus`)."""
    index = None
    if top_p < 1.0:
        logits, index = nucleus(logits, top_p)
    choice = (logits - torch.empty_like(logits).exponential_().log()).argmax(-1)
    return choice if index is None else index.gather(-1, choice.unsqueeze(-1)).squeeze(-1)


def ban_repeats(logits: Tensor, history: Tensor, size: int) -> None:
    """Set to -inf, in place, every token that would complete an n-gram of `size` tokens already in its row's
    history (logits (B, V), history (B, t) of generated ids); size 0 bans nothing."""
    steps = history.shape[1]
    if size <= 0 or steps < size:
        return
    if size == 1:
        logits.scatter_(1, history, float("-inf"))
        return
    prefix = history[:, steps - size + 1 :]  # the last size - 1 tokens
    windows = history.unfold(1, size - 1, 1)[:, : steps - size + 1]  # each earlier (size - 1)-gram ...
    following = history[:, size - 1 :]  # ... and the token that followed it
    match = (windows == prefix.unsqueeze(1)).all(-1)
    logits.scatter_(1, following.masked_fill(~match, PAD), float("-inf"))  # PAD is banned anyway


def _run(decoder: Decoder, z: Tensor | None, batch_size: int, options: DecodingOptions, memory: State | None,
         choose) -> list[list[int]]:
    """Token-by-token loop shared by greedy and sampling; `choose(logits) -> next tokens (B,)`."""
    device = next(decoder.parameters()).device
    state = {**decoder.init_state(z, batch_size), **(memory or {})}
    tokens = torch.full((batch_size,), BOS, dtype=torch.long, device=device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=device)
    out = []
    for _ in range(options.max_length + 1):  # + 1: room for the EOS
        logits, state = decoder.step(tokens, state)
        logits[:, PAD] = float("-inf")
        logits[:, BOS] = float("-inf")
        if options.no_repeat_ngram_size and out:
            ban_repeats(logits, torch.stack(out, dim=1), options.no_repeat_ngram_size)
        tokens = choose(logits.float()).masked_fill(finished, PAD)
        out.append(tokens)
        finished |= tokens == EOS
        if finished.all():
            break
    return _strip(torch.stack(out, dim=1), options.max_length)


@STRATEGIES.register("greedy")
def greedy(decoder: Decoder, z: Tensor | None, batch_size: int, options: DecodingOptions,
           memory: State | None = None) -> list[list[int]]:
    return _run(decoder, z, batch_size, options, memory, lambda logits: logits.argmax(-1))


@STRATEGIES.register("sample")
def sample(decoder: Decoder, z: Tensor | None, batch_size: int, options: DecodingOptions,
           memory: State | None = None) -> list[list[int]]:
    def choose(logits: Tensor) -> Tensor:
        return draw(filter_logits(logits / options.temperature, options.top_k), options.top_p)

    return _run(decoder, z, batch_size, options, memory, choose)


@STRATEGIES.register("beam")
def beam_search(decoder: Decoder, z: Tensor | None, batch_size: int, options: DecodingOptions,
                memory: State | None = None) -> list[list[int]]:
    """Batched beam search; the best hypothesis per input by log-probability / length**length_penalty."""
    k = options.beam_size
    device = next(decoder.parameters()).device
    z_beams = z.repeat_interleave(k, dim=0) if z is not None else None
    state = {**decoder.init_state(z_beams, batch_size * k),
             **{key: value.repeat_interleave(k, dim=0) for key, value in (memory or {}).items()}}
    tokens = torch.full((batch_size * k,), BOS, dtype=torch.long, device=device)
    scores = torch.full((batch_size, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: keep one
    finished = torch.zeros(batch_size * k, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch_size * k, device=device)
    history = torch.zeros(batch_size * k, 0, dtype=torch.long, device=device)
    offsets = (torch.arange(batch_size, device=device) * k).unsqueeze(1)
    for _ in range(options.max_length + 1):
        logits, state = decoder.step(tokens, state)
        logits[:, PAD] = float("-inf")
        logits[:, BOS] = float("-inf")
        ban_repeats(logits, history, options.no_repeat_ngram_size)
        logp = logits.float().log_softmax(-1)
        # a finished beam can only continue with PAD at no cost
        logp[finished] = float("-inf")
        logp[finished, PAD] = 0.0
        vocab = logp.shape[-1]
        total = (scores.view(-1, 1) + logp).view(batch_size, k * vocab)
        scores, flat = total.topk(k, dim=-1)
        beam = (flat // vocab + offsets).view(-1)
        tokens = (flat % vocab).view(-1)
        state = reorder_state(state, beam)
        history = torch.cat([history[beam], tokens.unsqueeze(1)], dim=1)
        was_finished = finished[beam]
        lengths = lengths[beam] + (~was_finished).float()
        finished = was_finished | (tokens == EOS)
        if finished.all():
            break
    normalized = scores / lengths.view(batch_size, k).clamp(min=1) ** options.length_penalty
    best = (normalized.argmax(-1) + offsets.squeeze(1))
    return _strip(history[best], options.max_length)


def _strip(tokens: Tensor, max_length: int) -> list[list[int]]:
    """Rows of generated ids up to (not including) EOS, at most max_length each."""
    rows = []
    for row in tokens.tolist():
        out = []
        for t in row:
            if t in (EOS, PAD):
                break
            out.append(t)
        rows.append(out[:max_length])
    return rows


def decode_latents(decoder: Decoder, z: Tensor | None, batch_size: int, strategy: str = "greedy",
                   options: DecodingOptions | None = None, memory: State | None = None) -> list[list[int]]:
    """Generate token ids for each row of z (or `batch_size` unconditional rows when z is None);
    `memory` holds the source token states of decoders that attend over a source (batch-first)."""
    options = options or DecodingOptions()
    options.validate()
    fn = STRATEGIES.get(strategy)
    with torch.no_grad():
        return fn(decoder, z, batch_size, options, memory)
