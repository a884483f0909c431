// @ts-nocheck — AssemblyScript source (compiled by scripts/build-wasm.mjs with asc, not by tsc).
/**
 * Cross-entropy kernels: float32 logits [N, V] in (shared) wasm memory, one row per call step.
 * Every exported kernel processes rows [r0, r1) (or elements [i0, i1)), so the JS worker pool
 * splits work by rows and each row is computed by exactly one thread with the same code: the
 * results are bit-identical whatever the thread count. Cross-row reductions happen in JS.
 *
 * Per-row statistics `stats` are float64, stride 4 (32 bytes) per row:
 *   [0] m     row maximum (exact, as float64)
 *   [1] logS  ln Σ_v e^(x_v − m)         (lse = m + logS)
 *   [2], [3]  kernel-specific (see each kernel)
 * Pointers are byte addresses; float32 arrays are 4-byte elements, int32 targets 4 bytes.
 * Internal: trusts its inputs (validated by src/loss/ and src/kernels/*.ts).
 */
import { expMaskLo } from './lib/simd-exp';
import { rowLse, rowLseFast, rowSum64, rowDot64 } from './lib/rows';
export { trapForTesting } from './lib/trap-for-testing';

// @ts-ignore: decorator
@inline function rowPtr(x: usize, n: i32, V: i32): usize {
  return x + ((<usize>n * <usize>V) << 2);
}

function fillF32(o: usize, V: i32, value: f32): void {
  for (let i = 0; i < V; i++) store<f32>(o + (<usize>i << 2), value);
}

/**
 * out[n] = Σ_v x[n, v] (float32 lanes, float64 result) for rows [r0, r1): one plain read of
 * the logits, the memory-bandwidth floor the benchmark compares the kernels against.
 */
export function sumRows(x: usize, V: i32, r0: i32, r1: i32, out: usize): void {
  for (let n = r0; n < r1; n++) {
    const p = rowPtr(x, n, V);
    let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    let i = 0;
    for (; i + 16 <= V; i += 16) {
      const a = p + (<usize>i << 2);
      s0 = f32x4.add(s0, v128.load(a));
      s1 = f32x4.add(s1, v128.load(a, 16));
      s2 = f32x4.add(s2, v128.load(a, 32));
      s3 = f32x4.add(s3, v128.load(a, 48));
    }
    const v = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
    let s: f64 = (<f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1)) + (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3));
    for (; i < V; i++) s += <f64>load<f32>(p + (<usize>i << 2));
    store<f64>(out + (<usize>n << 3), s);
  }
}

/** stats[n] = [m, logS, 0, 0] for rows [r0, r1). */
export function lseRows(x: usize, V: i32, r0: i32, r1: i32, stats: usize): void {
  for (let n = r0; n < r1; n++) rowLse(rowPtr(x, n, V), V, stats + (<usize>n << 5));
}

/**
 * out[n, v] = x[n, v] − lse_n (log = 1) or e^(x[n, v] − lse_n) (log = 0), float32, for rows [r0, r1).
 * Computed as (x − m) − logS so the subtraction of two large numbers (|x| ~ 1e4) loses nothing.
 * out may equal x (in place). Also fills stats[n] = [m, logS, 0, 0].
 */
export function softmaxRows(x: usize, out: usize, V: i32, r0: i32, r1: i32, stats: usize, log: i32): void {
  for (let n = r0; n < r1; n++) {
    const p = rowPtr(x, n, V);
    const o = rowPtr(out, n, V);
    const st = stats + (<usize>n << 5);
    rowLse(p, V, st);
    const m = <f32>load<f64>(st);
    const d = <f32>load<f64>(st, 8);
    if (m == -Infinity) {
      // All −inf: (x − m) is NaN, so both outputs are NaN (0/0), as PyTorch and the JS path give.
      fillF32(o, V, NaN);
      continue;
    }
    const mv = f32x4.splat(m), dv = f32x4.splat(d);
    let i = 0;
    if (log) {
      for (; i + 4 <= V; i += 4) {
        const a = <usize>i << 2;
        v128.store(o + a, f32x4.sub(f32x4.sub(v128.load(p + a), mv), dv));
      }
      for (; i < V; i++) store<f32>(o + (<usize>i << 2), (load<f32>(p + (<usize>i << 2)) - m) - d);
    } else {
      for (; i + 4 <= V; i += 4) {
        const a = <usize>i << 2;
        v128.store(o + a, expMaskLo(f32x4.sub(f32x4.sub(v128.load(p + a), mv), dv)));
      }
      for (; i < V; i++) {
        const y = (load<f32>(p + (<usize>i << 2)) - m) - d;
        store<f32>(o + (<usize>i << 2), f32x4.extract_lane(expMaskLo(f32x4.splat(y)), 0));
      }
    }
  }
}

