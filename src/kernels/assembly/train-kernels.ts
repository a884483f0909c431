// WebAssembly SIMD kernels of the LSTM language model trainer (src/train/fast-trainer.ts).
// AssemblyScript; compiled twice: plain SIMD (train-kernels.wasm) and with relaxed SIMD
// fused multiply-add (train-kernels-relaxed.wasm). Memory is imported and shared with
// worker threads; every pointer is a byte offset into it, every array f32 row-major.
// Each parallel kernel takes (part, nparts) and does its share of the work, so the
// same call runs on the main thread and on each worker. The plain TypeScript
// reference these are validated against: src/core/matmul.ts, src/models/lstm/lstm-grad.ts,
// src/models/lstm/output-ce.ts, src/train/adam.ts.

// ---------- helpers ----------

import { madd, rangeLo } from './lib/train-common';
import { mmRange } from './lib/panel-mm';
import { expClampLo5 } from './lib/simd-exp';
// the matrix product: lib/panel-mm.ts
export { packB, mm } from './lib/panel-mm';
export { trapForTesting } from './lib/trap-for-testing';

// exp on 4 lanes: lib/simd-exp.ts's degree-5 e^x (relative error 1.6e-7; the magic-number
// rounding costs two instructions where i32x4.trunc_sat costs V8 several), inputs clamped to
// [-87, 88] so the result stays a normal float (e^-87 ≈ 1.6e-38 stands in for 0). NaN stays NaN.
@inline function expv(x: v128): v128 {
  return expClampLo5(f32x4.pmin(x, f32x4.splat(88.0)));
}

@inline function sigm(x: f32): f32 {
  return 1.0 / (1.0 + Mathf.exp(-x));
}

// σ and tanh on 4 lanes through expv (relative error of e^x < 2e-7; tanh = 2σ(2x) − 1 has
// absolute error ~1e-7 near 0, far inside the trainer's 1e-4 agreement with float64).
@inline function sigmv(x: v128): v128 {
  return f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), expv(f32x4.neg(x))));
}

@inline function tanhv(x: v128): v128 {
  return f32x4.sub(f32x4.mul(f32x4.splat(2.0), sigmv(f32x4.add(x, x))), f32x4.splat(1.0));
}

// ---------- output layer + cross-entropy on a block of rows ----------

/**
 * For rows r of z [rows, V] (logits): loss_r = (1−ε)(lse − z_y) + ε(lse − mean z) into
 * lossOut[r] (f64), ce (lse − z_y) into ceOut[r] (f64); with grad ≠ 0 z is replaced by
 * scale·(softmax(z) − (1−ε)·onehot(y) − ε/V). Rows with y = ignore get loss 0, gradient 0.
 */
export function ceRows(z: usize, targets: usize, rows: i32, V: i32, eps: f32, ignore: i32, scale: f32, grad: i32,
  lossOut: usize, ceOut: usize, part: i32, nparts: i32): void {
  const r0 = rangeLo(rows, 1, part, nparts), r1 = rangeLo(rows, 1, part + 1, nparts);
  const V4 = V & ~3;
  for (let r = r0; r < r1; r++) {
    const zp = z + (<usize>(r * V) << 2);
    const y = load<i32>(targets + (<usize>r << 2));
    if (y == ignore) {
      store<f64>(lossOut + (<usize>r << 3), 0);
      store<f64>(ceOut + (<usize>r << 3), 0);
      if (grad != 0) memory.fill(zp, 0, <usize>V << 2);
      continue;
    }
    let mx = f32x4.splat(-Infinity);
    let zs0 = f64x2.splat(0), zs1 = f64x2.splat(0);
    let v = 0;
    for (; v < V4; v += 4) {
      const x = v128.load(zp + (<usize>v << 2));
      mx = f32x4.max(mx, x);
      zs0 = f64x2.add(zs0, f64x2.promote_low_f32x4(x));
      zs1 = f64x2.add(zs1, f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 0, 1)));
    }
    let m = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    let zsum = f64x2.extract_lane(zs0, 0) + f64x2.extract_lane(zs0, 1) + f64x2.extract_lane(zs1, 0) + f64x2.extract_lane(zs1, 1);
    for (let u = v; u < V; u++) { const x = load<f32>(zp + (<usize>u << 2)); m = max(m, x); zsum += <f64>x; }
    const zy = <f64>load<f32>(zp + (<usize>y << 2));
    // exp(z − max) in place, summed in f64
    const mv = f32x4.splat(m);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    v = 0;
    for (; v < V4; v += 4) {
      const e = expv(f32x4.sub(v128.load(zp + (<usize>v << 2)), mv));
      if (grad != 0) v128.store(zp + (<usize>v << 2), e);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
    }
    let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
    for (let u = v; u < V; u++) {
      const e = Mathf.exp(load<f32>(zp + (<usize>u << 2)) - m);
      if (grad != 0) store<f32>(zp + (<usize>u << 2), e);
      s += <f64>e;
    }
    const lse = <f64>m + Math.log(s);
    const ce = lse - zy;
    store<f64>(ceOut + (<usize>r << 3), ce);
    store<f64>(lossOut + (<usize>r << 3), (1.0 - <f64>eps) * ce + <f64>eps * (lse - zsum / <f64>V));
    if (grad != 0) {
      const k = f32x4.splat(<f32>(<f64>scale / s));
      const c = f32x4.splat(scale * eps / <f32>V);
      v = 0;
      for (; v < V4; v += 4) v128.store(zp + (<usize>v << 2), f32x4.sub(f32x4.mul(v128.load(zp + (<usize>v << 2)), k), c));
      for (let u = v; u < V; u++) store<f32>(zp + (<usize>u << 2), load<f32>(zp + (<usize>u << 2)) * <f32>(<f64>scale / s) - scale * eps / <f32>V);
      store<f32>(zp + (<usize>y << 2), load<f32>(zp + (<usize>y << 2)) - scale * (1.0 - eps));
    }
  }
}

