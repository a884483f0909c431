#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- native-train` (Debian's python3-torch). Prints one JSON object,
with the BLAS library torch.mm ran on (Debian's torch takes libblas.so.3 from the system's
alternatives: the reference BLAS unless OpenBLAS is installed or put first on LD_LIBRARY_PATH).

  --mode mm  --shapes M,N,K,tA,tB;... : torch.mm timings (tA/tB: the operand is stored transposed,
             as xent's sgemm reads it), seconds per product
  --mode lce --N --H --V               : F.linear + F.cross_entropy forward + backward (dh, dw, db),
             seconds per pass and the peak resident memory it added

  /usr/bin/python3 bench/native_train_torch.py --mode mm --threads 2 --reps 7 --shapes 1600,10000,256,0,1
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn.functional as F
from torch_env import blas_info, rss_bytes


def operand(rows, cols, transposed):
    # stored [cols, rows] and used transposed, like xent's transA / transB
    return torch.randn(cols, rows).t() if transposed else torch.randn(rows, cols)


def time_it(f, reps, warmup=1):
    for _ in range(warmup):
        f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return ts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', choices=['mm', 'lce'], required=True)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--reps', type=int, default=7)
    ap.add_argument('--shapes', default='')
    ap.add_argument('--N', type=int, default=2048)
    ap.add_argument('--H', type=int, default=1024)
    ap.add_argument('--V', type=int, default=32000)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out = dict(torch=torch.__version__, threads=a.threads, reps=a.reps)
    if a.mode == 'mm':
        res = []
        for s in a.shapes.split(';'):
            M, N, K, ta, tb = (int(x) for x in s.split(','))
            A = operand(M, K, ta == 1)
            B = operand(K, N, tb == 1)
            C = torch.empty(M, N)
            ts = time_it(lambda: torch.mm(A, B, out=C), a.reps)
            res.append(dict(M=M, N=N, K=K, transA=ta, transB=tb, median_s=statistics.median(ts), min_s=min(ts)))
        out['mm'] = res
    else:
        N, H, V = a.N, a.H, a.V
        h = torch.randn(N, H, requires_grad=True)
        w = torch.randn(V, H).div_(H ** 0.5).requires_grad_()  # in place: no temporary in the peak
        b = torch.zeros(V, requires_grad=True)
        y = torch.randint(0, V, (N,))
        # the gradients are outputs, as xent's dh, dw, db: allocate them before the baseline
        h.grad, w.grad, b.grad = torch.zeros_like(h), torch.zeros_like(w), torch.zeros_like(b)

        def step():
            h.grad.zero_()
            w.grad.zero_()
            b.grad.zero_()
            loss = F.cross_entropy(F.linear(h, w, b), y)
            loss.backward()
            return float(loss)

        base = rss_bytes()
        ts = time_it(step, a.reps)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out.update(lce=dict(N=N, H=H, V=V, median_s=statistics.median(ts), min_s=min(ts), loss_nats=step(),
                            extra_peak_bytes=peak - base))
    out.update(blas_info())
    print(json.dumps(out))


if __name__ == '__main__':
    main()
