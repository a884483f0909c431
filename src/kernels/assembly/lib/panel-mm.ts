// @ts-nocheck — AssemblyScript source (compiled by scripts/build-wasm.mjs with asc, not by tsc).
// The trainer's matrix product (exported by train-kernels.ts, which is compiled plain and
// relaxed-SIMD). Every pointer is a byte offset into the shared memory, arrays f32 row-major.
import { madd, rangeLo } from './train-common';

// ---------- packed-panel matrix product (the trainer's main product) ----------
//
// out = A·B with B packed once into panels of 8 columns, bp[p][k][0..8) = B(k, 8p + j)
// (zero-padded past N), and A read in place through strides, so A may be a row-major
// matrix (sam = K, sak = 1) or the transpose of one (sam = 1, sak = M) with no copy.
// The microkernel keeps a 4×8 tile of out in 8 registers and per k does an outer
// product: 4 broadcast loads of A, 2 vector loads of the panel, 8 (fused) multiply-adds —
// no horizontal sums. 8 accumulators + 2 B + 1 A = 11 of V8's 15 allocatable xmm
// registers on x86-64, so nothing spills. K is blocked by KC (a panel block, KC·32 bytes,
// stays in L1 across the m-tiles), M by MC (an A block stays in L1/L2 across panels).
// Measured on the 2-core Zen 4 box: ~47 GFLOP/s on one thread, which is the 128-bit FMA
// peak (2 FMA × 4 lanes per cycle), so a single thread cannot go faster in WebAssembly.

const KC: i32 = 256;
// M block: 128 rows (B streamed once for the short-and-wide products); 32 when A is
// transposed (sam = 1), whose block then spans K cache lines of A (measured best).
const MC_ROWS: i32 = 128;
const MC_TRANSPOSED: i32 = 32;

/**
 * Packs B into 8-column panels: bp[(p·K + k)·8 + j] = B(k, 8p + j), 0 for 8p + j ≥ N.
 * B(k, n) is at b + (k·sbk + n·sbn)·4 (row-major B [K, N]: sbk = N, sbn = 1; B = Wᵀ for
 * a row-major W [N, K]: sbk = 1, sbn = K). bp has ceil(N/8)·8·K floats. Panels split across parts.
 */
export function packB(bp: usize, b: usize, sbk: i32, sbn: i32, K: i32, N: i32, part: i32, nparts: i32): void {
  const NP = (N + 7) >> 3;
  const p0 = rangeLo(NP, 1, part, nparts), p1 = rangeLo(NP, 1, part + 1, nparts);
  const sk = <usize>sbk << 2, sn = <usize>sbn << 2;
  for (let p = p0; p < p1; p++) {
    const n0 = p << 3;
    const w = min(8, N - n0);
    const dst = bp + (<usize>p * <usize>K << 5);
    if (sbn == 1 && w == 8) {
      // rows of B are contiguous: two vector copies per k
      let src = b + (<usize>n0 << 2);
      for (let k = 0; k < K; k++) {
        const d = dst + (<usize>k << 5);
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        src += sk;
      }
    } else {
      // column by column (contiguous in the source when B is a transpose, sbk = 1)
      for (let j = 0; j < 8; j++) {
        const d = dst + (<usize>j << 2);
        if (j >= w) {
          for (let k = 0; k < K; k++) store<f32>(d + (<usize>k << 5), 0);
          continue;
        }
        let src = b + <usize>(n0 + j) * sn;
        for (let k = 0; k < K; k++) {
          store<f32>(d + (<usize>k << 5), load<f32>(src));
          src += sk;
        }
      }
    }
  }
}

