// @ts-nocheck — AssemblyScript source (compiled by scripts/build-wasm.mjs with asc, not by tsc).
/**
 * Vectorised e^x for four float32 lanes (WebAssembly SIMD, v128).
 *
 * Range reduction: x = n·ln2 + r with n = round(x·log2 e) and |r| ≤ ln2/2; e^x = 2^n · p(r).
 * n is rounded with the 1.5·2^23 "magic number" trick: t = x·log2e + 1.5·2^23 holds n in the
 * low mantissa bits of t, so (bits(t) << 23) is n << 23, which added to bits(p(r)) multiplies
 * by 2^n without a float→int conversion (V8 lowers i32x4.trunc_sat_f32x4_s to several
 * instructions; this is two).
 * p(r) = 1 + r·(c1 + r·(c2 + r·(c3 + r·(c4 + r·c5)))): a degree-5 fit of e^r on
 * [−ln2/2, ln2/2] for relative error (Lawson-iterated least squares on Chebyshev nodes),
 * max relative error 1.6e-7 evaluated in float32. p(0) = 1 exactly, so e^0 = 1 exactly.
 * ln2 as a single float32 constant: its error (≈1.9e-9·n) stays below 3e-7 relative for the
 * |n| ≤ 126 used here.
 *
 * Domain: callers guarantee −87 ≤ x ≤ 88 lanes (expClampLo4/5 clamp; expMaskLo also zeroes
 * lanes below −87, so e^(−inf) is exactly 0). NaN lanes give NaN.
 */

// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341;
// @ts-ignore: decorator
@inline const LN2: f32 = 0.693147180559945309;
// @ts-ignore: decorator
@inline const MAGIC: f32 = 12582912.0; // 1.5 · 2^23
// @ts-ignore: decorator
@inline const C1: f32 = 0.9999997;
// @ts-ignore: decorator
@inline const C2: f32 = 0.4999915;
// @ts-ignore: decorator
@inline const C3: f32 = 0.16667636;
// @ts-ignore: decorator
@inline const C4: f32 = 0.04189793;
// @ts-ignore: decorator
@inline const C5: f32 = 0.00829032;
// 2^f on [−½, ½]: 1 + f·(D1 + f·(D2 + f·(D3 + f·D4))), max relative error 2.8e-6.
// @ts-ignore: decorator
@inline const D1: f32 = 0.6931241750717163;
// @ts-ignore: decorator
@inline const D2: f32 = 0.24024099111557007;
// @ts-ignore: decorator
@inline const D3: f32 = 0.055906426161527634;
// @ts-ignore: decorator
@inline const D4: f32 = 0.009582852944731712;
/** Below this, e^x (< 1.6e-38) is treated as 0 by expMaskLo and clamped by expClampLo4/5. */
export const EXP_LO: f32 = -87.0;

/** a·b + c: one fused rounding on relaxed-SIMD builds (ce-relaxed.wasm), mul then add otherwise. */
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** c − a·b: fused on relaxed-SIMD builds. */
// @ts-ignore: decorator
@inline function nmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_nmadd(a, b, c);
  return f32x4.sub(c, f32x4.mul(a, b));
}

/** e^x for lanes in [−87, 88]; no clamping. */
// @ts-ignore: decorator
@inline export function expCore(x: v128): v128 {
  const t = madd(x, f32x4.splat(LOG2E), f32x4.splat(MAGIC));
  const n = f32x4.sub(t, f32x4.splat(MAGIC));
  const r = nmadd(n, f32x4.splat(LN2), x);
  let p = madd(r, f32x4.splat(C5), f32x4.splat(C4));
  p = madd(p, r, f32x4.splat(C3));
  p = madd(p, r, f32x4.splat(C2));
  p = madd(p, r, f32x4.splat(C1));
  p = madd(p, r, f32x4.splat(1.0));
  return i32x4.add(p, i32x4.shl(t, 23));
}

/**
 * e^x to 6.6e-6 relative error (3.3e-6 for x > −10), lanes below −87 clamped to −87 (≈1.6e-38
 * instead of 0): for the cross-entropy log-sum-exp sums only. It works in base 2, y = x·log2 e,
 * n = round(y), f = y − n ∈ [−½, ½], 2^f by a degree-4 fit (D1–D4, same method as expCore):
 * one multiply and one add fewer per 4 lanes than expCore (~20% of the forward pass); the
 * rounding of y costs the extra error for large |x|, where the terms are tiny. Why that is
 * enough: with k elements equal to the max counted exactly (rowLseImpl) and s the sum of the
 * rest, an ε relative error on each term moves ln(k + s) by ≤ ε·s/(k + s) ≤ ε·ln(1 + s/k) ≤
 * ε·loss, so every cross-entropy loss keeps a relative error ≤ 6.6e-6 (< 1e-5). Outputs
 * (softmax, gradients) and logSumExp use the degree-5 expCore.
 */
// @ts-ignore: decorator
@inline export function expClampLo4(x: v128): v128 {
  x = f32x4.pmax(x, f32x4.splat(EXP_LO));
  let t: v128, f: v128;
  if (ASC_FEATURE_RELAXED_SIMD) {
    // Fused: t = x·log2e + MAGIC and f = x·log2e − n, each with one rounding (f is then more
    // accurate than the unfused y − n below).
    t = madd(x, f32x4.splat(LOG2E), f32x4.splat(MAGIC));
    f = madd(x, f32x4.splat(LOG2E), f32x4.sub(f32x4.splat(MAGIC), t));
  } else {
    const y = f32x4.mul(x, f32x4.splat(LOG2E));
    t = f32x4.add(y, f32x4.splat(MAGIC));
    f = f32x4.sub(y, f32x4.sub(t, f32x4.splat(MAGIC)));
  }
  let p = madd(f, f32x4.splat(D4), f32x4.splat(D3));
  p = madd(p, f, f32x4.splat(D2));
  p = madd(p, f, f32x4.splat(D1));
  p = madd(p, f, f32x4.splat(1.0));
  return i32x4.add(p, i32x4.shl(t, 23));
}

/** e^x (degree 5, 1.6e-7) with lanes below −87 clamped to −87: for sums where accuracy matters most. */
// @ts-ignore: decorator
@inline export function expClampLo5(x: v128): v128 {
  return expCore(f32x4.pmax(x, f32x4.splat(EXP_LO)));
}

/** The exp used in log-sum-exp sums: degree 4 when fast (cross-entropy), else degree 5. */
// @ts-ignore: decorator
@inline export function expSum(x: v128, fast: bool): v128 {
  return fast ? expClampLo4(x) : expClampLo5(x);
}

/** e^x with lanes below −87 (including −inf) set to exactly 0: for outputs (softmax, gradients). */
// @ts-ignore: decorator
@inline export function expMaskLo(x: v128): v128 {
  const keep = f32x4.ge(x, f32x4.splat(EXP_LO));
  return v128.and(expCore(f32x4.pmax(x, f32x4.splat(EXP_LO))), keep);
}

/** Horizontal sum of four float32 lanes, in float64. */
// @ts-ignore: decorator
@inline export function hsum64(v: v128): f64 {
  return (<f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1)) + (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3));
}

/** Horizontal max of four float32 lanes (pseudo-max: NaN lanes are ignored; callers detect NaN through sums). */
// @ts-ignore: decorator
@inline export function hmax(v: v128): f32 {
  const a = max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1));
  const b = max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3));
  return max(a, b);
}