/**
 * Hard-target cross-entropy statistics and (optionally, coef ≠ 0) the fused gradient.
 *   tgt     int32[N] class indices; an index outside [0, V) (ignore index) has no target element
 *   smooth  1: stats[2] = Σ_v x_v (w = 0) or Σ_v w_v·x_v (w ≠ 0), for label smoothing; 0: stats[2] = 0
 *   w       float32[V] class weights (for the gradient), or 0 for none
 *   w64     float64[V] the same weights unrounded (for the label-smoothing sum), or 0 for none
 *   stats   [m, logS, smoothSum, x_t] (x_t = NaN when the target is outside [0, V)); read x_t here,
 *           not from x, because an in-place gradient overwrites x
 *   g       float32[N, V] gradient output (may equal x: in place); its base address may be 0
 *           (staged buffers are addressed base + n·V·4), so "no gradient" is coef = 0
 *   coef    float64 [N, 4] per-row coefficients [ca, cz, cb, cc] built in JS from the options,
 *           or 0 for forward only:
 *             g_v = α·p_v − cc·w_v − cb·[v = t],  α = ca + cz·lse,  p_v = e^(x_v − lse)
 *           (α = cc = cb = 0 writes a zero row: ignored rows.)
 * The row is read from memory once for the statistics; the gradient pass re-reads it from cache.
 */
export function ceRows(x: usize, g: usize, V: i32, r0: i32, r1: i32, stats: usize, tgt: usize, smooth: i32, w: usize, w64: usize, coef: usize): void {
  for (let n = r0; n < r1; n++) {
    const p = rowPtr(x, n, V);
    const st = stats + (<usize>n << 5);
    const t = load<i32>(tgt + (<usize>n << 2));
    const hasT = t >= 0 && t < V;
    const xt: f64 = hasT ? <f64>load<f32>(p + (<usize>t << 2)) : NaN;
    // Forward only: the degree-4 sums (the loss keeps ≤ 6.6e-6 relative error). With a gradient,
    // the accurate sums: logS enters every p_v, and label-smoothing gradients α·p − cc cancel.
    if (coef) rowLse(p, V, st);
    else rowLseFast(p, V, st);
    store<f64>(st, smooth ? (w64 ? rowDot64(p, w64, V) : rowSum64(p, V)) : 0.0, 16);
    store<f64>(st, xt, 24);
    if (!coef) continue; // no gradient (coef is a real allocation whenever one is wanted)
    const cf = coef + (<usize>n << 5);
    const ca = load<f64>(cf), cz = load<f64>(cf, 8), cb = load<f64>(cf, 16), cc = load<f64>(cf, 24);
    const o = rowPtr(g, n, V);
    const m64 = load<f64>(st), logS = load<f64>(st, 8);
    const alpha = ca + (cz != 0 ? cz * (m64 + logS) : 0.0);
    // NaN or +inf in the row (logS is NaN): leave the row untouched so the caller can name the
    // offending entry even when the gradient overwrites the logits in place.
    if (logS != logS) continue;
    if (alpha == 0 && cc == 0 && cb == 0) {
      memory.fill(o, 0, <usize>V << 2);
      continue;
    }
    if (m64 == -Infinity) {
      fillF32(o, V, NaN); // a kept row of all −inf: p = 0/0
      continue;
    }
    const mv = f32x4.splat(<f32>m64), dv = f32x4.splat(<f32>logS), av = f32x4.splat(<f32>alpha), cv = f32x4.splat(<f32>cc);
    let i = 0;
    if (!w) {
      for (; i + 8 <= V; i += 8) {
        const a = <usize>i << 2;
        const e0 = expMaskLo(f32x4.sub(f32x4.sub(v128.load(p + a), mv), dv));
        const e1 = expMaskLo(f32x4.sub(f32x4.sub(v128.load(p + a, 16), mv), dv));
        v128.store(o + a, f32x4.sub(f32x4.mul(av, e0), cv));
        v128.store(o + a, f32x4.sub(f32x4.mul(av, e1), cv), 16);
      }
      for (; i + 4 <= V; i += 4) {
        const a = <usize>i << 2;
        v128.store(o + a, f32x4.sub(f32x4.mul(av, expMaskLo(f32x4.sub(f32x4.sub(v128.load(p + a), mv), dv))), cv));
      }
    } else {
      for (; i + 4 <= V; i += 4) {
        const a = <usize>i << 2;
        const e = expMaskLo(f32x4.sub(f32x4.sub(v128.load(p + a), mv), dv));
        v128.store(o + a, f32x4.sub(f32x4.mul(av, e), f32x4.mul(cv, v128.load(w + a))));
      }
    }
    for (; i < V; i++) {
      const a = <usize>i << 2;
      const e = f32x4.extract_lane(expMaskLo(f32x4.splat((load<f32>(p + a) - <f32>m64) - <f32>logS)), 0);
      // Tail in float64 (as the target element), so V < 4 rows lose nothing to cancellation.
      store<f32>(o + a, <f32>(alpha * <f64>e - cc * (w64 ? load<f64>(w64 + (<usize>i << 3)) : 1.0)));
    }
    if (hasT) {
      // The target element in float64: α·p_t − cb − cc·w_t = α·expm1(y_t) + (α − cb) − cc·w_t,
      // so a confident row (p_t → 1) keeps its small gradient accurately.
      const wt: f64 = w64 ? load<f64>(w64 + (<usize>t << 3)) : 1.0;
      const yt = (xt - m64) - logS;
      store<f32>(o + (<usize>t << 2), <f32>(alpha * Math.expm1(yt) + (alpha - cb) - cc * wt));
    }
  }
}

