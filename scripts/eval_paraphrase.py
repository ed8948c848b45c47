"""Paraphrase evaluation on the QQP-50K test pairs (Gupta et al. 2018 setting).

Every number is reported twice: on all 4,000 test pairs and on the "unseen" pairs whose source and
reference both do not occur (case-insensitive, exact) anywhere in the training file.

    python scripts/eval_paraphrase.py                        # bundled VAE, scales 0 / 0.5 / 1 / 2
    python scripts/eval_paraphrase.py --model runs/my_vae --limit 500 --samples 5
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import torch

from benchkit.corpora import unseen_mask
from benchkit.fidelity import generate
from benchkit.paths import QQP, RESULTS_DIR
from benchkit.results import DOC, command_line, update_section
from textvae import TextVAE
from textvae.apps.similarity import sentence_embeddings
from textvae.data import load_texts
from textvae.metrics.generation import corpus_bleu, distinct_n, ibleu, self_bleu

RESULTS = RESULTS_DIR / "paraphrase.json"
PROTOCOL = ("\n\nBLEU: sacrebleu corpus BLEU of one output per source (the first of the samples that differs from "
            "the source) against the reference / the source; iBLEU = 0.8 BLEU-ref - 0.2 BLEU-src; self-BLEU and "
            "distinct-n over all samples per source (lower-cased whitespace tokens); sim: MiniLM cosine to the "
            "source. 'unseen': source and reference both absent from train.tsv (case-insensitive).")


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
          similarity: list[float]) -> dict:
    bleu_ref, bleu_src = corpus_bleu(outputs, refs), corpus_bleu(outputs, sources)
    all_samples = [s for g in groups for s in g]
    return {"bleu_ref": bleu_ref, "bleu_src": bleu_src, "ibleu": ibleu(bleu_ref, bleu_src),
            "self_bleu": self_bleu(groups) if len(groups[0]) > 1 else None,
            "distinct_1": distinct_n(all_samples, 1), "distinct_2": distinct_n(all_samples, 2),
            "similarity": sum(similarity) / len(similarity), "pairs": len(outputs)}


def subsets(mask: list[bool]) -> dict[str, list[int]]:
    return {"all": list(range(len(mask))), "unseen": [i for i, m in enumerate(mask) if m]}


def evaluate_row(name, model, outputs, groups, sources, refs, source_vecs, mask) -> list[dict]:
    sims = (embed(model, outputs) * source_vecs).sum(-1).tolist()
    rows = []
    for subset, idx in subsets(mask).items():
        part = [[xs[i] for i in idx] for xs in (outputs, groups, sources, refs, sims)]
        rows.append({"row": name, "subset": subset, **score(*part)})
    return rows


def fmt(v) -> str:
    return "–" if v is None else (f"{v:.3f}" if abs(v) < 1 else f"{v:.1f}") if isinstance(v, float) else str(v)


def table(rows: list[dict]) -> str:
    keys = ["bleu_ref", "bleu_src", "ibleu", "self_bleu", "distinct_1", "distinct_2", "similarity"]
    lines = ["| row | subset | pairs | BLEU-ref | BLEU-src | iBLEU | self-BLEU | dist-1 | dist-2 | sim |",
             "|" + "---|" * 10]
    for r in rows:
        lines.append(f"| {r['row']} | {r['subset']} | {r['pairs']} | " + " | ".join(fmt(r[k]) for k in keys) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="VAE folder (default: the bundled model)")
    parser.add_argument("--cvae", default=None, help="also evaluate this supervised conditional VAE")
    parser.add_argument("--cvae-scales", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--cvae-label", default="supervised cvae", help="row name of the --cvae model")
    parser.add_argument("--vae-label", default="vae sample", help="row name of the --model rows")
    parser.add_argument("--skip-vae", action="store_true", help="only the copy baseline and --cvae rows")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    parser.add_argument("--samples", type=int, default=5, help="samples per source (self-BLEU, distinct)")
    parser.add_argument("--rerank", action="store_true", help="pick the most similar differing sample (slower)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N test pairs (smoke runs)")
    parser.add_argument("--data", default=str(QQP))
    args = parser.parse_args()
    torch.manual_seed(0)
    data = Path(args.data)
    sources = load_texts(data / "test.tsv", 0, drop_empty=False)[: args.limit]
    refs = load_texts(data / "test.tsv", 1, drop_empty=False)[: args.limit]
    mask = unseen_mask(sources, refs, data / "train.tsv")
    print(f"{len(sources)} test pairs, {sum(mask)} unseen")
    model = TextVAE.from_pretrained(args.model, device="cpu")
    source_vecs = embed(model, sources)
    rows = evaluate_row("copy-the-source", model, sources, [[s] for s in sources], sources, refs, source_vecs, mask)
    runs = [] if args.skip_vae else [(args.vae_label, model, s) for s in args.scales]
    if args.cvae:
        cvae = TextVAE.from_pretrained(args.cvae, device="cpu")
        runs += [(args.cvae_label, cvae, s) for s in args.cvae_scales]
    for label, generator, scale in runs:
        start = time.perf_counter()
        groups = generate(generator, sources, args.samples, scale=scale)
        outputs = pick(model, sources, groups, source_vecs if args.rerank else None)
        rows += evaluate_row(f"{label}, scale {scale:g}", model, outputs, groups, sources, refs, source_vecs, mask)
        print(f"{label} scale {scale:g}: {time.perf_counter() - start:.0f} s")
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
