"""Paraphrase evaluation on the QQP-50K test pairs (Gupta et al. 2018 setting).

Every number is reported twice: on all 4,000 test pairs and on the "unseen" pairs whose source and
reference both do not occur (case-insensitive, exact) anywhere in the training file.

    python scripts/eval_paraphrase.py                        # bundled VAE, scales 0 / 0.5 / 1 / 2
    python scripts/eval_paraphrase.py --model runs/my_vae --limit 500 --samples 5

A paraphraser's ranking weights are chosen on validation pairs: those of the last 4 % of train.tsv (which
training holds out) whose questions occur nowhere else in the file, like the unseen test pairs. Then its
`paraphrase()` output is measured on the test pairs:

    python scripts/eval_paraphrase.py --choose-rank runs/qqp-copy
    textvae export --model runs/qqp-copy --output runs/qqp-copy-ranked --rerank-overlap O --rerank-likelihood L \
        --rerank-recovery R --rerank-brevity B
    python scripts/eval_paraphrase.py --cvae runs/qqp-copy-ranked --skip-vae --cvae-scales --app [--unseen-only]
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import time
from pathlib import Path

import torch

from benchkit.corpora import QQP_VALID_FRACTION, unseen_mask, validation_pairs
from benchkit.fidelity import draws_described, generate, invented_rate
from benchkit.judges import reference_lexicon
from benchkit.paths import QQP, RESULTS_DIR
from benchkit.results import DOC, command_line, update_section
from textvae import TextVAE
from textvae.apps.paraphrase import RankFeatures, draw_candidates
from textvae.apps.similarity import sentence_embeddings
from textvae.data import load_texts
from textvae.metrics.generation import corpus_bleu, distinct_n, ibleu, self_bleu
from textvae.nlg.lexicon import Lexicon

RESULTS = RESULTS_DIR / "paraphrase.json"
PROTOCOL = ("\n\nBLEU: sacrebleu corpus BLEU of one output per source (the first of the samples that differs from "
            "the source) against the reference / the source; iBLEU = 0.8 BLEU-ref - 0.2 BLEU-src; self-BLEU and "
            "distinct-n over all samples per source (lower-cased whitespace tokens); sim: MiniLM cosine to the "
            "source; invented %: the share of outputs with a word that neither the source nor any training text "
            "holds (`benchkit.judges.reference_lexicon`: a word made up from subword pieces, \"Pepto-Bismism\"). "
            "'unseen': source and reference both absent from train.tsv (case-insensitive).")


def embed(model, texts: list[str], batch: int = 256) -> torch.Tensor:
    return torch.cat([sentence_embeddings(model, texts[i : i + batch]) for i in range(0, len(texts), batch)])


def pick(model, sources: list[str], candidates: list[list[str]], source_vecs: torch.Tensor | None) -> list[str]:
    """Per source, the first sample that differs from it (or, with source_vecs, the most similar one
    that differs, as paraphrase(rerank=True) does); the source's reconstruction if none differs."""
    if source_vecs is not None:
        flat = [c for group in candidates for c in group]
        vecs = embed(model, flat).view(len(sources), -1, source_vecs.shape[1])
        scores = (vecs @ source_vecs.unsqueeze(-1)).squeeze(-1)
        candidates = [[g[j] for j in sorted(range(len(g)), key=lambda j: -scores[i, j].item())]
                      for i, g in enumerate(candidates)]
    chosen = []
    for source, group in zip(sources, candidates):
        different = [c for c in group if c.lower().strip() != source.lower().strip()]
        chosen.append(different[0] if different else group[0])
    return chosen


def score(outputs: list[str], groups: list[list[str]], sources: list[str], refs: list[str],
          similarity: list[float], lexicon: Lexicon) -> dict:
    bleu_ref, bleu_src = corpus_bleu(outputs, refs), corpus_bleu(outputs, sources)
    all_samples = [s for g in groups for s in g]
    return {"bleu_ref": bleu_ref, "bleu_src": bleu_src, "ibleu": ibleu(bleu_ref, bleu_src),
            "self_bleu": self_bleu(groups) if len(groups[0]) > 1 else None,
            "distinct_1": distinct_n(all_samples, 1), "distinct_2": distinct_n(all_samples, 2),
            "similarity": sum(similarity) / len(similarity), "invented": invented_rate(outputs, sources, lexicon),
            "pairs": len(outputs)}


