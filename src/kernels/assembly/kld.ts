// @ts-nocheck — AssemblyScript source (compiled by scripts/build-wasm.mjs with asc, not by tsc).
/**
 * KL-divergence row sums for large vocabularies (src/kernels/kld.ts). Built with the default
 * flags like every module (shared memory imported from the runtime), but run on the calling
 * thread only: the caller copies one row at a time into its buffers. SIMD e^x is expCore/expMaskLo
 * (degree 5, 1.6e-7 relative: float32-level, like llama.cpp's expf); sums in float64.
 * Pointers are byte addresses; float32 rows are 4-byte elements, uint16 rows 2-byte elements.
 *
 *   sumExp(x, V, mx)                       Σ_v e^(x_v − mx)
 *   kldLlama(x, q, V, scale, minLp, top)   Σ_{plb > −16} e^plb·((plb − x_v) + top), plb = scale·q_v + minLp
 *                                          (llama.cpp's kl_divergence sum over a uint16 base row)
 *   kldExact(b, m, V)                      Σ_v e^(b_v)·(b_v − m_v) (b_v = −inf contributes 0)
 */
import { expCore, expMaskLo, EXP_LO } from './lib/simd-exp';
export { trapForTesting } from './lib/trap-for-testing';

// e^x in float64 lanes, then rounded to float32: llama.cpp's expf (correctly rounded but for
// ~1e-4 of inputs, by one float32 ulp) to float32 precision. x = n·ln2 + r (Cody–Waite,
// |r| ≤ ln2/2), Taylor degree 9 (7e-12 relative), 2^n from the exponent bits. Lanes below
// −700 (−inf) give 0.
// @ts-ignore: decorator
@inline const LN2_HI: f64 = 0.693147180369123816490; // 0x3fe62e42fee00000: n·LN2_HI exact for |n| < 2^11
// @ts-ignore: decorator
@inline const LN2_LO: f64 = 1.90821492927058770002e-10;

// @ts-ignore: decorator
@inline function exp64(x: v128): v128 {
  x = f64x2.pmax(x, f64x2.splat(-700.0));
  const n = f64x2.nearest(f64x2.mul(x, f64x2.splat(1.4426950408889634)));
  const r = f64x2.sub(f64x2.sub(x, f64x2.mul(n, f64x2.splat(LN2_HI))), f64x2.mul(n, f64x2.splat(LN2_LO)));
  let p = f64x2.splat(1.0 / 362880.0);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 40320.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 5040.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 720.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 120.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 24.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 6.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  const e = i64x2.shl(i64x2.add(i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(n)), i64x2.splat(1023)), 52);
  return f64x2.mul(p, e);
}

/** e^x of four float32 lanes, each computed in float64 and rounded once to float32. */
// @ts-ignore: decorator
@inline function expf4(x: v128): v128 {
  const lo = f32x4.demote_f64x2_zero(exp64(f64x2.promote_low_f32x4(x)));
  const hv = f32x4.demote_f64x2_zero(exp64(f64x2.promote_low_f32x4(hi(x))));
  return i8x16.shuffle(lo, hv, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

/** llama.cpp's Σ_v expf(x_v − mx) (float32 exps, float64 sum), with expf4. */
export function sumExpF(x: usize, V: i32, mx: f32): f64 {
  const m = f32x4.splat(mx);
  let a0 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= V; i += 4) a0 = add64(a0, expf4(f32x4.sub(v128.load(x + (<usize>i << 2)), m)));
  let s = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
  for (; i < V; i++) s += <f64>f32x4.extract_lane(expf4(f32x4.splat(load<f32>(x + (<usize>i << 2)) - mx)), 0);
  return s;
}

/** kldLlama with expf4: llama.cpp's float32 operations one for one (f32 products, f64 sum). */
export function kldLlamaF(x: usize, q: usize, V: i32, scale: f32, minLp: f32, top: f32): f64 {
  const sc = f32x4.splat(scale);
  const mn = f32x4.splat(minLp);
  const tp = f32x4.splat(top);
  const cut = f32x4.splat(-16.0);
  let a0 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= V; i += 4) {
    const qi = f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(v128.load64_zero(q + (<usize>i << 1))));
    const plb = f32x4.add(f32x4.mul(sc, qi), mn);
    const t = f32x4.mul(expf4(plb), f32x4.add(f32x4.sub(plb, v128.load(x + (<usize>i << 2))), tp));
    a0 = add64(a0, v128.and(t, f32x4.gt(plb, cut)));
  }
  let s = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
  for (; i < V; i++) {
    const plb: f32 = scale * <f32>load<u16>(q + (<usize>i << 1)) + minLp;
    if (plb > -16.0) {
      const pb = f32x4.extract_lane(expf4(f32x4.splat(plb)), 0);
      s += <f64>(pb * ((plb - load<f32>(x + (<usize>i << 2))) + top));
    }
  }
  return s;
}

// @ts-ignore: decorator
@inline function hi(v: v128): v128 {
  return i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
}

// @ts-ignore: decorator
@inline function add64(acc: v128, v: v128): v128 {
  return f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(hi(v))));
}