// ---------- LSTM pointwise parts (time-major: the B rows of step t are contiguous) ----------

/**
 * One forward step for rows b in [b0, b1): pre = gh[b] + xg[b] (both [B, 4H]),
 * act[b] = (σ(i), σ(f), tanh(g), σ(o)), c[b] = f·cprev[b] + i·g, h[b] = o·tanh(c[b]).
 */
function lstmFwdRows(gh: usize, xg: usize, act: usize, cprev: usize, c: usize, h: usize, b0: i32, b1: i32, H: i32): void {
  const G = 4 * H;
  for (let b = b0; b < b1; b++) {
    const go = <usize>(b * G) << 2, ho = <usize>(b * H) << 2;
    const Ho = <usize>H << 2;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const jo = <usize>j << 2;
      const gi = sigmv(f32x4.add(v128.load(gh + go + jo), v128.load(xg + go + jo)));
      const gf = sigmv(f32x4.add(v128.load(gh + go + Ho + jo), v128.load(xg + go + Ho + jo)));
      const gg = tanhv(f32x4.add(v128.load(gh + go + 2 * Ho + jo), v128.load(xg + go + 2 * Ho + jo)));
      const gout = sigmv(f32x4.add(v128.load(gh + go + 3 * Ho + jo), v128.load(xg + go + 3 * Ho + jo)));
      v128.store(act + go + jo, gi);
      v128.store(act + go + Ho + jo, gf);
      v128.store(act + go + 2 * Ho + jo, gg);
      v128.store(act + go + 3 * Ho + jo, gout);
      const cn = f32x4.add(f32x4.mul(gf, v128.load(cprev + ho + jo)), f32x4.mul(gi, gg));
      v128.store(c + ho + jo, cn);
      v128.store(h + ho + jo, f32x4.mul(gout, tanhv(cn)));
    }
    for (; j < H; j++) {
      const jo = <usize>j << 2;
      const gi = sigm(load<f32>(gh + go + jo) + load<f32>(xg + go + jo));
      const gf = sigm(load<f32>(gh + go + Ho + jo) + load<f32>(xg + go + Ho + jo));
      const gg = Mathf.tanh(load<f32>(gh + go + 2 * Ho + jo) + load<f32>(xg + go + 2 * Ho + jo));
      const gout = sigm(load<f32>(gh + go + 3 * Ho + jo) + load<f32>(xg + go + 3 * Ho + jo));
      store<f32>(act + go + jo, gi);
      store<f32>(act + go + Ho + jo, gf);
      store<f32>(act + go + 2 * Ho + jo, gg);
      store<f32>(act + go + 3 * Ho + jo, gout);
      const cn = gf * load<f32>(cprev + ho + jo) + gi * gg;
      store<f32>(c + ho + jo, cn);
      store<f32>(h + ho + jo, gout * Mathf.tanh(cn));
    }
  }
}

/**
 * One backward step for rows b in [b0, b1). dh = dhs[b] + dhNext[b];
 * dc = dcNext[b] + dh·o·(1 − tanh²c); dz = (dc·g·i(1−i), dc·cprev·f(1−f), dc·i(1−g²), dh·tanh c·o(1−o));
 * dcNext[b] ← dc·f. (dhNext is then recomputed as dz · W_hh by lstmBackward.)
 */