// The first `w` (0…4) lanes of 4 floats at p; the others 0.
// @ts-ignore: decorator
@inline function loadN(p: usize, w: i32): v128 {
  if (w >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  if (w > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (w > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (w > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

// Stores the first `w` (≤ 0 … ≥ 4) lanes of v at p.
// @ts-ignore: decorator
@inline function storeN(p: usize, v: v128, w: i32): void {
  if (w >= 4) { v128.store(p, v); return; }
  if (w > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (w > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (w > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/**
 * One 4×8 tile: out rows po, po+st, … (w ≤ 8 valid columns) over kn steps of k; the A
 * rows start at pa, pa + sam4, … and step by sak4 bytes per k.
 * mode 0: start from bias (or 0); 1: from out + bias; 2: from out (a later K block).
 * (One plain loop per function: V8 keeps all 11 vectors in registers only then; an
 * unrolled or multi-variant body measured 1.7× slower.)
 */
function tile4x8(po: usize, st: usize, pa: usize, sam4: usize, sak4: usize, pb: usize, kn: i32, bias: usize, w: i32, mode: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (mode != 0) {
    c00 = loadN(po, w); c01 = loadN(po + 16, w - 4);
    c10 = loadN(po + st, w); c11 = loadN(po + st + 16, w - 4);
    c20 = loadN(po + 2 * st, w); c21 = loadN(po + 2 * st + 16, w - 4);
    c30 = loadN(po + 3 * st, w); c31 = loadN(po + 3 * st + 16, w - 4);
  }
  if (mode != 2 && bias != 0) {
    const b0 = loadN(bias, w), b1 = loadN(bias + 16, w - 4);
    c00 = f32x4.add(c00, b0); c01 = f32x4.add(c01, b1); c10 = f32x4.add(c10, b0); c11 = f32x4.add(c11, b1);
    c20 = f32x4.add(c20, b0); c21 = f32x4.add(c21, b1); c30 = f32x4.add(c30, b0); c31 = f32x4.add(c31, b1);
  }
  let q = pb;
  const qe = pb + (<usize>kn << 5);
  let a0 = pa, a1 = pa + sam4, a2 = a1 + sam4, a3 = a2 + sam4;
  while (q < qe) {
    const b0 = v128.load(q), b1 = v128.load(q, 16);
    let x = v128.load32_splat(a0);
    c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
    x = v128.load32_splat(a1);
    c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
    x = v128.load32_splat(a2);
    c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
    x = v128.load32_splat(a3);
    c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
    q += 32; a0 += sak4; a1 += sak4; a2 += sak4; a3 += sak4;
  }
  storeN(po, c00, w); storeN(po + 16, c01, w - 4);
  storeN(po + st, c10, w); storeN(po + st + 16, c11, w - 4);
  storeN(po + 2 * st, c20, w); storeN(po + 2 * st + 16, c21, w - 4);
  storeN(po + 3 * st, c30, w); storeN(po + 3 * st + 16, c31, w - 4);
}

/** tile4x8 for A stored transposed (sam = 1): the tile's four A values per k are adjacent. */
function tile4x8t(po: usize, st: usize, pa: usize, sak4: usize, pb: usize, kn: i32, bias: usize, w: i32, mode: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (mode != 0) {
    c00 = loadN(po, w); c01 = loadN(po + 16, w - 4);
    c10 = loadN(po + st, w); c11 = loadN(po + st + 16, w - 4);
    c20 = loadN(po + 2 * st, w); c21 = loadN(po + 2 * st + 16, w - 4);
    c30 = loadN(po + 3 * st, w); c31 = loadN(po + 3 * st + 16, w - 4);
  }
  if (mode != 2 && bias != 0) {
    const b0 = loadN(bias, w), b1 = loadN(bias + 16, w - 4);
    c00 = f32x4.add(c00, b0); c01 = f32x4.add(c01, b1); c10 = f32x4.add(c10, b0); c11 = f32x4.add(c11, b1);
    c20 = f32x4.add(c20, b0); c21 = f32x4.add(c21, b1); c30 = f32x4.add(c30, b0); c31 = f32x4.add(c31, b1);
  }
  let q = pb;
  const qe = pb + (<usize>kn << 5);
  let a0 = pa;
  while (q < qe) {
    const b0 = v128.load(q), b1 = v128.load(q, 16);
    let x = v128.load32_splat(a0);
    c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
    x = v128.load32_splat(a0, 4);
    c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
    x = v128.load32_splat(a0, 8);
    c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
    x = v128.load32_splat(a0, 12);
    c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
    q += 32; a0 += sak4;
  }
  storeN(po, c00, w); storeN(po + 16, c01, w - 4);
  storeN(po + st, c10, w); storeN(po + st + 16, c11, w - 4);
  storeN(po + 2 * st, c20, w); storeN(po + 2 * st + 16, c21, w - 4);
  storeN(po + 3 * st, c30, w); storeN(po + 3 * st + 16, c31, w - 4);
}

/** One 1×8 row tile (the M % 4 tail, and M = 1): same contract as tile4x8. */
function tile1x8(po: usize, pa: usize, sak4: usize, pb: usize, kn: i32, bias: usize, w: i32, mode: i32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  if (mode != 0) { c0 = loadN(po, w); c1 = loadN(po + 16, w - 4); }
  if (mode != 2 && bias != 0) { c0 = f32x4.add(c0, loadN(bias, w)); c1 = f32x4.add(c1, loadN(bias + 16, w - 4)); }
  let a0 = pa;
  let q = pb;
  const qe = pb + (<usize>kn << 5);
  while (q < qe) {
    const x = v128.load32_splat(a0);
    c0 = madd(x, v128.load(q), c0); c1 = madd(x, v128.load(q, 16), c1);
    q += 32; a0 += sak4;
  }
  storeN(po, c0, w); storeN(po + 16, c1, w - 4);
}

/**
 * out[m, n] = (acc ? out[m, n] : 0) + (bias ? bias[n] : 0) + Σ_k A(m, k)·B(k, n), out [M, N]
 * row-major; A(m, k) at a + (m·sam + k·sak)·4; B packed by packB (K rows).
 * With several parts the work is handed out dynamically: 4 units per thread (groups of
 * 8-column panels, or of 4-row tiles, whichever dimension has more tiles), taken from the
 * shared i32 counter at `ctr` (zeroed by the caller before the call), so a thread slowed by a
 * busy core takes fewer units instead of holding up the others. Each unit is computed whole
 * (all of K) by one thread in a fixed order, so results do not depend on the thread count.
 */
export function mm(out: usize, a: usize, sam: i32, sak: i32, bp: usize, bias: usize, M: i32, K: i32, N: i32, acc: i32, ctr: usize,
  part: i32, nparts: i32): void {
  const NP = (N + 7) >> 3;
  const MT = (M + 3) >> 2;
  if (nparts <= 1) {
    mmRange(out, a, sam, sak, bp, bias, 0, M, 0, NP, K, N, acc);
    return;
  }
  const want = 4 * nparts;
  if (NP >= MT) {
    const per = (NP + want - 1) / want; // panels per unit
    for (;;) {
      const p0 = atomic.add<i32>(ctr, 1) * per;
      if (p0 >= NP) break;
      mmRange(out, a, sam, sak, bp, bias, 0, M, p0, min(NP, p0 + per), K, N, acc);
    }
  } else {
    const per = ((MT + want - 1) / want) << 2; // rows per unit, a multiple of 4
    for (;;) {
      const m0 = atomic.add<i32>(ctr, 1) * per;
      if (m0 >= M) break;
      mmRange(out, a, sam, sak, bp, bias, m0, min(M, m0 + per), 0, NP, K, N, acc);
    }
  }
}

/** The rows [m0, m1) × panels [p0, p1) of mm's product (one thread's share). */
export function mmRange(out: usize, a: usize, sam: i32, sak: i32, bp: usize, bias: usize, m0: i32, m1: i32, p0: i32, p1: i32, K: i32, N: i32, acc: i32): void {
  if (p0 >= p1 || m0 >= m1) return;
  const st = <usize>N << 2;
  const sam4 = <usize>sam << 2, sak4 = <usize>sak << 2;
  const MC = sam == 1 ? MC_TRANSPOSED : MC_ROWS;
  let k0 = 0;
  do {
    const kn = min(KC, K - k0);
    const mode = k0 > 0 ? 2 : acc != 0 ? 1 : 0;
    for (let mb = m0; mb < m1; mb += MC) {
      const me = min(m1, mb + MC);
      for (let p = p0; p < p1; p++) {
        const n = p << 3;
        const w = min(8, N - n);
        const pb = bp + ((<usize>p * <usize>K + <usize>k0) << 5);
        const bn = bias != 0 ? bias + (<usize>n << 2) : 0;
        let m = mb;
        for (; m + 4 <= me; m += 4) {
          const po = out + ((<usize>m * <usize>N + <usize>n) << 2);
          const pa = a + ((<usize>m * <usize>sam + <usize>k0 * <usize>sak) << 2);
          if (sam == 1) tile4x8t(po, st, pa, sak4, pb, kn, bn, w, mode);
          else tile4x8(po, st, pa, sam4, sak4, pb, kn, bn, w, mode);
        }
        for (; m < me; m++) {
          tile1x8(out + ((<usize>m * <usize>N + <usize>n) << 2), a + ((<usize>m * <usize>sam + <usize>k0 * <usize>sak) << 2), sak4, pb, kn, bn, w, mode);
        }
      }
    }
    k0 += KC;
  } while (k0 < K);
}
