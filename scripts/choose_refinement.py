"""Choose a VAE's latent refinement (`model.refine_steps`, `refine_lr`, `refine_momentum`) on validation text (never
test text).

For each number of Adam steps, learning rate and momentum (Adam's beta1), the validation sentences are
reconstructed (greedy decode of the refined mean) and sampled around it at the model's paraphrase scale, scored as
scripts/eval_fidelity.py scores them. Each step costs a decoder pass forward and back per sentence, so the choice
is the fewest steps whose reconstruction cosine is within `--tolerance` of the best in the grid; `textvae export
--refine-steps N --refine-lr LR --refine-momentum B` records it in the model.

With `--centers`, the model's own refinement is kept and the sample center (`model.paraphrase_center`: samples
are drawn that far from the encoder's mean, 0, to the refined mean, 1) and the sample scale (`--scales`,
`model.paraphrase_scale`; default: the model's) are chosen instead: the pair with the highest sample cosine among
those whose samples differ from the input in at least `--min-differ` of 5.

    python scripts/choose_refinement.py --model textvae/bundled/general-gru-vae --run runs/general-gru-vae-ft2 \
        --steps 10 12 15 20 --lrs 0.3 0.4 --momenta 0.5 0.9
    python scripts/choose_refinement.py --model textvae/bundled/general-gru-vae --run runs/general-gru-vae-ft2 \
        --centers 0 0.5 0.75 1 [--scales 1 1.25 1.5]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime

import torch

from benchkit.fidelity import evaluate_set
from benchkit.paths import RESULTS_DIR
from benchkit.results import command_line, record_run, update_section
from benchkit.tuning import add_model_arguments, validation_set
from textvae import TextVAE
from textvae.fastcpu.machine import machine_info
from textvae.models.refine import Refinement

RESULTS = RESULTS_DIR / "refinement_choice.json"
RESULTS_CENTER = RESULTS_DIR / "refinement_center_choice.json"
KEYS = ("recon_cos", "recon_exact", "sample_cos", "differ", "self_bleu")


def choose(rows: list[dict], tolerance: float) -> dict:
    """The row with the fewest steps (then the best reconstruction) within `tolerance` of the best reconstruction."""
    best = max(r["recon_cos"] for r in rows)
    fit = [r for r in rows if r["recon_cos"] >= best - tolerance]
    return min(fit, key=lambda r: (r["steps"], -r["recon_cos"]))


def choose_center(rows: list[dict], min_differ: float) -> dict | None:
    """The (center, scale) row with the highest sample cosine among those differing in at least `min_differ` of 5;
    None if none."""
    fit = [r for r in rows if r["differ"] >= min_differ]
    return max(fit, key=lambda r: r["sample_cos"]) if fit else None


def center_table(rows: list[dict]) -> str:
    lines = ["| sample center | scale | sample cos | differ (of 5) | self-BLEU |", "|---|---|---|---|---|"]
    return "\n".join(lines + [f"| {r['center']:g} | {r['scale']:g} | {r['sample_cos']:.3f} | {r['differ']:.2f} | "
                              f"{r['self_bleu']:.1f} |" for r in rows])


def centers(model: TextVAE, judge, texts: list[str], vecs, args) -> None:
    """The sample center and scale table at the model's own refinement, recorded and published."""
    rows = []
    for center in args.centers:
        model.config = dataclasses.replace(model.config, paraphrase_center=center)
        for scale in args.scales or [model.paraphrase_scale()]:
            torch.manual_seed(0)
            metrics, _ = evaluate_set(model, judge, None, texts, vecs, scale)
            rows.append({"center": center, "scale": scale,
                         **{k: metrics[k] for k in ("sample_cos", "differ", "self_bleu")}})
            print(center_table(rows[-1:]).splitlines()[-1], flush=True)
    chosen = choose_center(rows, args.min_differ)
    print(f"chosen: --paraphrase-center {chosen['center']:g} --paraphrase-scale {chosen['scale']:g}" if chosen
          else "no center and scale differ enough")
    machine = machine_info()
    record_run(RESULTS_CENTER, {"model": args.model, "run": args.run, "date": datetime.date.today().isoformat(),
                                "machine": machine, "command": command_line(), "validation_texts": len(texts),
                                "refine_steps": model.config.refine_steps, "min_differ": args.min_differ,
                                "rows": rows, "chosen": chosen}, key="model")
    verdict = (f"Chosen: the highest sample cosine among the centers and scales whose samples differ from the input in "
               f"at least {args.min_differ:g} of 5, center {chosen['center']:g} at scale {chosen['scale']:g} (`textvae "
               f"export --paraphrase-center {chosen['center']:g} --paraphrase-scale {chosen['scale']:g}`)." if chosen
               else "No center and scale met the bound.")
    update_section("refinement_center", "Choosing the sample center and scale (validation)",
                   f"{center_table(rows)}\n\nModel `{args.model}` ({Refinement.of(model.config).describe()}; rate "
                   f"{model.config.refine_lr:g}), {len(texts)} held-out validation texts of `{args.run or args.model}`, "
                   f"{machine['label']}. {verdict}", command_line())


