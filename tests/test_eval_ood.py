"""scripts/eval_ood.py: the shared text normalisation and the detection metrics."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "eval_ood.py"


@pytest.fixture(scope="module")
def eval_ood():
    spec = importlib.util.spec_from_file_location("eval_ood", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("raw, normalised", [
    ("How can I get entry in MIT? It's 2016.", "how can i get entry in mit it 's n"),
    ("Just tell me and I ’ ll even give you one ounce for free .", "just tell me and i 'll even give you one ounce for free"),
    (" no it was n't black monday ", "no it was n't black monday"),
    ("We don't pay $ 5,000.50 , do we ?", "we do n't pay n do we"),
    (" the N stocks fell N N to $ N ", "the n stocks fell n n to n"),
])
def test_all_sets_share_one_format(eval_ood, raw, normalised):
    assert eval_ood.normalise(raw) == normalised


def test_detection_metrics(eval_ood):
    perfect = eval_ood.detection_metrics(np.arange(10.0), np.arange(10.0) + 100)
    assert perfect["auroc"] == 1.0 and perfect["aupr"] == pytest.approx(1.0) and perfect["fpr_at_95_tpr"] == 0.0
    reversed_ = eval_ood.detection_metrics(np.arange(10.0) + 100, np.arange(10.0))
    assert reversed_["auroc"] == 0.0 and reversed_["fpr_at_95_tpr"] == 1.0
    rng = np.random.default_rng(0)
    chance = eval_ood.detection_metrics(rng.normal(size=4000), rng.normal(size=4000))
    assert abs(chance["auroc"] - 0.5) < 0.03 and abs(chance["fpr_at_95_tpr"] - 0.95) < 0.03


def test_latent_gaussian_ranks_far_codes_higher(eval_ood):
    reference = eval_ood.LatentGaussian.fit(torch.randn(500, 3, generator=torch.Generator().manual_seed(0)))
    near, far = reference.mahalanobis(torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]]))
    assert near < 0.1 and far > 20
