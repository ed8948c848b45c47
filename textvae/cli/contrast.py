"""textvae contrast [--model DIR] [--ae-model DIR] TEXT -n 5 [--json]"""

from __future__ import annotations

LABELS = {
    "ae_reconstruction": "AE reconstruction (no variation)",
    "vae_greedy_from_mu": "VAE greedy decode from mu",
    "vae_posterior_samples": "VAE samples from q(z|x)",
    "vae_prior_samples": "VAE prior samples z ~ N(0, I)",
    "ae_random_z": "AE decoding random z (its latent has holes)",
}


def add_parser(sub) -> None:
    from textvae.cli.common import add_device_arg, add_int8_arg, add_json_arg, add_model_arg, add_refine_arg

    p = sub.add_parser("contrast", help="deterministic (AE) vs sampled (VAE) outputs side by side")
    add_model_arg(p)
    p.add_argument("--ae-model", default=None, help="autoencoder folder (default: the bundled AE)")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("-n", type=int, default=5, help="samples per row")
    add_json_arg(p)
    add_device_arg(p)
    add_int8_arg(p)
    add_refine_arg(p)
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.apps import contrast
    from textvae.cli.common import emit, load_model, seed
    from textvae.models.registry import DEFAULT_AE, default_model_path

    seed(args)
    vae, ae = load_model(args), load_model(args, args.ae_model or default_model_path(DEFAULT_AE))
    result = contrast(vae, ae, args.text, n=args.n)
    emit(args, result, format_contrast(result))
    return 0


def format_contrast(result: dict) -> list[str]:
    lines = [f"input: {result['input']}"]
    for key, label in LABELS.items():
        value = result[key]
        lines.append(f"  {label}:")
        lines += [f"    - {v}" for v in (value if isinstance(value, list) else [value])]
    return lines
