/** fast-check generators for loss tests: small [N, V] problems with options. */
import fc from 'fast-check';
import type { Matrix } from '../../src/index.js';

export interface Problem {
  n: number;
  v: number;
  logits: Matrix<Float64Array>;
  /** Class indices in [0, V), some replaced by the ignore index −100 when `ignore`. */
  target: Int32Array;
  /** Probability rows (each sums to 1). */
  probs: Matrix<Float64Array>;
  /** Positive class weights. */
  weight: number[];
}

const logit = (range: number) => fc.double({ min: -range, max: range, noNaN: true, noDefaultInfinity: true });

export function problem(
  opts: { maxN?: number; maxV?: number; range?: number; ignore?: boolean } = {},
): fc.Arbitrary<Problem> {
  const { maxN = 4, maxV = 7, range = 10, ignore = false } = opts;
  return fc
    .record({ n: fc.integer({ min: 1, max: maxN }), v: fc.integer({ min: 1, max: maxV }) })
    .chain(({ n, v }) =>
      fc.record({
        n: fc.constant(n),
        v: fc.constant(v),
        x: fc.array(logit(range), { minLength: n * v, maxLength: n * v }),
        t: fc.array(fc.integer({ min: ignore ? -1 : 0, max: v - 1 }), { minLength: n, maxLength: n }),
        q: fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: n * v, maxLength: n * v }),
        w: fc.array(fc.double({ min: 0.1, max: 3, noNaN: true }), { minLength: v, maxLength: v }),
      }),
    )
    .map(({ n, v, x, t, q, w }) => {
      const probs = new Float64Array(n * v);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < v; j++) s += q[i * v + j] as number;
        for (let j = 0; j < v; j++) probs[i * v + j] = (q[i * v + j] as number) / s;
      }
      return {
        n,
        v,
        logits: { data: Float64Array.from(x), shape: [n, v] as const },
        target: Int32Array.from(t, (y) => (y < 0 ? -100 : y)),
        probs: { data: probs, shape: [n, v] as const },
        weight: w,
      };
    });
}

/**
 * Central finite differences of f at x (float64): df/dx_k ≈ (f(x + h e_k) − f(x − h e_k)) / 2h,
 * with h scaled to |x_k|. Truncation error O(h²·f''') and rounding O(ε·|f|/h): ~1e-8 relative here.
 */
export function finiteDifference(f: (x: Float64Array) => number, x: Float64Array, h0 = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  const y = Float64Array.from(x);
  for (let k = 0; k < x.length; k++) {
    const xk = x[k] as number;
    const h = h0 * Math.max(1, Math.abs(xk));
    y[k] = xk + h;
    const fp = f(y);
    y[k] = xk - h;
    const fm = f(y);
    y[k] = xk;
    g[k] = (fp - fm) / (2 * h);
  }
  return g;
}

/** |a − b| ≤ atol + rtol·|b| elementwise; returns the first offending index or −1. */
export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return i;
  }
  return -1;
}

export function sumOf(x: number | Float64Array): number {
  if (typeof x === 'number') return x;
  let s = 0;
  for (const e of x) s += e;
  return s;
}
