#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- lce` (Debian's python3-torch): F.linear + F.cross_entropy
forward + backward (gradients of hidden, weight and bias; reduction 'mean') on random float32
inputs, in this fresh process. Prints one JSON object: median seconds per pass, the peak memory the
passes added (getrusage max RSS at the end − RSS once the inputs exist; the gradients are
allocated by each backward, as xent's are by each call, and the previous pass's are freed first),
the BLAS library torch.mm runs on and a torch.mm GFLOP/s sanity figure (a reference BLAS gives a
few GFLOP/s, OpenBLAS tens to hundreds per core).

  /usr/bin/python3 bench/lce_torch.py --N 8192 --H 1024 --V 32000 --threads 2 --reps 3
"""
import argparse
import gc
import json
import resource
import statistics
import time

import torch
import torch.nn.functional as F
from torch_env import blas_info, rss_bytes


def mm_gflops():
    a = torch.randn(1024, 1024)
    b = torch.randn(1024, 1024)
    torch.mm(a, b)
    t0 = time.perf_counter()
    for _ in range(3):
        torch.mm(a, b)
    return 3 * 2 * 1024 ** 3 / (time.perf_counter() - t0) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--N', type=int, required=True)
    ap.add_argument('--H', type=int, required=True)
    ap.add_argument('--V', type=int, required=True)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    sanity = mm_gflops()
    N, H, V = a.N, a.H, a.V
    # in place: no temporary raises the high-water mark before the baseline
    h = torch.empty(N, H).normal_().requires_grad_()
    w = torch.empty(V, H).normal_().div_(H ** 0.5).requires_grad_()
    b = torch.zeros(V, requires_grad=True)
    y = torch.randint(0, V, (N,))
    gc.collect()
    base = rss_bytes()
    ts = []
    loss = float('nan')
    for i in range(a.warmup + a.reps):
        h.grad = w.grad = b.grad = None
        gc.collect()
        t0 = time.perf_counter()
        out = F.cross_entropy(F.linear(h, w, b), y)
        out.backward()
        t = time.perf_counter() - t0
        loss = float(out)
        del out
        if i >= a.warmup:
            ts.append(t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    res = dict(torch=torch.__version__, threads=a.threads, N=N, H=H, V=V, reps=a.reps, median_s=statistics.median(ts),
               min_s=min(ts), all_s=ts, peak_extra_bytes=peak - base, loss_nats=loss, mm_gflops_1024=sanity)
    res.update(blas_info())
    print(json.dumps(res))


if __name__ == '__main__':
    main()
