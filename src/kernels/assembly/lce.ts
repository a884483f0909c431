// @ts-nocheck — AssemblyScript source (compiled by scripts/build-wasm.mjs with asc, not by tsc).
// WebAssembly SIMD kernels of linearCrossEntropy (src/loss/linear-cross-entropy.ts): the logits
// Z = hidden · weightᵀ + bias of one block of vocabulary rows at a time (the packed-panel product
// of lib/panel-mm.ts), their per-row online statistics, their gradient in place, and column sums.
// Driver: src/kernels/linear-cross-entropy.ts; reference: src/loss/linear-cross-entropy-kernel.ts.
// Every pointer is a byte offset into the shared memory; matrices row-major, f32 unless noted.
// Compiled twice: plain SIMD (lce.wasm) and relaxed SIMD (lce-relaxed.wasm: fused multiply-add).

import { rangeLo } from './lib/train-common';
import { expClampLo5 } from './lib/simd-exp';
export { packB, mm } from './lib/panel-mm';
export { trapForTesting } from './lib/trap-for-testing';

// e^x on 4 lanes for x ≤ 0 (lib/simd-exp.ts, relative error 1.6e-7; lanes below −87 give
// e^−87 ≈ 1.6e-38 instead of 0, negligible beside the row's largest term, e^0 = 1).
// @ts-ignore: decorator
@inline function expv(x: v128): v128 {
  return expClampLo5(f32x4.pmin(x, f32x4.splat(88.0)));
}

/**
 * Folds a block Z_b [rows, nb] (columns v0 … v0 + nb − 1 of Z) into the per-row statistics
 * stats [rows, 4] f64: running max m, Σ exp(z − m) (rescaled by exp(m_old − m_new) when the max
 * rises), z_y when y falls in the block, Σ_v w_v·z_v (w: f32 class weights [V], 0 for none).
 * Rows whose target is `ignore` are left alone. Rows split across parts.
 */
export function lceStats(z: usize, nb: i32, v0: i32, rows: i32, targets: usize, ignore: i32, w: usize, stats: usize,
  part: i32, nparts: i32): void {
  const r0 = rangeLo(rows, 1, part, nparts), r1 = rangeLo(rows, 1, part + 1, nparts);
  const nb4 = nb & ~3;
  for (let r = r0; r < r1; r++) {
    const y = load<i32>(targets + (<usize>r << 2));
    if (y == ignore) continue;
    const zp = z + (<usize>r * <usize>nb << 2);
    const sp = stats + (<usize>r << 5);
    // block max
    let mx = f32x4.splat(-Infinity);
    let v = 0;
    for (; v < nb4; v += 4) mx = f32x4.max(mx, v128.load(zp + (<usize>v << 2)));
    let bm = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    for (let u = v; u < nb; u++) bm = max(bm, load<f32>(zp + (<usize>u << 2)));
    let m = load<f64>(sp);
    let s = load<f64>(sp, 8);
    if (<f64>bm > m) {
      s *= Math.exp(m - <f64>bm);
      m = <f64>bm;
    }
    const mv = f32x4.splat(<f32>m);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), w0 = f64x2.splat(0), w1 = f64x2.splat(0);
    v = 0;
    for (; v < nb4; v += 4) {
      const x = v128.load(zp + (<usize>v << 2));
      const e = expv(f32x4.sub(x, mv));
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
      const wx = w != 0 ? f32x4.mul(x, v128.load(w + (<usize>(v0 + v) << 2))) : x;
      w0 = f64x2.add(w0, f64x2.promote_low_f32x4(wx));
      w1 = f64x2.add(w1, f64x2.promote_low_f32x4(v128.shuffle<f32>(wx, wx, 2, 3, 0, 1)));
    }
    let es = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
    let wz = f64x2.extract_lane(w0, 0) + f64x2.extract_lane(w0, 1) + f64x2.extract_lane(w1, 0) + f64x2.extract_lane(w1, 1);
    for (let u = v; u < nb; u++) {
      const x = <f64>load<f32>(zp + (<usize>u << 2));
      es += Math.exp(x - m);
      wz += w != 0 ? x * <f64>load<f32>(w + (<usize>(v0 + u) << 2)) : x;
    }
    store<f64>(sp, m);
    store<f64>(sp, s + es, 8);
    if (y >= v0 && y < v0 + nb) store<f64>(sp, <f64>load<f32>(zp + (<usize>(y - v0) << 2)), 16);
    store<f64>(sp, load<f64>(sp, 24) + wz, 24);
  }
}

