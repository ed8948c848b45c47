import pytest
import torch

from textvae.data import BOS, EOS
from textvae.errors import ConfigError
from textvae.nlg import GRUDecoder, TransformerDecoder
from textvae.nlg.decoding import (
    NUCLEUS_START,
    DecodingOptions,
    ban_repeats,
    decode_latents,
    draw,
    filter_logits,
)

V, D = 50, 6


def decoders() -> list:
    torch.manual_seed(0)
    return [
        GRUDecoder(V, 16, 24, latent_dim=D, num_layers=2).eval(),
        GRUDecoder(V, 16, 24, latent_dim=D, tie_embeddings=True).eval(),
        TransformerDecoder(V, 16, num_layers=2, heads=2, ff_dim=32, latent_dim=D, memory_tokens=2).eval(),
        TransformerDecoder(V, 16, num_layers=1, heads=2, ff_dim=32, latent_dim=0).eval(),  # LM, no z
    ]


@pytest.mark.parametrize("decoder", decoders(), ids=["gru", "gru-tied", "transformer", "transformer-lm"])
def test_step_by_step_matches_teacher_forcing(decoder):
    """The KV cache / recurrent state gives the same logits as a full forward pass."""
    z = torch.randn(3, D) if decoder.latent_dim else None
    ids = torch.randint(4, V, (3, 7))
    ids[:, 0] = BOS
    full = decoder.output(decoder(ids, z))
    state = decoder.init_state(z, 3)
    for t in range(ids.shape[1]):
        logits, state = decoder.step(ids[:, t], state)
        assert torch.allclose(logits, full[:, t], atol=1e-5)


@pytest.mark.parametrize("decoder", decoders()[:3], ids=["gru", "gru-tied", "transformer"])
def test_forward_samples_equals_the_tiled_batch(decoder):
    """K samples per text (the IW evaluation's pass) give the states of the batch tiled K times,
    in eval mode (the GRU's shared input projection) and in training mode (the tiling fallback)."""
    ids = torch.randint(4, V, (3, 7))
    z = torch.randn(5, 3, D)
    for training in (False, True):
        decoder.train(training)
        torch.manual_seed(1)
        samples = decoder.forward_samples(ids, z)
        torch.manual_seed(1)
        tiled = decoder(ids.repeat(5, 1), z.flatten(0, 1))
        assert samples.shape == (15, 7, tiled.shape[-1])
        assert torch.allclose(samples, tiled, atol=1e-5)
    decoder.eval()


@pytest.mark.parametrize("decoder", decoders()[:3], ids=["gru", "gru-tied", "transformer"])
def test_a_latent_reader_gives_the_forward_pass_for_each_new_z_and_its_gradient(decoder):
    """Latent refinement reads the same texts with one z after another: the states and d/dz equal the full pass's."""
    ids = torch.randint(4, V, (3, 7))
    read = decoder.latent_reader(ids)
    for _ in range(2):
        z = torch.randn(3, D, requires_grad=True)
        states, full = read(z), decoder(ids, z)
        assert torch.allclose(states, full, atol=1e-5)
        weights = torch.randn_like(full)
        (grad,) = torch.autograd.grad((states * weights).sum(), z)
        (full_grad,) = torch.autograd.grad((full * weights).sum(), z)
        assert torch.allclose(grad, full_grad, atol=1e-4)


@pytest.mark.parametrize("decoder", decoders(), ids=["gru", "gru-tied", "transformer", "transformer-lm"])
@pytest.mark.parametrize("strategy", ["greedy", "sample", "beam"])
def test_strategies_respect_max_length(decoder, strategy):
    z = torch.randn(4, D) if decoder.latent_dim else None
    out = decode_latents(decoder, z, 4, strategy, DecodingOptions(max_length=5, top_k=10, top_p=0.9, beam_size=3))
    assert len(out) == 4 and all(len(row) <= 5 for row in out)
    assert all(EOS not in row and BOS not in row for row in out)


def test_beam_of_one_is_greedy():
    decoder = decoders()[0]
    z = torch.randn(5, D)
    greedy = decode_latents(decoder, z, 5, "greedy", DecodingOptions(max_length=8))
    beam = decode_latents(decoder, z, 5, "beam", DecodingOptions(max_length=8, beam_size=1, length_penalty=0.0))
    assert greedy == beam


def test_ban_repeats_blocks_exactly_the_tokens_that_would_repeat_an_ngram():
    history = torch.tensor([[5, 6, 7, 5, 6], [5, 6, 7, 8, 9]])
    for size, banned in ((1, [{5, 6, 7}, {5, 6, 7, 8, 9}]), (2, [{7}, set()]), (3, [{7}, set()]), (4, [set(), set()])):
        logits = torch.zeros(2, 12)
        ban_repeats(logits, history, size)
        found = [{i for i in range(12) if torch.isinf(row[i])} - {0} for row in logits]  # PAD (0) may be banned
        assert found == banned, size
    logits = torch.zeros(2, 12)
    ban_repeats(logits, history, 0)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("decoder", decoders(), ids=["gru", "gru-tied", "transformer", "transformer-lm"])
