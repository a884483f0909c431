#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- train`: times training steps of the seed LSTM
language model Embedding(V,E) -> LSTM(E->H) -> Linear(H->V), Adam, batch B x T,
on the CPU with a given thread count. Prints one JSON object.

  /usr/bin/python3 bench/train_torch.py --threads 1 --steps 10
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


class LM(torch.nn.Module):
    def __init__(self, V, E, H):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, E)
        self.lstm = torch.nn.LSTM(E, H, batch_first=True)
        self.decoder = torch.nn.Linear(H, V)

    def forward(self, x):
        y, _ = self.lstm(self.embedding(x))
        return self.decoder(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--V', type=int, default=10000)
    ap.add_argument('--E', type=int, default=128)
    ap.add_argument('--H', type=int, default=256)
    ap.add_argument('--B', type=int, default=32)
    ap.add_argument('--T', type=int, default=50)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = LM(a.V, a.E, a.H)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    times, losses = [], []
    for s in range(a.warmup + a.steps):
        x = torch.randint(0, a.V, (a.B, a.T))
        y = torch.randint(0, a.V, (a.B, a.T))
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(m(x).reshape(-1, a.V), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if s >= a.warmup:
            times.append(dt)
            losses.append(float(loss))
    med = statistics.median(times)
    print(json.dumps(dict(impl='pytorch', torch=torch.__version__, threads=a.threads, steps=a.steps,
                          ms_per_step_median=med * 1e3, ms_per_step_min=min(times) * 1e3,
                          tokens_per_second=a.B * a.T / med, last_loss_nats=losses[-1])))


if __name__ == '__main__':
    main()