/**
 * Z_b [rows, nb] ← dL/dZ_b = α_r·exp(z − lse_r) − γ_r·w_v − β_r·[v = y_r] (w_v = 1 without class
 * weights), lse_r = stats[r, 0] + stats[r, 1] (the finished statistics: max and log Σ exp);
 * alpha, beta, gamma f64 [rows]. Zeros for ignored rows. The target's entry is recomputed in f64
 * (α·p_y − β cancels when p_y ≈ 1). Rows split across parts.
 */
export function lceGrad(z: usize, nb: i32, v0: i32, rows: i32, targets: usize, ignore: i32, w: usize, stats: usize,
  alpha: usize, beta: usize, gamma: usize, part: i32, nparts: i32): void {
  const r0 = rangeLo(rows, 1, part, nparts), r1 = rangeLo(rows, 1, part + 1, nparts);
  const nb4 = nb & ~3;
  for (let r = r0; r < r1; r++) {
    const zp = z + (<usize>r * <usize>nb << 2);
    const y = load<i32>(targets + (<usize>r << 2));
    if (y == ignore) {
      memory.fill(zp, 0, <usize>nb << 2);
      continue;
    }
    const sp = stats + (<usize>r << 5);
    const lse = load<f64>(sp) + load<f64>(sp, 8);
    const a = load<f64>(alpha + (<usize>r << 3));
    const b = load<f64>(beta + (<usize>r << 3));
    const g = load<f64>(gamma + (<usize>r << 3));
    const lv = f32x4.splat(<f32>lse), av = f32x4.splat(<f32>a), gv = f32x4.splat(<f32>g);
    let v = 0;
    for (; v < nb4; v += 4) {
      const p = zp + (<usize>v << 2);
      let d = f32x4.mul(av, expv(f32x4.sub(v128.load(p), lv)));
      if (g != 0) d = f32x4.sub(d, w != 0 ? f32x4.mul(gv, v128.load(w + (<usize>(v0 + v) << 2))) : gv);
      v128.store(p, d);
    }
    for (let u = v; u < nb; u++) {
      const p = zp + (<usize>u << 2);
      let d = a * Math.exp(<f64>load<f32>(p) - lse);
      if (g != 0) d -= g * (w != 0 ? <f64>load<f32>(w + (<usize>(v0 + u) << 2)) : 1.0);
      store<f32>(p, <f32>d);
    }
    if (y >= v0 && y < v0 + nb) {
      // the target's entry from the logit it overwrote: recompute z_y from stats[r, 2]
      let d = a * Math.exp(load<f64>(sp, 16) - lse) - b;
      if (g != 0) d -= g * (w != 0 ? <f64>load<f32>(w + (<usize>y << 2)) : 1.0);
      store<f32>(zp + (<usize>(y - v0) << 2), <f32>d);
    }
  }
}

/** out[j] = Σ_r a[r, j] (f32 in, f64 sums out) for columns j of a [rows, cols]; columns split across parts. */
export function colSum64(out: usize, a: usize, rows: i32, cols: i32, part: i32, nparts: i32): void {
  const c0 = rangeLo(cols, 2, part, nparts), c1 = rangeLo(cols, 2, part + 1, nparts);
  for (let j = c0; j < c1; j++) store<f64>(out + (<usize>j << 3), 0);
  for (let r = 0; r < rows; r++) {
    const ap = a + (<usize>r * <usize>cols << 2);
    for (let j = c0; j < c1; j++) {
      const o = out + (<usize>j << 3);
      store<f64>(o, load<f64>(o) + <f64>load<f32>(ap + (<usize>j << 2)));
    }
  }
}
