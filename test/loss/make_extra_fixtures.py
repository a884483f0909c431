#!/usr/bin/python3
"""Extra PyTorch reference cases for xent's loss library, beyond ../shared/fixtures.

Same format and conventions as ../shared/fixtures/make_fixtures.py (float64, logits on a
2**-10 grid, non-finite numbers as strings, grad of sum(loss) for reduction='none').
Covers quirks and options the shared file does not: label smoothing + ignore_index without
weights, nll_loss, kl_div reduction='none', BCE weights over N-D shapes, soft targets with
smoothing + weights, distillation with alpha 0 / 1, and xent's z-loss (defined in
src/loss/cross-entropy-kernel.ts), computed here independently with torch autograd.

Regenerate (needs Debian's python3-torch):
    /usr/bin/python3 test/loss/make_extra_fixtures.py test/loss/extra_reference.json
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = sys.argv[1] if len(sys.argv) > 1 else "extra_reference.json"


def enc(x):
    if isinstance(x, torch.Tensor):
        x = x.detach().tolist()
    if isinstance(x, (list, tuple)):
        return [enc(e) for e in x]
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return x if x != 0.0 else 0.0
    return x


def rlogits(shape, seed, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g) * scale
    return torch.round(x * 1024.0) / 1024.0


CASES = []


def add(name, op, inputs, params, expected, grad, red, grad_wrt="logits", **extra):
    c = {"name": name, "op": op, "inputs": {}, "params": {k: enc(v) for k, v in params.items()}}
    for k, v in inputs.items():
        c["inputs"][k] = enc(v)
        if isinstance(v, torch.Tensor):
            c["inputs"][k + "_shape"] = list(v.shape)
    c["expected"] = enc(expected)
    c["grad"] = enc(grad)
    c["grad_of"] = "sum(loss)" if red == "none" else "loss"
    c["grad_wrt"] = grad_wrt
    c.update({k: enc(v) for k, v in extra.items()})
    CASES.append(c)


W7 = [0.5, 1.0, 2.0, 1.5, 0.25, 3.0, 1.0]
L67 = rlogits((6, 7), 103)
T67 = torch.tensor([1, -100, 4, 5, 0, -100])
P67 = torch.softmax(rlogits((6, 7), 104, 1.0), dim=-1)


def ce(name, x, t, z_loss=0.0, **kw):
    """F.cross_entropy (+ xent's z-loss: z * lse^2 per kept row; mean over kept rows)."""
    xr = x.clone().requires_grad_(True)
    tk = dict(kw)
    if tk.get("weight") is not None:
        tk["weight"] = torch.tensor(tk["weight"])
    red = kw.get("reduction", "mean")
    loss = F.cross_entropy(xr, t, **tk)
    if z_loss > 0:
        lse = torch.logsumexp(xr, dim=-1)
        kept = torch.ones(x.shape[0], dtype=torch.bool) if t.is_floating_point() else (t != kw.get("ignore_index", -100))
        zrow = torch.where(kept, z_loss * lse * lse, torch.zeros_like(lse))
        if red == "none":
            loss = loss + zrow
        elif red == "sum":
            loss = loss + zrow.sum()
        else:
            loss = loss + zrow.sum() / kept.sum()
    (loss.sum() if red == "none" else loss).backward()
    add(name, "cross_entropy", {"logits": x, "target": t},
        {"reduction": red, "ignore_index": kw.get("ignore_index", -100),
         "label_smoothing": kw.get("label_smoothing", 0.0), "weight": kw.get("weight"),
         "z_loss": z_loss},
        loss, xr.grad, red, target_kind="probs" if t.is_floating_point() else "index")


for red in ("mean", "sum", "none"):
    ce(f"ce_ls_ignore_unweighted_{red}", L67, T67, reduction=red, label_smoothing=0.2)
    ce(f"ce_zloss_{red}", L67, T67, z_loss=1e-2, reduction=red)
    ce(f"ce_zloss_weight_ls_{red}", L67, T67, z_loss=0.05, reduction=red, weight=W7, label_smoothing=0.1)
    ce(f"ce_soft_ls_weight_{red}", L67, P67, reduction=red, weight=W7, label_smoothing=0.3)
ce("ce_zloss_soft_mean", L67, P67, z_loss=1e-2, reduction="mean")
ce("ce_ls_1_mean", L67, T67, reduction="mean", label_smoothing=1.0)
ce("ce_ignore_custom_weight_sum", L67, torch.tensor([1, 3, 4, 3, 0, 6]), reduction="sum", ignore_index=3, weight=W7)


def nll(name, lp, t, **kw):
    lr = lp.clone().requires_grad_(True)
    tk = dict(kw)
    if tk.get("weight") is not None:
        tk["weight"] = torch.tensor(tk["weight"])
    red = kw.get("reduction", "mean")
    loss = F.nll_loss(lr, t, **tk)
    (loss.sum() if red == "none" else loss).backward()
    add(name, "nll_loss", {"log_probs": lp, "target": t},
        {"reduction": red, "ignore_index": kw.get("ignore_index", -100), "weight": kw.get("weight")},
        loss, lr.grad, red, grad_wrt="log_probs")


LP67 = F.log_softmax(L67, dim=-1)
for red in ("mean", "sum", "none"):
    nll(f"nll_weight_ignore_{red}", LP67, T67, reduction=red, weight=W7)


def kl(name, inp, tgt, reduction, log_target):
    ir = inp.clone().requires_grad_(True)
    loss = F.kl_div(ir, tgt, reduction=reduction, log_target=log_target)
    (loss.sum() if reduction == "none" else loss).backward()
    add(name, "kl_div_input", {"input": inp, "target": tgt},
        {"reduction": reduction, "log_target": log_target}, loss, ir.grad, reduction, grad_wrt="input")


Q67 = torch.softmax(rlogits((6, 7), 105), dim=-1)
Q67[2, 3] = 0.0
kl("kl_none", LP67, Q67, "none", False)
kl("kl_none_log_target", LP67, F.log_softmax(rlogits((6, 7), 106), dim=-1), "none", True)
kl("kl_batchmean_3d", F.log_softmax(rlogits((2, 3, 4), 107), dim=-1), torch.softmax(rlogits((2, 3, 4), 108), dim=-1), "batchmean", False)


def bce(name, p, y, **kw):
    pr = p.clone().requires_grad_(True)
    tk = {k: (torch.tensor(v) if isinstance(v, list) else v) for k, v in kw.items()}
    red = kw.get("reduction", "mean")
    loss = F.binary_cross_entropy(pr, y, **tk)
    (loss.sum() if red == "none" else loss).backward()
    add(name, "binary_cross_entropy", {"probs": p, "target": y},
        {"reduction": red, "weight": kw.get("weight")}, loss, pr.grad, red, grad_wrt="probs")


def bcel(name, x, y, **kw):
    xr = x.clone().requires_grad_(True)
    tk = {k: (torch.tensor(v) if isinstance(v, list) else v) for k, v in kw.items()}
    red = kw.get("reduction", "mean")
    loss = F.binary_cross_entropy_with_logits(xr, y, **tk)
    (loss.sum() if red == "none" else loss).backward()
    add(name, "binary_cross_entropy_with_logits", {"logits": x, "target": y},
        {"reduction": red, "weight": kw.get("weight"), "pos_weight": kw.get("pos_weight")},
        loss, xr.grad, red)


X223 = rlogits((2, 2, 3), 109)
Y223 = (torch.rand(2, 2, 3, generator=torch.Generator().manual_seed(110)) > 0.5).double()
bce("bce_weight_lastdim_3d_mean", torch.sigmoid(X223), Y223, reduction="mean", weight=[0.5, 2.0, 1.0])
bce("bce_weight_full_sum", torch.sigmoid(X223), Y223, reduction="sum",
    weight=torch.arange(1.0, 13.0).reshape(2, 2, 3) / 4)
bcel("bce_logits_weight_posweight_3d_mean", X223, Y223, reduction="mean", weight=[0.5, 2.0, 1.0], pos_weight=[2.0, 0.5, 4.0])
bcel("bce_logits_weight_full_none", X223, Y223, reduction="none", weight=torch.arange(1.0, 13.0).reshape(2, 2, 3) / 4)


def kd(name, s, t, T, y, alpha):
    sr = s.clone().requires_grad_(True)
    soft = F.kl_div(F.log_softmax(sr / T, dim=-1), F.softmax(t / T, dim=-1), reduction="batchmean") * (T * T)
    hard = F.cross_entropy(sr, y)
    loss = alpha * soft + (1 - alpha) * hard
    loss.backward()
    add(name, "distillation", {"student_logits": s, "teacher_logits": t, "target": y},
        {"temperature": T, "alpha": alpha, "t2_scaling": True, "reduction": "batchmean"},
        loss, sr.grad, "mean", grad_wrt="student_logits", soft_part=soft, hard_part=hard)


S47 = rlogits((4, 7), 111)
TT47 = rlogits((4, 7), 112)
Y47 = torch.tensor([3, -100, 6, 2])
kd("distill_alpha0_T3_ignore", S47, TT47, 3.0, Y47, 0.0)
kd("distill_alpha1_T1", S47, TT47, 1.0, Y47, 1.0)

LI = torch.tensor([[-math.inf, 1.5, 0.25, -math.inf], [-math.inf] * 4, [1e4, -1e4, 0.0, 1e4]])
add("softmax_neg_inf", "softmax", {"x": LI}, {"dim": -1}, torch.softmax(LI, -1), None, "none")
add("log_softmax_neg_inf", "log_softmax", {"x": LI}, {"dim": -1}, torch.log_softmax(LI, -1), None, "none")

with open(OUT, "w") as f:
    json.dump({"meta": {"generator": "test/loss/make_extra_fixtures.py", "torch": torch.__version__,
                        "dtype": "float64", "n_cases": len(CASES)}, "cases": CASES},
              f, allow_nan=False, separators=(",", ":"))
print(f"wrote {OUT}: {len(CASES)} cases")
