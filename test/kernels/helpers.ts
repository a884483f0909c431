/** Shared helpers for the kernel tests: seeded random inputs and float32-aware comparisons. */
import assert from 'node:assert/strict';

import { rng } from '../helpers/rng.js';

export { rng };

export function randomLogits(r: () => number, n: number, v: number, spread = 8): Float32Array {
  const x = new Float32Array(n * v);
  for (let i = 0; i < x.length; i++) x[i] = (r() - 0.5) * spread;
  return x;
}

export function randomTargets(r: () => number, n: number, v: number, ignoreEvery = 0): Int32Array {
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++)
    t[i] = ignoreEvery > 0 && i % ignoreEvery === ignoreEvery - 1 ? -100 : Math.floor(r() * v);
  return t;
}

export function randomProbs(r: () => number, n: number, v: number): Float32Array {
  const q = new Float32Array(n * v);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < v; j++) s += q[i * v + j] = r() + 0.01;
    for (let j = 0; j < v; j++) q[i * v + j] = (q[i * v + j] as number) / s;
  }
  return q;
}

/**
 * Float32-kernel tolerance against the float64 reference: relative 1e-5 of the value plus an
 * absolute floor of 1e-6 of the largest magnitude in the array (plus 1e-12; gradient entries near zero are
 * differences of two products and carry the float32 rounding of those products).
 */
export function assertCloseF32(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rtol = 1e-5,
  floorFrac = 1e-6,
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as number;
    if (Number.isFinite(w)) scale = Math.max(scale, Math.abs(w));
  }
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      assert.ok(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), `${what}[${i}]: got ${g}, want ${w}`);
      continue;
    }
    const tol = rtol * Math.abs(w) + floorFrac * scale + 1e-12;
    assert.ok(Math.abs(g - w) <= tol, `${what}[${i}]: got ${g}, want ${w} (|diff| ${Math.abs(g - w)} > ${tol})`);
  }
}

export function assertBitIdentical(what: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}
