// @ts-nocheck — AssemblyScript source (compiled by scripts/build-wasm.mjs with asc, not by tsc).
/**
 * Row primitives over float32 rows of length V at byte address p (row-major [N, V]).
 * Loads are unaligned v128 loads (rows start at n·V·4 bytes, so V need not be a multiple of 4);
 * tails shorter than 4 are done lane by lane.
 *
 * Log-sum-exp of a row is computed blockwise online (Milakov & Gimelshein 2018, "Online
 * normalizer calculation for softmax", applied per block): for each block of BLOCK floats
 * (8 KiB, resident in L1), take the block maximum, rescale the running sum if the maximum grew,
 * then add Σ e^(x − m) over the block. The row is read from memory once. Each block's Σ is
 * accumulated in float32 lanes (≤ 128 terms per lane) and added to a float64 running sum.
 * Result: m (row max, exact) and logS = ln Σ e^(x − m) with lse = m + logS.
 */
import { expSum, hsum64, hmax } from './simd-exp';

export const BLOCK: i32 = 2048;

/** Max of len floats at q (len ≥ 1). NaN elements are ignored (pseudo-max); +inf is kept. */
export function blockMax(q: usize, len: i32): f32 {
  let m0 = f32x4.splat(-Infinity);
  let m1 = m0, m2 = m0, m3 = m0;
  let i = 0;
  for (; i + 16 <= len; i += 16) {
    const a = q + (<usize>i << 2);
    m0 = f32x4.pmax(m0, v128.load(a));
    m1 = f32x4.pmax(m1, v128.load(a, 16));
    m2 = f32x4.pmax(m2, v128.load(a, 32));
    m3 = f32x4.pmax(m3, v128.load(a, 48));
  }
  for (; i + 4 <= len; i += 4) m0 = f32x4.pmax(m0, v128.load(q + (<usize>i << 2)));
  let m = hmax(f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3)));
  for (; i < len; i++) {
    const x = load<f32>(q + (<usize>i << 2));
    if (x > m) m = x;
  }
  return m;
}

// Second result of blockSumExpMasked: how many elements equal m (per instance, so per thread).
let maxCount: f64 = 0;

/**
 * Σ e^(x − m) over len floats at q, float32 lanes, float64 result. fast: the degree-4 exp
 * (6.6e-6; cross-entropy, see expClampLo4) instead of the degree-5 one (1.6e-7; logSumExp,
 * softmax). For blocks whose elements are all below the running max m (no term is 1).
 */
// @ts-ignore: decorator
@inline function blockSumExp(q: usize, len: i32, m: f32, fast: bool): f64 {
  const mv = f32x4.splat(m);
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
  let i = 0;
  for (; i + 16 <= len; i += 16) {
    const a = q + (<usize>i << 2);
    s0 = f32x4.add(s0, expSum(f32x4.sub(v128.load(a), mv), fast));
    s1 = f32x4.add(s1, expSum(f32x4.sub(v128.load(a, 16), mv), fast));
    s2 = f32x4.add(s2, expSum(f32x4.sub(v128.load(a, 32), mv), fast));
    s3 = f32x4.add(s3, expSum(f32x4.sub(v128.load(a, 48), mv), fast));
  }
  for (; i + 4 <= len; i += 4) s0 = f32x4.add(s0, expSum(f32x4.sub(v128.load(q + (<usize>i << 2)), mv), fast));
  let s = hsum64(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < len; i++) {
    const x = load<f32>(q + (<usize>i << 2));
    // Same clamp as the vector path (e^(−inf) → e^(−87)); NaN stays NaN.
    s += <f64>f32x4.extract_lane(expSum(f32x4.splat(x - m), fast), 0);
  }
  return s;
}

/**
 * Like blockSumExp for a block holding elements equal to m: those (e^0 = 1) are counted in
 * maxCount instead of summed, so the float32 lanes never add small terms to a 1 — which would
 * round them away and ruin the loss of a confident row (loss ≈ Σ small terms ≪ 1).
 */
