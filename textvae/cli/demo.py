"""textvae demo: paraphrases (VAE and supervised), an interpolation, the deterministic-vs-sampled contrast and
dialogue replies, offline."""

from __future__ import annotations

# Sentences that occur in neither training corpus of the bundled models
EXAMPLES = ["Why do leaves change color in autumn?", "Do you want to grab lunch tomorrow?",
            "Is it healthy to drink coffee every day?"]
# Everyday utterances for the dialogue model (none is in DailyDialog)
DIALOGUE = ["Do you want to grab lunch tomorrow?", "I think I left my keys at the office.",
            "The printer on our floor is broken again."]


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="show what the bundled models do (offline, a few seconds)")
    p.add_argument("--model", default=None, help="VAE folder (default: the bundled VAE)")
    p.add_argument("--ae-model", default=None, help="autoencoder folder (default: the bundled AE)")
    p.add_argument("--paraphraser", default=None,
                   help="supervised paraphraser folder (default: the bundled paraphrase CVAE)")
    p.add_argument("--dialogue-model", default=None,
                   help="conditional (dialogue) model folder (default: the bundled dialogue CVAE)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args) -> int:
    import time

    import torch

    from textvae import TextVAE
    from textvae.apps import contrast
    from textvae.cli.contrast import format_contrast
    from textvae.models.refine import Refinement
    from textvae.models.registry import DEFAULT_AE, DEFAULT_DIALOGUE, DEFAULT_PARAPHRASER, default_model_path

    torch.manual_seed(args.seed)
    start = time.perf_counter()
    vae = TextVAE.from_pretrained(args.model, device="cpu")
    ae = TextVAE.from_pretrained(args.ae_model or default_model_path(DEFAULT_AE), device="cpu")
    paraphraser = TextVAE.from_pretrained(args.paraphraser or default_model_path(DEFAULT_PARAPHRASER), device="cpu")
    dialogue = TextVAE.from_pretrained(args.dialogue_model or default_model_path(DEFAULT_DIALOGUE), device="cpu")
    print(f"== Paraphrases: decode z = mu + S * sigma * eps around each sentence's posterior (S = "
          f"{vae.paraphrase_scale():g}; sentences no model was trained on) ==")
    refinement = Refinement.of(vae.config)
    mean = f"mu after {refinement.describe()}" if refinement.steps else "mu"
    for text in EXAMPLES:
        print(f"{text}")
        print(f"    = {vae.reconstruct([text])[0]}    (the decode of {mean})")
        for para in vae.paraphrase(text, n=4):
            print(f"    ~ {para}")
    print("\n== Supervised paraphrases: a conditional VAE trained on paraphrase pairs, z ~ p(z | sentence), "
          "copying the sentence's rare words ==")
    for text in EXAMPLES:
        print(f"{text}")
        for para in paraphraser.paraphrase(text, n=4):
            print(f"    ~ {para}")
    a, b = EXAMPLES[0], EXAMPLES[2]
    print("\n== Interpolation between two posterior means (VAE, then AE) ==")
    for name, model in (("VAE", vae), ("AE", ae)):
        print(f"[{name}]")
        for i, text in enumerate(model.interpolate(a, b, steps=6)):
            print(f"  {i / 5:.1f}  {text}")
    print("\n== Deterministic vs sampled ==")
    print("\n".join(format_contrast(contrast(vae, ae, EXAMPLES[1], n=3))))
    print("\n== Dialogue: the one deterministic reply (prior mean) vs five sampled ones, z ~ p(z | context) ==")
    for text in DIALOGUE:
        print(f"{text}")
        print(f"    = {dialogue.respond(text, deterministic=True)[0]}    (deterministic)")
        for reply in dialogue.respond(text, n=5):
            print(f"    ~ {reply}")
    print(f"\n(done in {time.perf_counter() - start:.1f} s; try `textvae paraphrase \"your sentence\"` or "
          "`textvae respond \"your message\"`)")
    return 0
