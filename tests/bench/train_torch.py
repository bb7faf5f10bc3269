#!/usr/bin/python3
"""train_torch.py — the PyTorch baseline for bench_train.sh: the same architecture
(Embedding 8000x512 -> spatial + input dropout as one per-sequence channel mask ->
LSTM 64 -> Dense 6, softmax cross-entropy, Adam lr 1e-3 eps 1e-7) trained on the data
file train_bench --write-data made, batch 64, shuffled.  nn.LSTM has no recurrent
dropout, so neither side uses it in the comparison.  Denormals are flushed to zero
(the faster PyTorch).  Prints one key=value line.

usage: train_torch.py DATA [--threads N] [--batch B] [--epochs E] [--limit N]
"""
import argparse
import resource
import sys
import time

import numpy as np
import torch


class Model(torch.nn.Module):
    def __init__(self, vocab=8000, embed=512, hidden=64, classes=6, spatial=0.8, dropout=0.8):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, embed)
        self.lstm = torch.nn.LSTM(embed, hidden, batch_first=True)
        self.dense = torch.nn.Linear(hidden, classes)
        self.keep = (1 - spatial) * (1 - dropout)

    def forward(self, tok):
        x = self.emb(tok)                       # B x T x D
        if self.training:                       # one mask per sequence and channel
            mask = (torch.rand(x.shape[0], 1, x.shape[2]) < self.keep).float() / self.keep
            x = x * mask
        _, (h, _) = self.lstm(x)
        return self.dense(h[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N sequences only")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    # Without this, denormal floats in the backward pass make PyTorch here 10-15x
    # slower (17 against 235 seq/s seen): flushing them gives the stronger baseline.
    torch.set_flush_denormal(True)
    raw = open(a.data, "rb").read()
    n, T, C = np.frombuffer(raw, dtype="<i4", count=3)
    tok = np.frombuffer(raw, dtype="<i4", count=n * T, offset=12).reshape(n, T).astype(np.int64)
    tg = np.frombuffer(raw, dtype="<f4", count=n * C, offset=12 + 4 * n * T).reshape(n, C)
    if a.limit:
        n = min(n, a.limit)
        tok, tg = tok[:n], tg[:n]
    tok, tg = torch.from_numpy(tok.copy()), torch.from_numpy(tg.copy())
    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()       # probability targets (torch >= 1.10)
    model.train()
    # one warm-up batch outside the clock (allocator, thread pool)
    loss_fn(model(tok[:a.batch]), tg[:a.batch]).backward()
    opt.zero_grad()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.epochs):
        perm = torch.randperm(n)
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            opt.zero_grad()
            loss = loss_fn(model(tok[idx]), tg[idx])
            loss.backward()
            opt.step()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"seq_per_s={n * a.epochs / dt:.1f} seconds={dt:.3f} cpu_seconds={cpu:.3f} sequences={n * a.epochs} "
          f"peak_rss_mb={rss:.1f} blas={torch.__config__.show().count('OpenBLAS') > 0} "
          f"loss={loss.item():.4f}")


if __name__ == "__main__":
    sys.exit(main())
