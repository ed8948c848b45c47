"""Quality control of a conditional VAE (Bandel et al. 2022, "Quality Controlled Paraphrase Generation"): the
prior and the decoder also read what the target does to its source, [similarity, novelty], measured on each
training pair; generation asks for the values the model's config names (`control_similarity`,
`control_novelty`), so a paraphraser can be asked to keep the meaning and change a given share of the words."""

from __future__ import annotations

import torch
from torch import Tensor

from textvae.config import ModelConfig
from textvae.data.tokenizers import BOS, EOS, PAD
from textvae.errors import TextVAEError

CONTROL_DIM = 2  # [similarity, novelty]


def require_control(config: ModelConfig, asked: str) -> None:
    """A TextVAEError unless the model's config was trained with `model.control` (`asked`: what asked for it)."""
    if not config.control:
        raise TextVAEError(f"{asked} needs a model trained with model.control: true")


def token_novelty(target_ids: Tensor, source_ids: Tensor) -> Tensor:
    """Share of each target's tokens (B, T) that its source (B, S) does not hold, 0-1 (B,); padding, BOS and
    EOS are not tokens."""
    real = (target_ids != PAD) & (target_ids != EOS) & (target_ids != BOS)
    held = (target_ids.unsqueeze(-1) == source_ids.unsqueeze(1)).any(-1)
    new = (real & ~held).sum(-1).float()
    return new / real.sum(-1).clamp(min=1).float()


def pair_control(h_target: Tensor, h_source: Tensor, target_ids: Tensor, source_ids: Tensor) -> Tensor:
    """[cosine of the target's and the source's sentence features, token novelty] per pair (B, 2), constants
    of the data (no gradient flows through them)."""
    with torch.no_grad():
        similarity = torch.nn.functional.cosine_similarity(h_target.float(), h_source.float(), dim=-1)
        return torch.stack([similarity, token_novelty(target_ids, source_ids)], dim=-1)


def requested_control(similarity: float, novelty: float, rows: int, device: torch.device) -> Tensor:
    """The control that generation asks for, one row per output (rows, 2)."""
    return torch.tensor([similarity, novelty], device=device).expand(rows, CONTROL_DIM)