export function sumExp(x: usize, V: i32, mx: f32): f64 {
  const m = f32x4.splat(mx);
  let a0 = f64x2.splat(0), a1 = a0;
  let i = 0;
  for (; i + 8 <= V; i += 8) {
    const p = x + (<usize>i << 2);
    a0 = add64(a0, expMaskLo(f32x4.sub(v128.load(p), m)));
    a1 = add64(a1, expMaskLo(f32x4.sub(v128.load(p, 16), m)));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < V; i++) {
    const d = load<f32>(x + (<usize>i << 2)) - mx;
    if (d >= EXP_LO) s += <f64>f32x4.extract_lane(expCore(f32x4.splat(d)), 0);
  }
  return s;
}

export function kldLlama(x: usize, q: usize, V: i32, scale: f32, minLp: f32, top: f32): f64 {
  const sc = f32x4.splat(scale);
  const mn = f32x4.splat(minLp);
  const tp = f32x4.splat(top);
  const cut = f32x4.splat(-16.0);
  let a0 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= V; i += 4) {
    const qi = f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(v128.load64_zero(q + (<usize>i << 1))));
    const plb = f32x4.add(f32x4.mul(sc, qi), mn);
    const pb = expCore(f32x4.pmax(plb, f32x4.splat(EXP_LO)));
    const t = f32x4.mul(pb, f32x4.add(f32x4.sub(plb, v128.load(x + (<usize>i << 2))), tp));
    a0 = add64(a0, v128.and(t, f32x4.gt(plb, cut)));
  }
  let s = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
  for (; i < V; i++) {
    const plb: f32 = scale * <f32>load<u16>(q + (<usize>i << 1)) + minLp;
    if (plb > -16.0) {
      const pb = f32x4.extract_lane(expCore(f32x4.splat(plb)), 0);
      s += <f64>(pb * ((plb - load<f32>(x + (<usize>i << 2))) + top));
    }
  }
  return s;
}

export function kldExact(b: usize, m: usize, V: i32): f64 {
  let a0 = f64x2.splat(0), a1 = a0;
  let i = 0;
  for (; i + 4 <= V; i += 4) {
    const bv = v128.load(b + (<usize>i << 2));
    const mv = v128.load(m + (<usize>i << 2));
    const p = expMaskLo(bv);
    const keep = f32x4.ge(bv, f32x4.splat(EXP_LO));
    // (b − m) in float64: the terms cancel to a small sum for close distributions.
    const dLo = f64x2.sub(f64x2.promote_low_f32x4(bv), f64x2.promote_low_f32x4(mv));
    const dHi = f64x2.sub(f64x2.promote_low_f32x4(hi(bv)), f64x2.promote_low_f32x4(hi(mv)));
    const tLo = f64x2.mul(f64x2.promote_low_f32x4(p), dLo);
    const tHi = f64x2.mul(f64x2.promote_low_f32x4(hi(p)), dHi);
    const kLo = i64x2.extend_low_i32x4_s(keep);
    const kHi = i64x2.extend_high_i32x4_s(keep);
    a0 = f64x2.add(a0, v128.and(tLo, kLo));
    a1 = f64x2.add(a1, v128.and(tHi, kHi));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < V; i++) {
    const bv = load<f32>(b + (<usize>i << 2));
    if (bv >= EXP_LO) s += <f64>f32x4.extract_lane(expCore(f32x4.splat(bv)), 0) * (<f64>bv - <f64>load<f32>(m + (<usize>i << 2)));
  }
  return s;
}

/**
 * llama.cpp's uint16 quantisation of one row: q_v = nearest_int(inv·(x_v − floor)) for
 * x_v > floor, else 0 (float32 operations; nearest = round half to even, as its 1.5·2²³ trick).
 */
export function quantRow(x: usize, V: i32, floor: f32, inv: f32, q: usize): void {
  const fl = f32x4.splat(floor);
  const iv = f32x4.splat(inv);
  let i = 0;
  for (; i + 8 <= V; i += 8) {
    const a = v128.load(x + (<usize>i << 2));
    const b = v128.load(x + (<usize>i << 2), 16);
    const qa = v128.and(i32x4.trunc_sat_f32x4_u(f32x4.nearest(f32x4.mul(iv, f32x4.sub(a, fl)))), f32x4.gt(a, fl));
    const qb = v128.and(i32x4.trunc_sat_f32x4_u(f32x4.nearest(f32x4.mul(iv, f32x4.sub(b, fl)))), f32x4.gt(b, fl));
    v128.store(q + (<usize>i << 1), i16x8.narrow_i32x4_u(qa, qb));
  }
  for (; i < V; i++) {
    const y = load<f32>(x + (<usize>i << 2));
    store<u16>(q + (<usize>i << 1), y > floor ? <u16>(<i32>nearest<f32>(inv * (y - floor))) : 0);
  }
}

/** Row minimum and maximum of float32 x into out[0], out[1] (float32). */
export function minMax(x: usize, V: i32, out: usize): void {
  let mx = f32x4.splat(-Infinity);
  let mn = f32x4.splat(Infinity);
  let i = 0;
  for (; i + 4 <= V; i += 4) {
    const a = v128.load(x + (<usize>i << 2));
    mx = f32x4.pmax(mx, a);
    mn = f32x4.pmin(mn, a);
  }
  let M = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
  let m = min(min(f32x4.extract_lane(mn, 0), f32x4.extract_lane(mn, 1)), min(f32x4.extract_lane(mn, 2), f32x4.extract_lane(mn, 3)));
  for (; i < V; i++) {
    const y = load<f32>(x + (<usize>i << 2));
    if (y > M) M = y;
    if (y < m) m = y;
  }
  store<f32>(out, M);
  store<f32>(out, m, 4);
}
