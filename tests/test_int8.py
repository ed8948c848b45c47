"""Int8 decoding (TextVAE.int8_decoding): the int8 step follows the float step, training keeps the float
weights, and a changed weight is requantized."""

import dataclasses

import pytest
import torch

from textvae.data import BOS
from textvae.fastcpu.int8 import Int8Weights
from textvae.models import TextVAE
from textvae.nlg import GRUDecoder
from textvae.nlg.base import Decoder

V, D = 300, 6


def steps(decoder: Decoder, ids: torch.Tensor, z: torch.Tensor) -> list[torch.Tensor]:
    state = decoder.init_state(z, ids.shape[0])
    out = []
    for t in range(ids.shape[1]):
        logits, state = decoder.step(ids[:, t], state)
        out.append(logits)
    return out


@pytest.mark.parametrize("layers,tied", [(1, True), (2, False)])
def test_int8_steps_follow_the_float_steps(layers, tied):
    torch.manual_seed(0)
    decoder = GRUDecoder(V, 32, 64, latent_dim=D, num_layers=layers, tie_embeddings=tied).eval()
    z, ids = torch.randn(4, D), torch.randint(4, V, (4, 6))
    ids[:, 0] = BOS
    with torch.no_grad():
        exact = steps(decoder, ids, z)
        decoder.int8 = Int8Weights()
        quantized = steps(decoder, ids, z)
    for a, b in zip(exact, quantized):
        assert not torch.equal(a, b)  # the int8 path really ran
        assert (a - b).abs().max() <= 0.05 * a.abs().max()
        assert (a.argmax(-1) == b.argmax(-1)).float().mean() >= 0.75


def test_a_changed_weight_is_requantized():
    torch.manual_seed(0)
    layer = torch.nn.Linear(16, 8)
    weights, x = Int8Weights(), torch.randn(3, 16)
    before = weights.linear(x, layer.weight, layer.bias)
    with torch.no_grad():
        layer.weight.mul_(2)
        layer.bias.mul_(2)
    after = weights.linear(x, layer.weight, layer.bias)
    assert torch.allclose(after, 2 * before, rtol=0.05, atol=0.05)


def test_int8_decoding_leaves_training_and_scoring_on_float_weights(tiny_config, word_tokenizer, ptb_texts):
    torch.manual_seed(0)
    model = TextVAE(tiny_config, word_tokenizer).eval()
    batch = model.make_batch(ptb_texts[:8])
    torch.manual_seed(1)
    before = model(batch).reconstruction
    assert model.int8_decoding() is model
    torch.manual_seed(1)
    assert torch.equal(model(batch).reconstruction, before)
    outputs = model.reconstruct(ptb_texts[:8])
    assert len(outputs) == 8 and all(isinstance(text, str) for text in outputs)
    model.int8_decoding(False)
    assert model.decoder.int8 is None


def test_a_transformer_decoder_reads_an_int8_output_layer(tiny_config, word_tokenizer):
    torch.manual_seed(0)
    model = TextVAE(dataclasses.replace(tiny_config, decoder="transformer"), word_tokenizer).eval()
    z, ids = torch.randn(4, model.config.latent_dim), torch.randint(4, model.config.vocab_size, (4, 6))
    ids[:, 0] = BOS
    with torch.no_grad():
        exact = steps(model.decoder, ids, z)
        model.int8_decoding()
        quantized = steps(model.decoder, ids, z)
    for a, b in zip(exact, quantized):
        assert not torch.equal(a, b)  # the int8 path really ran
        assert (a - b).abs().max() <= 0.05 * a.abs().max()