/**
 * Soft-target (probability) cross-entropy with optional label smoothing eps and class weights:
 *   q'_v = (1 − eps)·q_v + eps/V,  loss_n = −Σ_v w_v q'_v (x_v − lse) = S·logS − T
 *   stats [m, logS, S = Σ w q', T = Σ w q' (x − m)]  (float64 sums; 0·(−inf) = NaN as in PyTorch)
 *   g (when coef ≠ 0) = α·p_v − c·w_v·q'_v with coef [c, cz] per row and α = c·S + cz·lse.
 *   w: float32 weights (gradient), w64: float64 weights (sums), both 0 for none.
 */
export function ceSoftRows(x: usize, q: usize, g: usize, V: i32, r0: i32, r1: i32, stats: usize, w: usize, w64: usize, eps: f64, coef: usize): void {
  const keep = 1.0 - eps;
  const add = eps / <f64>V;
  for (let n = r0; n < r1; n++) {
    const p = rowPtr(x, n, V);
    const qp = rowPtr(q, n, V);
    const st = stats + (<usize>n << 5);
    rowLse(p, V, st);
    const m64 = load<f64>(st), logS = load<f64>(st, 8);
    let S: f64 = 0, T: f64 = 0;
    for (let i = 0; i < V; i++) {
      const a = <usize>i << 2;
      let wq = keep * <f64>load<f32>(qp + a) + add;
      if (w64) wq *= load<f64>(w64 + (<usize>i << 3));
      S += wq;
      T += wq * (<f64>load<f32>(p + a) - m64);
    }
    store<f64>(st, S, 16);
    store<f64>(st, T, 24);
    if (!coef) continue; // no gradient (coef is a real allocation whenever one is wanted)
    if (logS != logS) continue; // NaN/+inf in the row: left for the caller to report
    if (m64 == -Infinity) {
      fillF32(rowPtr(g, n, V), V, NaN);
      continue;
    }
    const cf = coef + (<usize>n << 4);
    const c = load<f64>(cf), cz = load<f64>(cf, 8);
    const alpha = c * S + (cz != 0 ? cz * (m64 + logS) : 0.0);
    const o = rowPtr(g, n, V);
    const mv = f32x4.splat(<f32>m64), dv = f32x4.splat(<f32>logS), av = f32x4.splat(<f32>alpha);
    const kv = f32x4.splat(<f32>(c * keep)), bv = f32x4.splat(<f32>(c * add));
    let i = 0;
    for (; i + 4 <= V; i += 4) {
      const a = <usize>i << 2;
      const e = expMaskLo(f32x4.sub(f32x4.sub(v128.load(p + a), mv), dv));
      let cq = f32x4.add(f32x4.mul(kv, v128.load(qp + a)), bv);
      if (w) cq = f32x4.mul(cq, v128.load(w + a));
      v128.store(o + a, f32x4.sub(f32x4.mul(av, e), cq));
    }
    for (; i < V; i++) {
      const a = <usize>i << 2;
      const e = f32x4.extract_lane(expMaskLo(f32x4.splat((load<f32>(p + a) - <f32>m64) - <f32>logS)), 0);
      let cq = c * (keep * <f64>load<f32>(qp + a) + add);
      if (w64) cq *= load<f64>(w64 + (<usize>i << 3));
      store<f32>(o + a, <f32>(alpha * <f64>e - cq));
    }
  }
}