function lstmBwdRows(act: usize, c: usize, cprev: usize, dhs: usize, dhNext: usize, dcNext: usize, dz: usize, b0: i32, b1: i32, H: i32): void {
  const G = 4 * H;
  for (let b = b0; b < b1; b++) {
    const go = <usize>(b * G) << 2, ho = <usize>(b * H) << 2;
    const Ho = <usize>H << 2;
    const one = f32x4.splat(1.0);
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const jo = <usize>j << 2;
      const gi = v128.load(act + go + jo), gf = v128.load(act + go + Ho + jo);
      const gg = v128.load(act + go + 2 * Ho + jo), gout = v128.load(act + go + 3 * Ho + jo);
      const tc = tanhv(v128.load(c + ho + jo));
      const dh = f32x4.add(v128.load(dhs + ho + jo), v128.load(dhNext + ho + jo));
      const dc = f32x4.add(v128.load(dcNext + ho + jo), f32x4.mul(f32x4.mul(dh, gout), f32x4.sub(one, f32x4.mul(tc, tc))));
      v128.store(dz + go + jo, f32x4.mul(f32x4.mul(f32x4.mul(dc, gg), gi), f32x4.sub(one, gi)));
      v128.store(dz + go + Ho + jo, f32x4.mul(f32x4.mul(f32x4.mul(dc, v128.load(cprev + ho + jo)), gf), f32x4.sub(one, gf)));
      v128.store(dz + go + 2 * Ho + jo, f32x4.mul(f32x4.mul(dc, gi), f32x4.sub(one, f32x4.mul(gg, gg))));
      v128.store(dz + go + 3 * Ho + jo, f32x4.mul(f32x4.mul(f32x4.mul(dh, tc), gout), f32x4.sub(one, gout)));
      v128.store(dcNext + ho + jo, f32x4.mul(dc, gf));
    }
    for (; j < H; j++) {
      const jo = <usize>j << 2;
      const gi = load<f32>(act + go + jo), gf = load<f32>(act + go + Ho + jo);
      const gg = load<f32>(act + go + 2 * Ho + jo), gout = load<f32>(act + go + 3 * Ho + jo);
      const tc = Mathf.tanh(load<f32>(c + ho + jo));
      const dh = load<f32>(dhs + ho + jo) + load<f32>(dhNext + ho + jo);
      const dc = load<f32>(dcNext + ho + jo) + dh * gout * (1.0 - tc * tc);
      store<f32>(dz + go + jo, dc * gg * gi * (1.0 - gi));
      store<f32>(dz + go + Ho + jo, dc * load<f32>(cprev + ho + jo) * gf * (1.0 - gf));
      store<f32>(dz + go + 2 * Ho + jo, dc * gi * (1.0 - gg * gg));
      store<f32>(dz + go + 3 * Ho + jo, dh * tc * gout * (1.0 - gout));
      store<f32>(dcNext + ho + jo, dc * gf);
    }
  }
}

/**
 * The whole forward recurrence for this part's batch rows [b0, b1) (b0, b1 multiples of 4
 * except at B): for t = 0 … T−1, gh[b] = h_{t−1}[b] · W_hhᵀ (whhP: W_hhᵀ packed by packB,
 * H rows, 4H columns) and then lstmFwdRows on the same rows. Row b of step t needs only
 * row b of step t−1, so the parts never wait on each other: one call per pass instead of
 * two synchronised calls per time step. h0/c0 are [B, H] followed by hs/cs [T·B, H];
 * gh is [B, 4H] scratch; xg/act are [T·B, 4H] (time-major).
 */
export function lstmForward(gh: usize, xg: usize, act: usize, c0: usize, h0: usize, whhP: usize, B: i32, H: i32, T: i32, part: i32, nparts: i32): void {
  const b0 = rangeLo(B, 4, part, nparts), b1 = rangeLo(B, 4, part + 1, nparts);
  if (b0 >= b1) return;
  const G = 4 * H;
  const NP = (G + 7) >> 3;
  const stepH = <usize>(B * H) << 2, stepG = <usize>(B * G) << 2;
  for (let t = 0; t < T; t++) {
    const tt = <usize>t;
    mmRange(gh, h0 + tt * stepH, H, 1, whhP, 0, b0, b1, 0, NP, H, G, 0);
    lstmFwdRows(gh, xg + tt * stepG, act + tt * stepG, c0 + tt * stepH, c0 + (tt + 1) * stepH, h0 + (tt + 1) * stepH, b0, b1, H);
  }
}

/**
 * The whole backward recurrence for this part's batch rows (see lstmForward): for
 * t = T−1 … 0, lstmBwdRows on the rows, then (t > 0) dhNext[b] = dz_t[b] · W_hh (whhPb:
 * W_hh packed, 4H rows, H columns). dhNext and dcNext must be zero on entry.
 */
