#!/usr/bin/python3
"""PyTorch reference cases for xent's linearCrossEntropy (src/loss/linear-cross-entropy.ts).

Each case draws float32 hidden [N, H], weight [V, H] and bias [V] (exactly representable: values
on a 2**-8 grid, so the float32 inputs xent reads are the very numbers used here), then computes
in float64 with torch autograd:
    logits = F.linear(hidden, weight, bias)                 [N, V]
    loss   = F.cross_entropy(logits, target, weight=class_weight, ignore_index=…,
                             reduction=…, label_smoothing=…)
             + z_loss term (PaLM's z·lse², xent's definition in src/loss/cross-entropy-kernel.ts:
               added for every kept row; 'mean' divides its sum by the kept rows, 'none' adds it
               to each kept row)
the plain cross-entropy beside it (nll: F.nll_loss(F.log_softmax(logits), …), the same reduction
and unit without label smoothing and z-loss), and the gradients of the reduced loss with respect
to hidden, weight and bias (for reduction 'none': of Σ_n gradOutput[n]·loss[n], with gradOutput
all ones unless the case gives one).
Units: 'bits' cases divide the loss (and hence every gradient) by ln 2.

Regenerate (Debian's python3-torch 1.13):
    /usr/bin/python3 test/loss/data/linear-cross-entropy/make_fixtures.py \
        test/loss/data/linear-cross-entropy/reference.json
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else "reference.json"


def grid(g, *shape, scale=1.0):
    # float32-exact values: multiples of 2**-8 in about [-scale, scale]
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale * 256).round() / 256


def enc(x):
    if isinstance(x, torch.Tensor):
        x = x.detach().reshape(-1).tolist()
    if isinstance(x, list):
        return [enc(e) for e in x]
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
    return x


def case(name, N, H, V, seed, reduction="mean", ignore_index=-100, ignore_rows=(), label_smoothing=0.0,
         class_weight=False, z_loss=0.0, bias=True, unit="nats", grad_output=False, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    hidden = grid(g, N, H, scale=scale).requires_grad_(True)
    weight = grid(g, V, H, scale=scale / math.sqrt(H)).requires_grad_(True)
    b = grid(g, V, scale=0.5).requires_grad_(True) if bias else None
    target = torch.randint(0, V, (N,), generator=g)
    for r in ignore_rows:
        target[r] = ignore_index
    cw = (torch.rand(V, generator=g, dtype=torch.float64) * 2 * 256).round() / 256 + 0.25 if class_weight else None
    go = grid(g, N, scale=1.0) if grad_output else None

    logits = F.linear(hidden, weight, b)
    # the plain cross-entropy beside the loss (xent's `nll`): no label smoothing, no z-loss
    nll = F.nll_loss(F.log_softmax(logits.detach(), dim=1), target, weight=cw, ignore_index=ignore_index,
                     reduction=reduction)
    if unit == "bits":
        nll = nll / math.log(2)
    loss = F.cross_entropy(logits, target, weight=cw, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)
    if z_loss > 0:
        kept = target != ignore_index
        lse = torch.logsumexp(logits, dim=1)
        zrow = torch.where(kept, z_loss * lse * lse, torch.zeros_like(lse))
        if reduction == "none":
            loss = loss + zrow
        elif reduction == "sum":
            loss = loss + zrow.sum()
        else:
            loss = loss + zrow.sum() / kept.sum()
    if unit == "bits":
        loss = loss / math.log(2)
    if reduction == "none":
        (loss * (go if go is not None else torch.ones(N, dtype=torch.float64))).sum().backward()
    else:
        loss.backward()
    return dict(
        name=name, N=N, H=H, V=V,
        hidden=enc(hidden), weight=enc(weight), bias=enc(b) if b is not None else None,
        target=target.tolist(),
        options=dict(reduction=reduction, ignoreIndex=ignore_index, labelSmoothing=label_smoothing,
                     weight=enc(cw) if cw is not None else None, zLoss=z_loss, unit=unit),
        gradOutput=enc(go) if go is not None else None,
        loss=enc(loss), nll=enc(nll),
        dHidden=enc(hidden.grad), dWeight=enc(weight.grad), dBias=enc(b.grad) if b is not None else None,
    )


def main():
    torch.set_default_dtype(torch.float64)
    cases = [
        case("mean", 6, 8, 37, 1),
        case("sum", 6, 8, 37, 2, reduction="sum"),
        case("none", 6, 8, 37, 3, reduction="none"),
        case("none grad_output", 6, 8, 37, 4, reduction="none", grad_output=True),
        case("no bias", 5, 7, 29, 5, bias=False),
        case("class weight mean", 7, 6, 33, 6, class_weight=True),
        case("class weight sum", 7, 6, 33, 7, class_weight=True, reduction="sum"),
        case("class weight none", 7, 6, 33, 8, class_weight=True, reduction="none"),
        case("label smoothing mean", 6, 8, 41, 9, label_smoothing=0.1),
        case("label smoothing sum", 6, 8, 41, 10, label_smoothing=0.2, reduction="sum"),
        case("label smoothing none", 6, 8, 41, 11, label_smoothing=0.3, reduction="none"),
        case("label smoothing + class weight", 6, 8, 41, 12, label_smoothing=0.1, class_weight=True),
        case("ignore_index -100", 8, 5, 31, 13, ignore_rows=(1, 4, 5)),
        case("ignore_index 3 + weight + smoothing", 8, 5, 31, 14, ignore_index=3, ignore_rows=(0, 7),
             class_weight=True, label_smoothing=0.05),
        case("ignore_index none", 8, 5, 31, 15, ignore_rows=(2,), reduction="none"),
        case("ignore every row mean", 4, 5, 19, 16, ignore_rows=(0, 1, 2, 3)),
        case("ignore every row sum", 4, 5, 19, 17, ignore_rows=(0, 1, 2, 3), reduction="sum"),
        case("ignore every row none", 4, 5, 19, 18, ignore_rows=(0, 1, 2, 3), reduction="none"),
        case("z-loss mean", 6, 8, 37, 19, z_loss=1e-2),
        case("z-loss sum + ignore", 6, 8, 37, 20, z_loss=1e-3, reduction="sum", ignore_rows=(2,)),
        case("z-loss none + smoothing + weight", 6, 8, 37, 21, z_loss=1e-2, reduction="none",
             label_smoothing=0.1, class_weight=True),
        case("bits", 6, 8, 37, 22, unit="bits"),
        case("bits none + grad_output", 6, 8, 37, 23, unit="bits", reduction="none", grad_output=True),
        case("N = 1", 1, 9, 23, 24),
        case("H = 1", 7, 1, 23, 25),
        case("V = 1", 3, 4, 1, 26),
        case("V = 1 with smoothing", 3, 4, 1, 27, label_smoothing=0.2),
        # V not a multiple of the test block sizes (7, 64) nor of the kernels' vectors (4, 8, 16)
        case("V = 1000 (many blocks)", 9, 16, 1000, 28, label_smoothing=0.1, class_weight=True, z_loss=1e-3),
        case("large logits", 5, 8, 50, 29, scale=30.0),
        case("all options", 12, 24, 203, 30, class_weight=True, label_smoothing=0.15, z_loss=1e-3,
             ignore_rows=(3, 8), reduction="mean", unit="bits"),
    ]
    meta = dict(torch=torch.__version__, n_cases=len(cases),
                generator="test/loss/data/linear-cross-entropy/make_fixtures.py")
    with open(OUT, "w") as f:
        json.dump(dict(meta=meta, cases=cases), f, separators=(",", ":"))
        f.write("\n")
    print(f"{OUT}: {len(cases)} cases (torch {torch.__version__})")


if __name__ == "__main__":
    main()
