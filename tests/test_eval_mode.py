import pytest
from torch import nn

from textvae.eval_mode import evaluating


def test_evaluating_restores_each_modules_own_mode():
    training, frozen = nn.Dropout(0.5).train(), nn.Dropout(0.5).eval()
    with evaluating(training, None, frozen):
        assert not training.training and not frozen.training
    assert training.training and not frozen.training


def test_evaluating_restores_the_mode_when_the_block_raises():
    module = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1)).train()
    with pytest.raises(RuntimeError), evaluating(module):
        raise RuntimeError("boom")
    assert module.training and module[1].training
