"""Training objectives behind one registry (OBJECTIVES, chosen by objective.type), β schedules and word dropout.

Each objective is one module here (see `Objective` in base.py for the contract); the ELBO is `elbo.py`.
"""

from textvae.objectives.base import OBJECTIVES, LossTerms, Objective, build_objective
from textvae.objectives.decoder_inputs import drop_decoder_inputs, word_dropout
from textvae.objectives.elbo import ELBO, elbo_loss
from textvae.objectives.schedules import BETA_SCHEDULES, build_beta_schedule

__all__ = ["BETA_SCHEDULES", "ELBO", "OBJECTIVES", "LossTerms", "Objective", "build_beta_schedule",
           "build_objective", "drop_decoder_inputs", "elbo_loss", "word_dropout"]