// @ts-ignore: decorator
@inline function blockSumExpMasked(q: usize, len: i32, m: f32, fast: bool): f64 {
  const mv = f32x4.splat(m);
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
  let c0 = i32x4.splat(0);
  let i = 0;
  // Unrolled like blockSumExp: on random rows about a fifth of the blocks set a new maximum.
  for (; i + 16 <= len; i += 16) {
    const a = q + (<usize>i << 2);
    const x0 = v128.load(a), x1 = v128.load(a, 16), x2 = v128.load(a, 32), x3 = v128.load(a, 48);
    const e0 = f32x4.eq(x0, mv), e1 = f32x4.eq(x1, mv), e2 = f32x4.eq(x2, mv), e3 = f32x4.eq(x3, mv);
    s0 = f32x4.add(s0, v128.andnot(expSum(f32x4.sub(x0, mv), fast), e0));
    s1 = f32x4.add(s1, v128.andnot(expSum(f32x4.sub(x1, mv), fast), e1));
    s2 = f32x4.add(s2, v128.andnot(expSum(f32x4.sub(x2, mv), fast), e2));
    s3 = f32x4.add(s3, v128.andnot(expSum(f32x4.sub(x3, mv), fast), e3));
    c0 = i32x4.sub(c0, i32x4.add(i32x4.add(e0, e1), i32x4.add(e2, e3)));
  }
  for (; i + 4 <= len; i += 4) {
    const x = v128.load(q + (<usize>i << 2));
    const isMax = f32x4.eq(x, mv);
    s0 = f32x4.add(s0, v128.andnot(expSum(f32x4.sub(x, mv), fast), isMax));
    c0 = i32x4.sub(c0, isMax);
  }
  let s = hsum64(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  let c = <f64>(i32x4.extract_lane(c0, 0) + i32x4.extract_lane(c0, 1) + i32x4.extract_lane(c0, 2) + i32x4.extract_lane(c0, 3));
  for (; i < len; i++) {
    const x = load<f32>(q + (<usize>i << 2));
    if (x == m) c += 1;
    else s += <f64>f32x4.extract_lane(expSum(f32x4.splat(x - m), fast), 0);
  }
  maxCount = c;
  return s;
}

/** True if any of the len floats at q is NaN. Used only on the rare all −inf / all NaN rows. */
export function anyNaN(q: usize, len: i32): bool {
  for (let i = 0; i < len; i++) {
    const x = load<f32>(q + (<usize>i << 2));
    if (x != x) return true;
  }
  return false;
}

/**
 * Online log-sum-exp of one row. Writes m (row max) at st and logS at st + 8.
 * S = k + s: k counts the elements equal to the running max (exactly e^0 = 1 each), s sums
 * the others; logS = ln k + log1p(s/k) keeps a confident row's tiny s exact.
 * NaN anywhere in the row gives logS = NaN; +inf gives NaN (as PyTorch); an all −inf row gives
 * m = −inf, logS = −inf (lse = −inf, as torch.logsumexp).
 */
// @ts-ignore: decorator
@inline function rowLseImpl(p: usize, V: i32, st: usize, fast: bool): void {
  let m: f32 = -Infinity;
  let s: f64 = 0;
  let k: f64 = 0;
  for (let b = 0; b < V; b += BLOCK) {
    const len = min(BLOCK, V - b);
    const q = p + (<usize>b << 2);
    const bm = blockMax(q, len);
    if (bm == -Infinity) {
      // Every element −inf (adds 0) or NaN (the max ignores NaN): only NaN must still poison s.
      if (anyNaN(q, len)) s = NaN;
      continue;
    }
    if (bm >= m) {
      if (bm > m) {
        // The max grew: the old max elements become ordinary terms, everything is rescaled.
        if (k != 0) s = (s + k) * Math.exp(<f64>m - <f64>bm);
        k = 0;
        m = bm;
      }
      s += blockSumExpMasked(q, len, m, fast);
      k += maxCount;
    } else {
      s += blockSumExp(q, len, m, fast);
    }
  }
  let logS: f64 = k > 0 ? Math.log(k) + Math.log1p(s / k) : Math.log(s);
  if (m == Infinity) logS = NaN; // +inf logits: NaN, as PyTorch (and the validators' error)
  store<f64>(st, <f64>m);
  store<f64>(st, logS, 8);
}

/** rowLseImpl with the degree-5 exp (logSumExp, (log-)softmax). */
export function rowLse(p: usize, V: i32, st: usize): void {
  rowLseImpl(p, V, st, false);
}

/** rowLseImpl with the degree-4 exp in the sums (cross-entropy: the loss stays within 6.6e-6 relative). */
export function rowLseFast(p: usize, V: i32, st: usize): void {
  rowLseImpl(p, V, st, true);
}

/** Σ x over the row, accumulated in float64 (−inf stays −inf). */
export function rowSum64(p: usize, V: i32): f64 {
  let a0 = f64x2.splat(0), a1 = a0;
  let i = 0;
  for (; i + 4 <= V; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < V; i++) s += <f64>load<f32>(p + (<usize>i << 2));
  return s;
}

/** Σ w_v·x_v over the row (w float64, length V: the caller's weights unrounded), in float64. */
export function rowDot64(p: usize, w: usize, V: i32): f64 {
  let a0 = f64x2.splat(0), a1 = a0;
  let i = 0;
  for (; i + 4 <= V; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    const wa = w + (<usize>i << 3);
    a0 = f64x2.add(a0, f64x2.mul(f64x2.promote_low_f32x4(v), v128.load(wa)));
    a1 = f64x2.add(a1, f64x2.mul(f64x2.promote_low_f32x4(i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)), v128.load(wa, 16)));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < V; i++) s += <f64>load<f32>(p + (<usize>i << 2)) * load<f64>(w + (<usize>i << 3));
  return s;
}
