"""The speed reference in plain PyTorch: a Sentence-VAE-style model (Bowman et al. 2016 as in the
popular re-implementation: one embedding table, forward GRU encoder over packed sequences, z -> the
decoder's initial state, embedding dropout 0.5, log_softmax + NLL summed per sentence, logistic KL
annealing, Adam, float32) trained for one epoch on PTB with textvae's own tokenization and batches.

It measures, on this machine, what `configs/ptb_bowman_reference.yaml` is compared against: seconds
per epoch and the single-sample -ELBO after one epoch, next to textvae's `bowman_reference` row of
scripts/bench_ptb.py. Writes benchmarks/results/reference.json.

    python scripts/bench_reference.py            # one epoch, 2 threads
    python scripts/bench_reference.py --quick    # 50 steps, smoke check
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import resource
import sys
import time
from pathlib import Path

import psutil
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textvae.config import load_experiment  # noqa: E402
from textvae.data import TextDataset, load_texts  # noqa: E402
from textvae.data.batching import BucketBatchSampler  # noqa: E402
from textvae.data.tokenizers import PAD, train_tokenizer  # noqa: E402

CONFIG = ROOT / "configs" / "ptb_bowman_reference.yaml"
RESULTS = ROOT / "benchmarks" / "results" / "reference.json"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=psutil.cpu_count(logical=False) or 1)
    parser.add_argument("--quick", action="store_true", help="50 steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
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
    batches = list(sampler)[:50] if args.quick else list(sampler)
    epoch_start = time.perf_counter()
    for step, indices in enumerate(batches):
        rec, kl = model(train.collate(indices))
        beta = 1 / (1 + math.exp(-o.logistic_k * (step - o.logistic_x0)))
        loss = (rec + beta * kl).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    epoch_seconds = time.perf_counter() - epoch_start
    row = {"config": "sentence_vae_plain_pytorch", "threads": args.threads, "steps": len(batches),
           "sec_per_epoch": round(epoch_seconds, 1), "wall_seconds": None,
           "valid": neg_elbo(model, valid), "test": neg_elbo(model, test),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
           "date": datetime.date.today().isoformat()}
    row["wall_seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(row, indent=2))
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(row, indent=2) + "\n")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