export function lstmBackward(act: usize, c0: usize, dhs: usize, dhNext: usize, dcNext: usize, dz: usize, whhPb: usize, B: i32, H: i32, T: i32, part: i32, nparts: i32): void {
  const b0 = rangeLo(B, 4, part, nparts), b1 = rangeLo(B, 4, part + 1, nparts);
  if (b0 >= b1) return;
  const G = 4 * H;
  const NP = (H + 7) >> 3;
  const stepH = <usize>(B * H) << 2, stepG = <usize>(B * G) << 2;
  for (let t = T - 1; t >= 0; t--) {
    const tt = <usize>t;
    const dzt = dz + tt * stepG;
    lstmBwdRows(act + tt * stepG, c0 + (tt + 1) * stepH, c0 + tt * stepH, dhs + tt * stepH, dhNext, dcNext, dzt, b0, b1, H);
    if (t > 0) mmRange(dhNext, dzt, G, 1, whhPb, 0, b0, b1, 0, NP, G, H, 0);
  }
}

// ---------- reductions, optimiser ----------

/** out[n] += Σ_m a[m, n] (column sums of a [M, N]); columns split across parts. */
export function colSumAcc(out: usize, a: usize, M: i32, N: i32, part: i32, nparts: i32): void {
  const n0 = rangeLo(N, 4, part, nparts), n1 = rangeLo(N, 4, part + 1, nparts);
  for (let m = 0; m < M; m++) {
    const ap = a + (<usize>(m * N) << 2);
    let n = n0;
    for (; n + 4 <= n1; n += 4) v128.store(out + (<usize>n << 2), f32x4.add(v128.load(out + (<usize>n << 2)), v128.load(ap + (<usize>n << 2))));
    for (; n < n1; n++) store<f32>(out + (<usize>n << 2), load<f32>(out + (<usize>n << 2)) + load<f32>(ap + (<usize>n << 2)));
  }
}

/** Σ x² over this part's range of x [n], written as f64 to partial[part]. */
export function sumSq(x: usize, n: i32, partial: usize, part: i32, nparts: i32): void {
  const i0 = rangeLo(n, 4, part, nparts), i1 = rangeLo(n, 4, part + 1, nparts);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const q = f32x4.mul(v, v);
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(q));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(q, q, 2, 3, 0, 1)));
  }
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  for (; i < i1; i++) { const v = <f64>load<f32>(x + (<usize>i << 2)); s += v * v; }
  store<f64>(partial + (<usize>part << 3), s);
}

/** x ← x·k over this part's range. */
export function scale(x: usize, n: i32, k: f32, part: i32, nparts: i32): void {
  const i0 = rangeLo(n, 4, part, nparts), i1 = rangeLo(n, 4, part + 1, nparts);
  const kv = f32x4.splat(k);
  let i = i0;
  for (; i + 4 <= i1; i += 4) v128.store(x + (<usize>i << 2), f32x4.mul(v128.load(x + (<usize>i << 2)), kv));
  for (; i < i1; i++) store<f32>(x + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) * k);
}

/**
 * Adam(W) on this part's range (see src/train/adam.ts for the formulas):
 * θ ← θ·decay; g' = g + l2·θ; m ← β1 m + (1−β1) g'; v ← β2 v + (1−β2) g'²;
 * θ ← θ − stepSize·m / (√v / bc2Sqrt + eps).
 */
export function adam(p: usize, g: usize, m: usize, v: usize, n: i32, stepSize: f32, beta1: f32, beta2: f32, eps: f32, bc2Sqrt: f32,
  decay: f32, l2: f32, part: i32, nparts: i32): void {
  const i0 = rangeLo(n, 4, part, nparts), i1 = rangeLo(n, 4, part + 1, nparts);
  const b1 = f32x4.splat(beta1), nb1 = f32x4.splat(1.0 - beta1), b2 = f32x4.splat(beta2), nb2 = f32x4.splat(1.0 - beta2);
  const ss = f32x4.splat(stepSize), ev = f32x4.splat(eps), ib = f32x4.splat(1.0 / bc2Sqrt), dv = f32x4.splat(decay), lv = f32x4.splat(l2);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const th = f32x4.mul(v128.load(p + o), dv);
    const gr = f32x4.add(v128.load(g + o), f32x4.mul(lv, th));
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(nb1, gr));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(nb2, f32x4.mul(gr, gr)));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    v128.store(p + o, f32x4.sub(th, f32x4.div(f32x4.mul(ss, mi), f32x4.add(f32x4.mul(f32x4.sqrt(vi), ib), ev))));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const th = load<f32>(p + o) * decay;
    const gr = load<f32>(g + o) + l2 * th;
    const mi = beta1 * load<f32>(m + o) + (1.0 - beta1) * gr;
    const vi = beta2 * load<f32>(v + o) + (1.0 - beta2) * gr * gr;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(p + o, th - (stepSize * mi) / (Mathf.sqrt(vi) / bc2Sqrt + eps));
  }
}
