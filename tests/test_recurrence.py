"""The hand-written GRU recurrence and the fused output loss match PyTorch's reference kernels."""

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from textvae.nlg.output_loss import linear_cross_entropy
from textvae.nlu.gru import GRUEncoder


@pytest.mark.parametrize("layers", [1, 2])
def test_gru_encoder_matches_a_packed_bidirectional_gru(layers):
    torch.manual_seed(0)
    encoder = GRUEncoder(50, 8, 6, num_layers=layers).eval()
    lengths = torch.tensor([5, 2, 7, 1])
    tokens = torch.randint(4, 50, (4, 8))
    for row, length in enumerate(lengths):
        tokens[row, length:] = 0
    got = encoder({"target_ids": tokens, "lengths": lengths})
    packed = pack_padded_sequence(encoder.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
    _, state = encoder.rnn(packed)
    want = torch.cat([state[-2], state[-1]], dim=-1)
    assert torch.allclose(got, want, atol=1e-6)
    params = list(encoder.parameters())
    for a, b in zip(torch.autograd.grad(got.sin().sum(), params), torch.autograd.grad(want.sin().sum(), params)):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("rows", [1, 150, 300])
def test_fused_output_loss_matches_cross_entropy(rows):
    torch.manual_seed(0)
    hidden = torch.randn(rows, 16, requires_grad=True)
    layer = torch.nn.Linear(16, 300)
    targets = torch.randint(0, 300, (rows,))
    weights = torch.rand(rows)
    got = linear_cross_entropy(hidden, layer.weight, layer.bias, targets, chunk=64)
    want = F.cross_entropy(layer(hidden), targets, reduction="none")
    assert got.shape == (rows,) and torch.allclose(got, want, atol=1e-5)
    params = [hidden, layer.weight, layer.bias]
    for a, b in zip(torch.autograd.grad((got * weights).sum(), params), torch.autograd.grad((want * weights).sum(), params)):
        assert torch.allclose(a, b, atol=1e-5)


def test_fused_output_loss_under_bf16_autocast_is_close():
    torch.manual_seed(0)
    hidden, layer, targets = torch.randn(200, 32), torch.nn.Linear(32, 500), torch.randint(0, 500, (200,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = linear_cross_entropy(hidden, layer.weight, layer.bias, targets)
        want = F.cross_entropy(layer(hidden).float(), targets, reduction="none")
    assert got.dtype == torch.float32 and torch.allclose(got, want, atol=0.05)


def test_fused_output_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match="hidden must be"):
        linear_cross_entropy(torch.randn(2, 3, 4), torch.randn(5, 4), None, torch.zeros(2, 3, dtype=torch.long))