/**
 * Binary cross-entropy with logits, elementwise over [i0, i1) of flat float32 arrays, PyTorch's
 * stable form (weight and posWeight are float64 arrays repeating with periods wp and pwp over
 * the flat elements, or 0 for none):
 *   l = w·[(1 − y)·x + lw·(log1p(e^(−|x|)) + max(−x, 0))],  lw = 1 + (pw − 1)·y
 *   dl/dx = w·(lw·σ(x) − pw·y)
 * outs: bit 0 writes loss (float64 per element), bit 1 writes g (float32, times gscale) — flags,
 * not null pointers, because a staged buffer's base address may legitimately be 0 — and partial
 * (float64 per CHUNK-element chunk: Σ l over the chunk, so the reduction is fixed whatever the thread count;
 * i0 is a multiple of CHUNK).
 */
export const CHUNK: i32 = 8192;
export function bceLogitsRange(x: usize, y: usize, w: usize, wp: i32, pw: usize, pwp: i32, i0: i32, i1: i32, outs: i32, loss: usize, g: usize, gscale: f64, partial: usize): void {
  const wantLoss = (outs & 1) != 0, wantGrad = (outs & 2) != 0;
  for (let c0 = i0; c0 < i1; c0 += CHUNK) {
    const c1 = min(c0 + CHUNK, i1);
    let s: f64 = 0;
    for (let i = c0; i < c1; i++) {
      const a = <usize>i << 2;
      const xv = <f64>load<f32>(x + a), yv = <f64>load<f32>(y + a);
      const pwv = pw ? load<f64>(pw + (<usize>(i % pwp) << 3)) : 1.0;
      const lw = pw ? 1.0 + (pwv - 1.0) * yv : 1.0;
      const wv = w ? load<f64>(w + (<usize>(i % wp) << 3)) : 1.0;
      const sp = Math.log1p(Math.exp(-Math.abs(xv))) + max(-xv, 0.0);
      const l = wv * ((1.0 - yv) * xv + lw * sp);
      s += l;
      if (wantLoss) store<f64>(loss + (<usize>i << 3), l);
      if (wantGrad) {
        // σ(x) without overflow.
        let sig: f64;
        if (xv >= 0) sig = 1.0 / (1.0 + Math.exp(-xv));
        else {
          const e = Math.exp(xv);
          sig = e / (1.0 + e);
        }
        store<f32>(g + a, <f32>(gscale * wv * (lw * sig - pwv * yv)));
      }
    }
    store<f64>(partial + (<usize>(c0 / CHUNK) << 3), s);
  }
}

/**
 * KL divergence pointwise terms, PyTorch kl_div(input, target) with input = log-probabilities:
 *   logTarget = 0: l = xlogy(t, t) − t·input (0·ln 0 = 0);        dl/dinput = −t
 *   logTarget = 1: l = e^t·(t − input);                          dl/dinput = −e^t
 * Same loss / g / partial layout as bceLogitsRange.
 */
export function klRange(inp: usize, t: usize, logTarget: i32, i0: i32, i1: i32, outs: i32, loss: usize, g: usize, gscale: f64, partial: usize): void {
  const wantLoss = (outs & 1) != 0, wantGrad = (outs & 2) != 0;
  for (let c0 = i0; c0 < i1; c0 += CHUNK) {
    const c1 = min(c0 + CHUNK, i1);
    let s: f64 = 0;
    for (let i = c0; i < c1; i++) {
      const a = <usize>i << 2;
      const xv = <f64>load<f32>(inp + a), tv = <f64>load<f32>(t + a);
      let l: f64, d: f64;
      if (logTarget) {
        const et = Math.exp(tv);
        l = et * (tv - xv);
        d = -et;
      } else {
        // PyTorch: xlogy(t, t) − t·input (so t = 0 with input = −inf is NaN, as in torch).
        l = (tv == 0 ? 0.0 : tv * Math.log(tv)) - tv * xv;
        d = -tv;
      }
      s += l;
      if (wantLoss) store<f64>(loss + (<usize>i << 3), l);
      if (wantGrad) store<f32>(g + a, <f32>(gscale * d));
    }
    store<f64>(partial + (<usize>(c0 / CHUNK) << 3), s);
  }
}
