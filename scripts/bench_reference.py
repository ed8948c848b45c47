"""The speed reference in plain PyTorch: a Sentence-VAE-style model (Bowman et al. 2016 as in the
popular re-implementation: one embedding table, forward GRU encoder over packed sequences, z -> the
decoder's initial state, embedding dropout 0.5, log_softmax + NLL summed per sentence, logistic KL
annealing, Adam, float32) trained for one epoch on PTB with textvae's own tokenization and batches.

It then trains textvae's `configs/ptb_bowman_reference.yaml` (the same model) for one epoch with
`textvae train`, on the same machine with the same threads, and reports both: seconds per epoch, the
speed-up, and the single-sample -ELBO after one epoch. CPUs of the same core count differ several-fold
in matmul speed (AMX or not), so the comparison is made on one machine, which `textvae env` describes;
benchmarks/results/reference.json keeps one run per machine and docs/RESULTS.md shows them all.

    python scripts/bench_reference.py            # one epoch each, 2 threads
    python scripts/bench_reference.py --quick    # 100 steps each, smoke check (nothing written)
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import resource
import time

import psutil
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from benchkit.paths import RESULTS_DIR, ROOT
from benchkit.ptb import evaluate_report, seconds_per_epoch
from benchkit.ptb import train as train_row
from benchkit.results import DOC, command_line, record_run, update_section
from textvae.config import load_experiment
from textvae.data import TextDataset, load_texts
from textvae.data.batching import BucketBatchSampler
from textvae.data.tokenizers import PAD, train_tokenizer
from textvae.fastcpu.machine import machine_info

CONFIG = ROOT / "configs" / "ptb_bowman_reference.yaml"
RESULTS = RESULTS_DIR / "reference.json"
QUICK_STEPS = 100


class SentenceVAE(nn.Module):
    """The reference's architecture, with stock PyTorch layers."""

    def __init__(self, vocab: int, embed: int, hidden: int, latent: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.encoder = nn.GRU(embed, hidden, batch_first=True)
        self.decoder = nn.GRU(embed, hidden, batch_first=True)
        self.to_mean, self.to_logv = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.to_hidden = nn.Linear(latent, hidden)
        self.output = nn.Linear(hidden, vocab)
        self.dropout = nn.Dropout(dropout)

    def forward(self, batch: dict) -> tuple[Tensor, Tensor]:
        """-> NLL (B,) summed over tokens incl. EOS, and KL (B,)."""
        lengths = batch["lengths"]
        _, h = self.encoder(pack_padded_sequence(self.embedding(batch["target_ids"]), lengths, batch_first=True,
                                                 enforce_sorted=False))
        mean, logv = self.to_mean(h[0]), self.to_logv(h[0])
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logv)
        inputs = pack_padded_sequence(self.dropout(self.embedding(batch["input_ids"])), lengths, batch_first=True,
                                      enforce_sorted=False)
        out, _ = pad_packed_sequence(self.decoder(inputs, self.to_hidden(z)[None])[0], batch_first=True)
        targets = batch["target_ids"][:, :out.shape[1]]
        logp = F.log_softmax(self.output(out), dim=-1)
        nll = F.nll_loss(logp.flatten(0, 1), targets.flatten(), ignore_index=PAD, reduction="none")
        kl = -0.5 * (1 + logv - mean.pow(2) - logv.exp()).sum(-1)
        return nll.view(targets.shape).sum(1), kl


@torch.no_grad()
def neg_elbo(model: SentenceVAE, dataset: TextDataset, batch_size: int = 64) -> dict[str, float]:
    model.eval()
    nll = kl = 0.0
    for start in range(0, len(dataset), batch_size):
        rec, div = model(dataset.collate(list(range(start, min(start + batch_size, len(dataset))))))
        nll, kl = nll + rec.sum().item(), kl + div.sum().item()
    model.train()
    return {"reconstruction": nll / len(dataset), "kl": kl / len(dataset), "neg_elbo": (nll + kl) / len(dataset)}


