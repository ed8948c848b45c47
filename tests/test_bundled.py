"""The models shipped in the package load offline and do their job."""

import json

import torch

from textvae import TextVAE
from textvae.cli.main import main
from textvae.models.registry import (
    BUNDLED,
    DEFAULT_AE,
    DEFAULT_DIALOGUE,
    DEFAULT_PARAPHRASER,
    default_model_path,
)


def test_bundle_is_small():
    size = sum(p.stat().st_size for p in BUNDLED.rglob("*") if p.is_file())
    assert size <= 40 * 2**20  # every bundled weight together


def test_bundled_vae_paraphrases_offline():
    torch.manual_seed(0)
    vae = TextVAE.from_pretrained(device="cpu")
    assert vae.variational
    text = "How can I learn to play the guitar?"
    paraphrases = vae.paraphrase(text, n=5)
    assert 1 <= len(paraphrases) <= 5 and text not in paraphrases
    assert all(isinstance(p, str) and p for p in paraphrases)


def test_the_bundled_paraphrasers_know_the_words_of_their_training_texts():
    from textvae.nlg.lexicon import Lexicon

    for folder in (default_model_path(), default_model_path(DEFAULT_PARAPHRASER)):
        lexicon = Lexicon.load(folder)
        assert lexicon is not None and len(lexicon.known) > 10_000
        assert lexicon.invented("Does Pepto-Bismism help with gas?", "Does Pepto-Bismol help with gas?") == ["bismism"]
        assert lexicon.invented("How can I learn to play the guitar?") == []


def test_bundled_vae_refines_its_latents_and_reads_new_sentences_back():
    vae = TextVAE.from_pretrained(device="cpu")
    assert vae.config.refine_steps > 0
    texts = ["What time does the museum open on Sundays?", "Is it worth buying an electric car in 2025?",
             "What are the side effects of drinking too much green tea?"]
    refined = vae.reconstruct(texts)
    plain = vae.decode(vae.encode(texts, refine_steps=0)[0])
    assert sum(r == t for r, t in zip(refined, texts)) >= 2 > sum(p == t for p, t in zip(plain, texts))


def test_bundled_ae_is_the_deterministic_twin():
    ae = TextVAE.from_pretrained(default_model_path(DEFAULT_AE), device="cpu")
    assert ae.has_latent and not ae.variational
    assert ae.reconstruct(["Why is the sky blue?"]) == ae.reconstruct(["Why is the sky blue?"])


def test_cli_works_without_model_argument(capsys):
    assert main(["paraphrase", "What is the best way to learn French?", "-n", "3", "--json", "--seed", "0"]) == 0
    assert len(json.loads(capsys.readouterr().out)["paraphrases"]) >= 1
    assert main(["contrast", "How do I start a business?", "-n", "2", "--json", "--seed", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["ae_reconstruction"]


def test_bundled_dialogue_model_gives_varied_replies_and_one_fixed_reply(capsys):
    dialogue = TextVAE.from_pretrained(default_model_path(DEFAULT_DIALOGUE), device="cpu")
    assert dialogue.conditional and dialogue.variational
    assert main(["respond", "Do you want to grab lunch tomorrow?", "-n", "5", "--json", "--seed", "0"]) == 0
    replies = json.loads(capsys.readouterr().out)["responses"]
    assert len(replies) == 5 and len(set(replies)) >= 3 and all(r.strip() for r in replies)
    fixed = []
    for seed in ("0", "1"):
        assert main(["respond", "Do you want to grab lunch tomorrow?", "--deterministic", "--json", "--seed", seed]) == 0
        fixed += json.loads(capsys.readouterr().out)["responses"]
    assert len(fixed) == 2 and fixed[0] == fixed[1] and fixed[0].strip()


def test_demo_shows_every_section_offline(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for section in ("Paraphrases", "Supervised paraphrases", "Interpolation", "Deterministic vs sampled", "Dialogue"):
        assert f"== {section}" in out
    assert out.count("(deterministic)") == 3


def test_bundled_supervised_paraphraser_keeps_the_rare_words_of_a_new_question():
    torch.manual_seed(0)
    paraphraser = TextVAE.from_pretrained(default_model_path(DEFAULT_PARAPHRASER), device="cpu")
    assert paraphraser.conditional and paraphraser.config.copy
    text = "What is the best way to learn Kubernetes in 2024?"
    paraphrases = paraphraser.paraphrase(text, n=4)
    assert len(paraphrases) >= 2 and text not in paraphrases
    assert sum("Kubernetes" in p and "2024" in p for p in paraphrases) >= 2  # copied, not replaced by frequent words
