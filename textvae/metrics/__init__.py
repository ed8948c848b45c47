"""Metrics: likelihood (ELBO, IW-NLL, PPL) and latent usage (KL, MI, AU)."""

from textvae.metrics.latent import (
           MI_ESTIMATOR,
           active_units,
           collect_posteriors,
           latent_report,
           mutual_information,
)
from textvae.metrics.likelihood import evaluate_elbo, evaluate_iw_nll, iw_log_likelihood

__all__ = ["MI_ESTIMATOR", "active_units", "collect_posteriors", "evaluate_elbo", "evaluate_iw_nll",
           "iw_log_likelihood", "latent_report", "mutual_information"]