def plain_epoch(threads: int, quick: bool) -> dict:
    """One epoch (QUICK_STEPS steps with `quick`) of the plain-PyTorch model; its speed and -ELBO."""
    torch.set_num_threads(threads)
    cfg = load_experiment(CONFIG)
    start = time.perf_counter()
    texts = load_texts(cfg.data.train)
    tokenizer = train_tokenizer(cfg.data.tokenizer, texts, cfg.data.vocab_size, cfg.data.lowercase)
    train = TextDataset(texts, tokenizer, cfg.data.max_length)
    valid, test = (TextDataset(load_texts(spec), tokenizer) for spec in (cfg.data.valid, cfg.data.test))
    torch.manual_seed(cfg.train.seed)
    m, o = cfg.model, cfg.objective
    model = SentenceVAE(tokenizer.vocab_size, m.embed_dim, m.hidden_dim, m.latent_dim, m.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    sampler = BucketBatchSampler(train.lengths, cfg.train.batch_size, shuffle=True, seed=cfg.train.seed)
    batches = list(sampler)[:QUICK_STEPS] if quick else list(sampler)
    epoch_start = time.perf_counter()
    for step, indices in enumerate(batches):
        rec, kl = model(train.collate(indices))
        beta = 1 / (1 + math.exp(-o.logistic_k * (step - o.logistic_x0)))
        loss = (rec + beta * kl).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    epoch_seconds = time.perf_counter() - epoch_start
    return {"config": "sentence_vae_plain_pytorch", "steps": len(batches),
            "sec_per_epoch": None if quick else round(epoch_seconds, 1),
            "ms_per_step": round(1000 * epoch_seconds / len(batches), 1),
            "valid": neg_elbo(model, valid), "test": neg_elbo(model, test),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "wall_seconds": round(time.perf_counter() - start, 1)}


def textvae_epoch(threads: int, quick: bool) -> dict:
    """The same configuration trained by `textvae train` (one epoch, or QUICK_STEPS steps with `quick`) in a
    subprocess with `threads` threads, then `textvae evaluate` on the validation and test sets."""
    cfg = load_experiment(CONFIG)
    run_dir = ROOT / "runs" / ("reference-textvae-quick" if quick else "reference-textvae")
    wall, peak = train_row("bowman_reference", str(CONFIG.relative_to(ROOT)),
                           [f"train.max_steps={QUICK_STEPS}"] if quick else [], run_dir, print, threads)
    steps = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    step_times = [r["time"] for r in steps if "loss" in r]  # logged every train.log_every steps
    row = {"config": "bowman_reference (textvae)", "steps": max(r["step"] for r in steps),
           "sec_per_epoch": seconds_per_epoch(run_dir), "peak_rss_mb": round(peak), "wall_seconds": round(wall, 1)}
    if len(step_times) > 1:  # from the log's timestamps, without start-up
        row["ms_per_step"] = round(1000 * (step_times[-1] - step_times[0]) / (cfg.train.log_every * (len(step_times) - 1)), 1)
    for split in ("valid", "test"):
        report = evaluate_report("bowman_reference", run_dir, getattr(cfg.data, split), [], threads)
        row[split] = {key: report[key] for key in ("reconstruction", "kl", "neg_elbo")}
    return row


def table(runs: list[dict]) -> str:
    lines = ["| machine | threads | plain PyTorch s/epoch | textvae s/epoch | speed-up | test −ELBO plain | "
             "test −ELBO textvae | peak RSS MB plain / textvae | date |", "|" + "---|" * 9]
    for r in runs:
        plain, ours = r["plain"], r["textvae"]
        lines.append(f"| {r['machine']['label']} | {r['threads']} | {plain['sec_per_epoch']:.1f} | {ours['sec_per_epoch']:.1f} | "
                     f"{r['speedup']:.2f}x | {plain['test']['neg_elbo']:.2f} | {ours['test']['neg_elbo']:.2f} | "
                     f"{plain['peak_rss_mb']} / {ours['peak_rss_mb']} | {r['date']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=psutil.cpu_count(logical=False) or 1)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps each, nothing written")
    args = parser.parse_args()
    machine = machine_info(measure=not args.quick)
    print(f"machine: {machine['label']}")
    ours = textvae_epoch(args.threads, args.quick)  # first: a subprocess, before this one loads its own data
    plain = plain_epoch(args.threads, args.quick)
    per = "ms_per_step" if args.quick else "sec_per_epoch"  # a quick run has no whole epoch
    run = {"machine": machine, "threads": args.threads, "plain": plain, "textvae": ours,
           "speedup": plain[per] / ours[per] if ours.get(per) else None, "date": datetime.date.today().isoformat()}
    print(json.dumps(run, indent=2))
    if args.quick:
        return
    runs = record_run(RESULTS, run)
    update_section("reference", "Training speed of the reference configuration", table(runs) + "\n\nOne epoch of "
                   "PTB train (1,315 steps of 32), the same tokenization and length-bucketed batches, on the same "
                   "machine; −ELBO single-sample after that epoch.", command_line())
    print(table(runs))
    print(f"wrote {RESULTS} and {DOC}")


if __name__ == "__main__":
    main()
