"""The GRU's two paths: the recurrence written for CPUs, and nn.GRU's own whole-sequence kernel (cuDNN on a CUDA
GPU). The choice is made in one place; forced onto the CPU here, the kernel's path gives the same values and
gradients through the decoder and the encoder."""

import pytest
import torch

from textvae.fastcpu import recurrence
from textvae.fastcpu.recurrence import gru_layers, runs_fused_gru
from textvae.nlg.gru import GRUDecoder
from textvae.nlu.gru import GRUEncoder


@pytest.fixture()
def fused_on_cpu(monkeypatch):
    """Run the fused (nn.GRU kernel) path on the CPU, as it runs on CUDA."""
    monkeypatch.setattr(recurrence, "FUSED_GRU_DEVICES", recurrence.FUSED_GRU_DEVICES | {"cpu"})


def test_the_kernel_path_is_chosen_on_cuda_only():
    assert runs_fused_gru(torch.device("cuda"))
    assert runs_fused_gru(torch.device("cuda", 1))
    assert not runs_fused_gru(torch.device("cpu"))
    assert not runs_fused_gru(torch.device("mps"))


def both_paths(monkeypatch, run):
    """run() on the recurrence path, then on the kernel path (forced onto the CPU, the recurrence disabled)."""
    first = run()
    monkeypatch.setattr(recurrence, "FUSED_GRU_DEVICES", recurrence.FUSED_GRU_DEVICES | {"cpu"})
    monkeypatch.setattr(recurrence, "gru_recurrence", lambda *args, **kwargs: pytest.fail("the recurrence ran"))
    return first, run()


def assert_close(first, second):
    for got, want in zip(first, second):
        assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


@pytest.mark.parametrize("tied", [False, True])
def test_the_decoder_gives_the_same_values_and_gradients_on_both_paths(monkeypatch, tied):
    torch.manual_seed(0)
    decoder = GRUDecoder(40, 12, 16, latent_dim=6, num_layers=2, tie_embeddings=tied).train()
    ids, z = torch.randint(4, 40, (3, 7)), torch.randn(3, 6, requires_grad=True)
    weights = [z, *decoder.parameters()]

    def run():
        hidden = decoder(ids, z)
        loss = (hidden * torch.cos(hidden)).sum()
        return [hidden, *torch.autograd.grad(loss, weights, allow_unused=True, materialize_grads=True)]

    assert_close(*both_paths(monkeypatch, run))


@pytest.mark.parametrize("layers", [1, 2])
def test_the_encoder_gives_the_same_values_and_gradients_on_both_paths(monkeypatch, layers):
    torch.manual_seed(0)
    encoder = GRUEncoder(40, 8, 10, num_layers=layers, bidirectional=True).train()
    lengths = torch.tensor([5, 2, 7])
    tokens = torch.randint(4, 40, (3, 7))
    for row, length in enumerate(lengths):
        tokens[row, length:] = 0
    weights = list(encoder.parameters())

    def run():
        features = encoder({"target_ids": tokens, "lengths": lengths})
        return [features, *torch.autograd.grad((features * torch.sin(features)).sum(), weights)]

    assert_close(*both_paths(monkeypatch, run))


def test_samples_per_text_tile_on_the_kernel_path(fused_on_cpu):
    torch.manual_seed(0)
    decoder = GRUDecoder(40, 12, 16, latent_dim=6).eval()
    ids, z = torch.randint(4, 40, (3, 7)), torch.randn(4, 3, 6)
    tiled = decoder(ids.repeat(4, 1), z.flatten(0, 1))
    assert torch.allclose(decoder.forward_samples(ids, z), tiled, atol=1e-6)
    rnn = decoder.rnn
    with pytest.raises(ValueError, match="first_gates needs the recurrence here"):
        gru_layers(rnn, None, torch.zeros(1, 3, 16), first_gates=(torch.randn(7, 3, 48), None))