def table(rows: list[dict]) -> str:
    lines = ["| steps | lr | momentum | recon cos | recon exact % | sample cos | differ (of 5) | self-BLEU |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['steps']} | {r['lr']:g} | {r['momentum']:g} | {r['recon_cos']:.3f} | {r['recon_exact']:.1f} | "
              f"{r['sample_cos']:.3f} | {r['differ']:.2f} | {r['self_bleu']:.1f} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--lrs", type=float, nargs="+", default=[0.1, 0.3])
    parser.add_argument("--momenta", type=float, nargs="+", default=[0.9], help="Adam's beta1 values to try")
    parser.add_argument("--limit", type=int, default=256, help="validation sentences used")
    parser.add_argument("--tolerance", type=float, default=0.005, help="reconstruction cosine given up for fewer steps")
    parser.add_argument("--centers", type=float, nargs="+", default=None,
                        help="choose the sample center among these instead (the model's own refinement kept)")
    parser.add_argument("--scales", type=float, nargs="+", default=None,
                        help="--centers: the sample scales to try at each center (default: the model's)")
    parser.add_argument("--min-differ", type=float, default=3.5, help="--centers: samples differing, of 5, at least")
    args = parser.parse_args()
    texts, model, judge, vecs = validation_set(args.model, args.run, args.limit)
    if args.centers:
        centers(model, judge, texts, vecs, args)
        return
    scale = model.paraphrase_scale()
    rows = []
    grid = [(0, model.config.refine_lr, model.config.refine_momentum)]
    grid += [(s, lr, b) for s in args.steps if s for lr in args.lrs for b in args.momenta]
    for steps, lr, momentum in grid:
        model.config = dataclasses.replace(model.config, refine_steps=steps, refine_lr=lr, refine_momentum=momentum)
        torch.manual_seed(0)
        metrics, _ = evaluate_set(model, judge, None, texts, vecs, scale)
        rows.append({"steps": steps, "lr": lr, "momentum": momentum, **{k: metrics[k] for k in KEYS}})
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    chosen = choose(rows, args.tolerance)
    flags = f"--refine-steps {chosen['steps']} --refine-lr {chosen['lr']:g} --refine-momentum {chosen['momentum']:g}"
    print(f"chosen: {flags}")
    machine = machine_info()
    record_run(RESULTS, {"model": args.model, "run": args.run, "date": datetime.date.today().isoformat(),
                         "machine": machine, "command": command_line(), "validation_texts": len(texts), "scale": scale,
                         "tolerance": args.tolerance, "rows": rows, "chosen": chosen}, key="model")
    update_section("refinement", "Choosing the latent refinement (validation)",
                   f"{table(rows)}\n\nModel `{args.model}`, {len(texts)} held-out validation texts of "
                   f"`{args.run or args.model}`, samples at scale {scale:g}, {machine['label']}. Chosen: the fewest "
                   f"steps within {args.tolerance:g} of the best reconstruction cosine, {chosen['steps']} steps at "
                   f"rate {chosen['lr']:g} with momentum {chosen['momentum']:g} (`textvae export {flags}`).",
                   command_line())


if __name__ == "__main__":
    main()