def subsets(mask: list[bool]) -> dict[str, list[int]]:
    return {"all": list(range(len(mask))), "unseen": [i for i, m in enumerate(mask) if m]}


def evaluate_row(name, model, outputs, groups, sources, refs, source_vecs, parts: dict[str, list[int]],
                 lexicon: Lexicon) -> list[dict]:
    """One row per subset (`parts`: subset name -> indices) of the outputs' scores (`lexicon`: the judge of
    invented words)."""
    sims = (embed(model, outputs) * source_vecs).sum(-1).tolist()
    rows = []
    for subset, idx in parts.items():
        part = [[xs[i] for i in idx] for xs in (outputs, groups, sources, refs, sims)]
        rows.append({"row": name, "subset": subset, **score(*part, lexicon)})
    return rows


def fmt(v) -> str:
    return "–" if v is None else (f"{v:.3f}" if abs(v) < 1 else f"{v:.1f}") if isinstance(v, float) else str(v)


def table(rows: list[dict]) -> str:
    keys = ["bleu_ref", "bleu_src", "ibleu", "self_bleu", "distinct_1", "distinct_2", "similarity", "invented"]
    lines = ["| row | subset | pairs | BLEU-ref | BLEU-src | iBLEU | self-BLEU | dist-1 | dist-2 | sim | invented % |",
             "|" + "---|" * 11]
    for r in rows:
        cells = [fmt(r.get(k)) if k != "invented" or r.get(k) is None else f"{r[k]:.1f}" for k in keys]  # a percent
        lines.append(f"| {r['row']} | {r['subset']} | {r['pairs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


OVERLAP_WEIGHTS = (0.0, 0.0625, 0.125, 0.25, 0.5, 1.0)
LIKELIHOOD_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
RECOVERY_WEIGHTS = (0.0, 0.125, 0.25, 0.5, 1.0)
BREVITY_WEIGHTS = (0.0, 0.125, 0.25, 0.5)


def choose_rank(model, sources: list[str], refs: list[str], samples: int) -> dict:
    """iBLEU of the top-ranked candidate of `paraphrase()` for every combination of ranking weights on these
    (validation) pairs, and the best combination."""
    features = []
    for source in sources:
        candidates = draw_candidates(model, source, samples) or [source]
        features.append((candidates, RankFeatures.of(model, source, candidates, with_recovery=True)))
    grid = []
    for weights in itertools.product(OVERLAP_WEIGHTS, LIKELIHOOD_WEIGHTS, RECOVERY_WEIGHTS, BREVITY_WEIGHTS):
        top = [c[f.order(*weights)[0]] for c, f in features]
        bleu_ref, bleu_src = corpus_bleu(top, refs), corpus_bleu(top, sources)
        grid.append({**dict(zip(("overlap", "likelihood", "recovery", "brevity"), weights)), "bleu_ref": bleu_ref,
                     "bleu_src": bleu_src, "ibleu": ibleu(bleu_ref, bleu_src)})
    return {"pairs": len(sources), "grid": grid, "best": max(grid, key=lambda r: r["ibleu"])}


def rank_table(choice: dict) -> str:
    """Validation iBLEU of the top-ranked paraphrase (rows: overlap and brevity; columns: likelihood; each cell the
    best over the recovery weights, named where it is not 0)."""
    grid = choice["grid"]
    likelihoods = sorted({r["likelihood"] for r in grid})
    cell: dict[tuple, dict] = {}
    for r in grid:
        key = (r["overlap"], r.get("brevity", 0.0), r["likelihood"])
        if key not in cell or r["ibleu"] > cell[key]["ibleu"]:
            cell[key] = r

    def shown(r: dict) -> str:
        return f"{r['ibleu']:.2f}" + (f" (recovery {r['recovery']:g})" if r.get("recovery") else "")

    lines = ["| overlap | brevity | " + " | ".join(f"likelihood {w:g}" for w in likelihoods) + " |",
             "|---|---|" + "---|" * len(likelihoods)]
    lines += [f"| {o:g} | {b:g} | " + " | ".join(shown(cell[o, b, w]) for w in likelihoods) + " |"
              for o, b in sorted({(o, b) for o, b, _ in cell})]
    best = choice["best"]
    names = ("overlap", "likelihood", "recovery", "brevity")
    weights = ", ".join(f"{name} {best.get(name, 0.0):g}" for name in names)
    flags = " ".join(f"--rerank-{name} {best.get(name, 0.0):g}" for name in names)
    return ("\n".join(lines) + f"\n\nModel `{choice['model']}`, {choice['pairs']} validation pairs, {choice['samples']} "
            f"paraphrases asked per source. Best: {weights} (iBLEU {best['ibleu']:.2f}, BLEU-ref {best['bleu_ref']:.1f}, "
            f"BLEU-src {best['bleu_src']:.1f}); set it with `textvae export {flags}`.")


def app_outputs(model, sources: list[str], samples: int) -> list[list[str]]:
    """What `model.paraphrase(source, n=samples)` returns for each source (the source itself if nothing differs)."""
    return [model.paraphrase(source, n=samples) or [source] for source in sources]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="VAE folder (default: the bundled model)")
    parser.add_argument("--cvae", default=None, help="also evaluate this supervised conditional VAE")
    parser.add_argument("--cvae-scales", type=float, nargs="*", default=[0.0, 1.0])
    parser.add_argument("--cvae-label", default="supervised cvae", help="row name of the --cvae model")
    parser.add_argument("--vae-label", default="vae sample", help="row name of the --model rows")
    parser.add_argument("--skip-vae", action="store_true", help="only the copy baseline and --cvae rows")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    parser.add_argument("--samples", type=int, default=5, help="samples per source (self-BLEU, distinct)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent draws (other seeds: other draws)")
    parser.add_argument("--rerank", action="store_true", help="pick the most similar differing sample (slower)")
    parser.add_argument("--choose-rank", metavar="DIR", default=None,
                        help="choose this model's paraphrase ranking weights on validation pairs (and stop)")
    parser.add_argument("--valid-pairs", type=int, default=600, help="validation pairs for --choose-rank")
    parser.add_argument("--valid-fraction", type=float, default=QQP_VALID_FRACTION,
                        help="the model's data.valid_fraction: the last pairs of train.tsv it held out")
    parser.add_argument("--app", action="store_true",
                        help="also a row of paraphrase() output (ranked with the model's own weights) for --model "
                             "(unless --skip-vae) and for --cvae")
    parser.add_argument("--limit", type=int, default=None, help="only the first N test pairs (smoke runs)")
    parser.add_argument("--unseen-only", action="store_true",
                        help="only the unseen test pairs (rows of that subset alone; about 40 %% of the time)")
    parser.add_argument("--data", default=str(QQP))
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    data = Path(args.data)
    if args.choose_rank:
        valid_sources, valid_refs = validation_pairs(data / "train.tsv", args.valid_fraction, args.valid_pairs)
        print(f"{len(valid_sources)} validation pairs whose questions training never saw")
        choice = choose_rank(TextVAE.from_pretrained(args.choose_rank, device="cpu"), valid_sources, valid_refs,
                             args.samples)
        for r in choice["grid"]:
            print(f"overlap {r['overlap']:<7g} likelihood {r['likelihood']:<5g} recovery {r['recovery']:<6g} "
                  f"brevity {r['brevity']:<6g} iBLEU {r['ibleu']:5.2f} "
                  f"BLEU-ref {r['bleu_ref']:.1f} BLEU-src {r['bleu_src']:.1f}")
        best = choice["best"]
        print(f"best: --rerank-overlap {best['overlap']:g} --rerank-likelihood {best['likelihood']:g} "
              f"--rerank-recovery {best['recovery']:g} --rerank-brevity {best['brevity']:g} "
              f"(validation iBLEU {best['ibleu']:.2f})")
        choice = {"model": args.choose_rank, "samples": args.samples, "date": datetime.date.today().isoformat(),
                  **choice}
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "paraphrase_rank_choice.json").write_text(json.dumps(choice, indent=2) + "\n")
        update_section("paraphrase_rank", "Choosing the paraphrase ranking weights", rank_table(choice),
                       command_line())
        return
    sources = load_texts(data / "test.tsv", 0, drop_empty=False)[: args.limit]
    refs = load_texts(data / "test.tsv", 1, drop_empty=False)[: args.limit]
    mask = unseen_mask(sources, refs, data / "train.tsv")
    print(f"{len(sources)} test pairs, {sum(mask)} unseen")
    parts = subsets(mask)
    if args.unseen_only:
        sources, refs = [s for s, m in zip(sources, mask) if m], [r for r, m in zip(refs, mask) if m]
        parts = {"unseen": list(range(len(sources)))}
    model = TextVAE.from_pretrained(args.model, device="cpu")
    source_vecs = embed(model, sources)
    lexicon = reference_lexicon()
    rows = evaluate_row("copy-the-source", model, sources, [[s] for s in sources], sources, refs, source_vecs, parts,
                        lexicon)
    runs = [] if args.skip_vae else [(args.vae_label, model, s) for s in args.scales]
    if args.cvae:
        cvae = TextVAE.from_pretrained(args.cvae, device="cpu")
        runs += [(args.cvae_label, cvae, s) for s in args.cvae_scales]
    for label, generator, scale in runs:
        start = time.perf_counter()
        groups = generate(generator, sources, args.samples, scale=scale)
        outputs = pick(model, sources, groups, source_vecs if args.rerank else None)
        rows += evaluate_row(f"{label}, scale {scale:g}", model, outputs, groups, sources, refs, source_vecs, parts,
                             lexicon)
        print(f"{label} scale {scale:g}: {time.perf_counter() - start:.0f} s")
    apps = [] if args.skip_vae else [(args.vae_label, model)]
    apps += [(args.cvae_label, cvae)] if args.cvae else []
    for label, generator in apps if args.app else []:
        start = time.perf_counter()
        groups = app_outputs(generator, sources, args.samples)
        config = generator.config
        optional = "".join(f", {name} {getattr(config, f'rerank_{name}'):g}" for name in ("recovery", "brevity")
                           if getattr(config, f"rerank_{name}"))
        label = (f"{label}, paraphrase() ranked ({draws_described(generator, args.samples)}, overlap "
                 f"{config.rerank_overlap:g}, likelihood {config.rerank_likelihood:g}{optional}"
                 f"{', invented words last' if generator.lexicon is not None else ''})")
        rows += evaluate_row(label, model, [g[0] for g in groups], groups, sources, refs, source_vecs, parts,
                             lexicon)
        print(f"{label}: {time.perf_counter() - start:.0f} s")
    print(table(rows))
    if args.limit is None:  # merge with earlier rows (a run may add only the CVAE rows)
        old = json.loads(RESULTS.read_text())["rows"] if RESULTS.exists() else []
        merged = {(r["row"], r["subset"]): r for r in old + rows}
        rows = sorted(merged.values(), key=lambda r: (not r["row"].startswith("copy"), "cvae" in r["row"], r["row"]))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"model": args.model or "bundled", "cvae": args.cvae, "samples": args.samples,
                                       "date": datetime.date.today().isoformat(), "rows": rows}, indent=2) + "\n")
        update_section("paraphrase", "Paraphrase (QQP-50K test)", table(rows) + PROTOCOL, command_line())
        print(f"wrote {RESULTS} and {DOC}")


if __name__ == "__main__":
    main()