@pytest.mark.parametrize("strategy", ["greedy", "sample", "beam"])
@pytest.mark.parametrize("size", [1, 2])
def test_no_output_repeats_an_ngram_when_asked(decoder, strategy, size):
    torch.manual_seed(0)
    z = torch.randn(6, D) * 3 if decoder.latent_dim else None
    options = DecodingOptions(max_length=12, beam_size=3, no_repeat_ngram_size=size)
    for row in decode_latents(decoder, z, 6, strategy, options):
        grams = [tuple(row[i : i + size]) for i in range(len(row) - size + 1)]
        assert len(grams) == len(set(grams)), row


def test_top_k_and_top_p_filtering():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [[False, False, True, True]]
    assert torch.isinf(filter_logits(logits, top_p=0.7)).tolist() == [[False, False, True, True]]
    assert torch.isinf(filter_logits(logits, top_p=0.5)).tolist() == [[False, True, True, True]]


def test_invalid_decoding_options():
    decoder = decoders()[0]
    with pytest.raises(ConfigError, match=r"top_p must be in \(0, 1\]"):
        decode_latents(decoder, torch.randn(1, D), 1, "sample", DecodingOptions(top_p=1.5))
    with pytest.raises(ConfigError, match="unknown decoding strategy 'beams'"):
        decode_latents(decoder, torch.randn(1, D), 1, "beams")


def test_gru_recurrence_matches_the_fused_kernel_with_gradients():
    from textvae.fastcpu.recurrence import gru_layers

    torch.manual_seed(0)
    rnn = torch.nn.GRU(10, 12, num_layers=2, batch_first=True).eval().double().float()
    x, h0 = torch.randn(3, 7, 10, requires_grad=True), torch.randn(2, 3, 12, requires_grad=True)
    weights = (x, h0, *rnn.parameters())
    expected, expected_h = rnn(x, h0)
    expected_grads = torch.autograd.grad((expected * torch.cos(expected)).sum() + expected_h.sum(), weights)
    out, h = gru_layers(rnn, x, h0)
    grads = torch.autograd.grad((out * torch.cos(out)).sum() + h.sum(), weights)
    assert torch.allclose(out, expected, atol=1e-5) and torch.allclose(h, expected_h, atol=1e-5)
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got, want, atol=1e-5)


def test_source_attention_memory_is_required_exactly_when_the_decoder_attends():
    from textvae.errors import TextVAEError
    from textvae.nlg.gru import GRUDecoder

    ids = torch.randint(4, 30, (2, 5))
    memory = {"memory": torch.randn(2, 3, 6), "memory_mask": torch.tensor([[True, True, False], [True, True, True]])}
    plain, attending = GRUDecoder(30, 8, 10, latent_dim=4), GRUDecoder(30, 8, 10, latent_dim=4, memory_dim=6)
    z = torch.randn(2, 4)
    assert attending(ids, z, memory).shape == (2, 5, 10)
    with pytest.raises(TextVAEError, match="without source attention"):
        plain(ids, z, memory)
    with pytest.raises(TextVAEError, match="pass its memory"):
        attending(ids, z)
    # the masked source position is ignored: changing it changes nothing
    changed = {**memory, "memory": memory["memory"].clone()}
    changed["memory"][0, 2] += 5.0
    assert torch.allclose(attending.eval()(ids, z, memory), attending(ids, z, changed))


def test_position_wise_layers_run_in_the_memory_layout_of_their_input():
    from textvae.nlg.base import apply_in_layout, time_major_view

    layer = torch.nn.Linear(6, 3)
    time_major = torch.randn(5, 4, 6)  # (T, B, H) in memory
    batch_first = time_major.transpose(0, 1)  # the (B, T, H) view a GRU returns
    assert time_major_view(batch_first) and not time_major_view(batch_first.contiguous())
    out = apply_in_layout(layer, batch_first)
    assert time_major_view(out) and out.shape == (4, 5, 3)
    torch.testing.assert_close(out, layer(batch_first.contiguous()))
    assert apply_in_layout(layer, batch_first.contiguous()).is_contiguous()


@pytest.mark.parametrize("top_p", [1.0, 0.8, 0.99])
def test_draw_samples_the_top_p_nucleus_without_sorting_whole_rows(top_p):
    """Draws follow softmax over filter_logits' nucleus, also when the nucleus is wider than the first search."""
    torch.manual_seed(0)
    logits = torch.cat([torch.randn(1, 400) * 3, torch.randn(1, 400) * 0.1])  # peaked, and flat (a wide nucleus)
    expected = filter_logits(logits, 0, top_p).softmax(-1)
    if top_p == 0.99:
        assert (expected[1] > 0).sum() > NUCLEUS_START
    n = 20000
    tokens = draw(logits.repeat(n, 1), top_p).view(n, 2)
    for row in range(2):
        freq = torch.bincount(tokens[:, row], minlength=400).float() / n
        assert not (freq[expected[row] == 0] > 0).any()  # never outside the nucleus
        assert (freq - expected[row]).abs().max() < 0.02
