"""The hand-written GRU recurrence and the fused output loss match PyTorch's reference kernels, in
their C++ (native) and Python forms; the native kernels fall back cleanly where they cannot build, and
one switch chooses between the two forms."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from textvae.fastcpu import build, native_kernel, native_kernels_enabled, use_native_kernels
from textvae.fastcpu.dropout import Dropout, dropout
from textvae.fastcpu.output_loss import linear_cross_entropy, padded_rows
from textvae.fastcpu.recurrence import gru_layers
from textvae.nlu.gru import GRUEncoder


def test_native_kernels_build_here():
    # CI has a compiler: the native path must really be exercised there, not silently skipped
    assert build.load("gru") is not None and build.load("output_loss") is not None


def test_a_kernel_that_cannot_build_warns_and_falls_back(monkeypatch):
    import torch.utils.cpp_extension

    def fail(**_):
        raise RuntimeError("no compiler")

    monkeypatch.setattr(torch.utils.cpp_extension, "load", fail)
    with pytest.warns(RuntimeWarning, match="could not be built.*no compiler"):
        assert build.load.__wrapped__("gru") is None


def test_one_switch_selects_the_kernels_and_the_environment_only_sets_its_default(monkeypatch):
    monkeypatch.delenv("TEXTVAE_NATIVE", raising=False)
    assert native_kernel("gru", "cpu") is build.load("gru") and native_kernel("gru", "cuda") is None
    with use_native_kernels(False):
        assert not native_kernels_enabled() and native_kernel("gru", "cpu") is None
        with use_native_kernels(True):
            assert native_kernel("output_loss", "cpu") is not None
        assert native_kernel("output_loss", "cpu") is None
    assert native_kernels_enabled()
    monkeypatch.setenv("TEXTVAE_NATIVE", "0")
    assert not native_kernels_enabled()
    with use_native_kernels(True):
        assert native_kernels_enabled()


def test_kernels_build_from_staged_sources_whose_path_does_not_depend_on_the_checkout(monkeypatch, tmp_path):
    import torch.utils.cpp_extension

    built = []
    monkeypatch.setattr(torch.utils.cpp_extension, "load", lambda **kwargs: built.append(kwargs["sources"]))
    monkeypatch.setenv("TEXTVAE_CACHE", str(tmp_path))
    build.load.__wrapped__("gru")
    staged = built[0][0]
    assert staged.startswith(str(tmp_path / "kernels")) and Path(staged).read_text() == (build.SOURCES / "gru.cpp").read_text()
    assert (Path(staged).parent / "common.h").read_text() == (build.SOURCES / "common.h").read_text()
    written = Path(staged).stat().st_mtime_ns
    build.load.__wrapped__("gru")
    assert built[1] == built[0] and Path(staged).stat().st_mtime_ns == written  # same path, not rewritten


@pytest.mark.parametrize("autocast", [False, True])
def test_native_and_python_gru_loops_agree_with_gradients(autocast):
    torch.manual_seed(0)
    rnn = torch.nn.GRU(10, 12, num_layers=2, batch_first=True)
    x, h0 = torch.randn(3, 7, 10, requires_grad=True), torch.randn(2, 3, 12, requires_grad=True)
    weights = (x, h0, *rnn.parameters())
    results = []
    for native in (True, False):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast), use_native_kernels(native):
            out, h = gru_layers(rnn, x, h0)
        results.append((out, h, *torch.autograd.grad((out * torch.cos(out)).sum() + h.sum(), weights)))
    for got, want in zip(*results):
        assert torch.allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("native", [True, False])
def test_fixed_gru_weights_give_the_same_input_gradients_and_none_for_themselves(native):
    torch.manual_seed(0)
    rnn = torch.nn.GRU(10, 12, num_layers=2, batch_first=True)
    x, h0 = torch.randn(3, 7, 10, requires_grad=True), torch.randn(2, 3, 12, requires_grad=True)
    results = []
    for fixed in (False, True):
        for parameter in rnn.parameters():
            parameter.requires_grad_(not fixed)
        with use_native_kernels(native):
            out, h = gru_layers(rnn, x, h0)
        results.append(torch.autograd.grad((out * torch.cos(out)).sum() + h.sum(), (x, h0)))
    for got, want in zip(*results):
        assert torch.allclose(got, want, atol=1e-6)
    assert all(p.grad is None for p in rnn.parameters())


@pytest.mark.parametrize("native", [True, False])
def test_shared_input_projection_with_row_gates_equals_the_tiled_one(native):
    """gates_x for B0 sequences + a per-row part (k rows per sequence) = the tiled, summed projection:
    forward and every gradient, native and Python loops."""
    torch.manual_seed(0)
    rnn = torch.nn.GRU(10, 12, batch_first=True)
    shared = torch.randn(7, 3, 36, requires_grad=True)  # (T, B0, 3H)
    rows = torch.randn(6, 36, requires_grad=True)  # (k * B0, 3H), row r reads sequence r % B0
    h0 = torch.randn(6, 12, requires_grad=True)
    results = []
    for tiled in (False, True):
        gates = (shared.repeat(1, 2, 1) + rows, None) if tiled else (shared, rows)
        with use_native_kernels(native):
            out, _ = gru_layers(rnn, None, h0[None], first_gates=gates)
        results.append((out, *torch.autograd.grad((out * torch.cos(out)).sum(), (shared, rows, h0, rnn.weight_hh_l0, rnn.bias_hh_l0))))
    for got, want in zip(*results):
        assert torch.allclose(got, want, atol=1e-5)
    with pytest.raises(ValueError, match="gates_x has 4 rows for 6 states"):
        gru_layers(rnn, None, h0[None], first_gates=(torch.randn(7, 4, 36), rows))


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
def test_gru_encoder_matches_a_packed_gru(layers, bidirectional):
    torch.manual_seed(0)
    encoder = GRUEncoder(50, 8, 6, num_layers=layers, bidirectional=bidirectional).eval()
    lengths = torch.tensor([5, 2, 7, 1])
    tokens = torch.randint(4, 50, (4, 8))
    for row, length in enumerate(lengths):
        tokens[row, length:] = 0
    got = encoder({"target_ids": tokens, "lengths": lengths})
    packed = pack_padded_sequence(encoder.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
    _, state = encoder.rnn(packed)
    want = torch.cat([state[-2], state[-1]], dim=-1) if bidirectional else state[-1]
    assert torch.allclose(got, want, atol=1e-6)
    params = list(encoder.parameters())
    for a, b in zip(torch.autograd.grad(got.sin().sum(), params), torch.autograd.grad(want.sin().sum(), params)):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("rows", [1, 150, 300])
def test_fused_output_loss_matches_cross_entropy(rows, bias, native):
    torch.manual_seed(0)
    hidden = torch.randn(rows, 16, requires_grad=True)
    layer = torch.nn.Linear(16, 300, bias=bias)
    targets = torch.randint(0, 300, (rows,))
    weights = torch.rand(rows)
    with use_native_kernels(native):
        got = linear_cross_entropy(hidden, layer.weight, layer.bias, targets, chunk=64)
    want = F.cross_entropy(layer(hidden), targets, reduction="none")
    assert got.shape == (rows,) and torch.allclose(got, want, atol=1e-5)
    params = [hidden, *layer.parameters()]
    for a, b in zip(torch.autograd.grad((got * weights).sum(), params), torch.autograd.grad((want * weights).sum(), params)):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("rows", [1, 5, 127, 128, 129])
def test_fixed_output_weights_take_no_gradient_and_the_input_gradient_is_unchanged(rows):
    torch.manual_seed(0)
    hidden = torch.randn(rows, 16, requires_grad=True)
    layer = torch.nn.Linear(16, 300)
    targets = torch.randint(0, 300, (rows,))
    trained = torch.autograd.grad(linear_cross_entropy(hidden, layer.weight, layer.bias, targets).sum(), hidden)[0]
    fixed = linear_cross_entropy(hidden, layer.weight.detach(), layer.bias.detach(), targets)
    assert torch.allclose(torch.autograd.grad(fixed.sum(), hidden)[0], trained, atol=1e-6)
    assert layer.weight.grad is None and padded_rows(rows) >= rows
    assert padded_rows(rows) == ({1: 1, 5: 8, 127: 128, 128: 128, 129: 256}[rows])


@pytest.mark.parametrize("native", [True, False])
def test_fused_output_loss_under_bf16_autocast_is_close(native):
    torch.manual_seed(0)
    hidden, layer, targets = torch.randn(200, 32), torch.nn.Linear(32, 500), torch.randint(0, 500, (200,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with use_native_kernels(native):
            got = linear_cross_entropy(hidden, layer.weight, layer.bias, targets)
        want = F.cross_entropy(layer(hidden).float(), targets, reduction="none")
    assert got.dtype == torch.float32 and torch.allclose(got, want, atol=0.05)


def test_native_softmax_is_exact_over_the_whole_exponent_range():
    # the kernels' own exp (textvae/fastcpu/csrc/common.h) against torch's, with logits 100 nats apart
    kernel = build.load("output_loss")
    torch.manual_seed(0)
    logits, bias = torch.randn(64, 1000) * 30, torch.randn(1000)
    targets, grad = torch.randint(0, 1000, (64,)), torch.rand(64)
    nll, lse = kernel.forward(logits, bias, targets)
    want = torch.log_softmax(logits + bias, dim=-1)
    assert torch.allclose(lse, torch.logsumexp(logits + bias, dim=-1), rtol=1e-6, atol=1e-6)
    assert torch.allclose(nll, -want.gather(1, targets[:, None]).squeeze(1), rtol=1e-5, atol=1e-5)
    grad_logits, grad_bias = kernel.backward(logits, bias, targets, lse, grad)
    want_grad = (want.exp() - F.one_hot(targets, 1000)) * grad[:, None]
    assert torch.allclose(grad_logits, want_grad, atol=1e-6) and torch.allclose(grad_bias, want_grad.sum(0), atol=1e-5)


def test_fused_output_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match="hidden must be"):
        linear_cross_entropy(torch.randn(2, 3, 4), torch.randn(5, 4), None, torch.zeros(2, 3, dtype=torch.long))


def test_native_output_loss_rejects_out_of_range_targets():
    with pytest.raises(RuntimeError, match="targets out of range"):
        linear_cross_entropy(torch.randn(4, 8), torch.randn(10, 8), None, torch.tensor([0, 3, 10, 1]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dropout_zeroes_a_fraction_p_and_rescales_the_rest(dtype):
    torch.manual_seed(0)
    x = torch.ones(200, 500, dtype=dtype, requires_grad=True)
    y = dropout(x, 0.3, training=True)
    zero = (y == 0).float().mean().item()
    assert abs(zero - 0.3) < 0.01 and y.dtype == dtype
    assert torch.allclose(y[y != 0].float(), torch.full_like(y[y != 0].float(), 1 / 0.7), rtol=1e-2)
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert torch.equal(grad, y.detach())  # the gradient is the mask times the scale
    assert dropout(x, 0.3, training=False) is x and torch.equal(dropout(x, 1.0, training=True), torch.zeros_like(x))
    layer = Dropout(0.3).eval()
    assert layer(x) is x


@pytest.mark.parametrize("native", [True, False])
def test_forward_without_gradients_matches_the_training_path(native, monkeypatch):
    from textvae.fastcpu import output_loss

    monkeypatch.setattr(output_loss, "EVAL_BLOCK_BYTES", 300 * 4 * 128)  # 128-row blocks: 3 of them here
    torch.manual_seed(0)
    hidden, layer, targets = torch.randn(300, 16), torch.nn.Linear(16, 300), torch.randint(0, 300, (300,))
    with use_native_kernels(native):
        trained = linear_cross_entropy(hidden.requires_grad_(), layer.weight, layer.bias, targets)
        with torch.no_grad():
            evaluated = linear_cross_entropy(hidden, layer.weight, layer.bias, targets)
    assert torch.allclose(trained, evaluated, atol=1e-6)
    rnn = torch.nn.GRU(10, 12, batch_first=True)
    x, h0 = torch.randn(3, 7, 10), torch.zeros(1, 3, 12)
    with torch.no_grad():  # the native loop keeps no per-step gates here
        with use_native_kernels(native):
            chosen = gru_layers(rnn, x, h0)[0]
        with use_native_kernels(False):
            reference = gru_layers(rnn, x, h0)[0]
        assert torch.allclose(chosen, reference, atol=1e-6)
    with use_native_kernels(native):
        assert torch.allclose(gru_layers(rnn, x, h0)[0], rnn(x, h0)[0], atol=1e-5)
