/**
 * Shared setup for the xent/tfjs tests: the pure-JS CPU backend (the one every
 * machine has), without tfjs's one-time "install tfjs-node" banner, plus
 * comparison helpers tied to float32 (1e-5, relative to max(1, |expected|)).
 */

import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';

/** Selects the CPU backend; its first tensor write prints a console.warn banner in Node, swallowed here. */
export async function useQuietCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.tensor([0]).dispose();
  } finally {
    console.warn = warn;
  }
}

/** float32 tolerance: |a − e| ≤ tol · max(1, |e|); NaN matches NaN, ±Infinity matches itself. */
export function close(actual: number, expected: number, tol = 1e-5): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected));
}

export function assertClose(actual: number, expected: number, what: string, tol = 1e-5): void {
  assert.ok(close(actual, expected, tol), `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

export function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (!close(actual[i]!, expected[i]!, tol)) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

/** Values of a tensor as float64 numbers (disposes nothing). */
export function values(t: tf.Tensor): Float64Array {
  return Float64Array.from(t.dataSync() as Float32Array);
}

import { rng } from '../helpers/rng.js';

export { rng };

/** [N, V]-shaped random logits in [-scale, scale), float32. */
export function randomLogits(shape: number[], seed: number, scale = 3): tf.Tensor {
  const r = rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (r() * 2 - 1) * scale;
  return tf.tensor(data, shape, 'float32');
}

export function randomIndices(n: number, v: number, seed: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * v);
  return out;
}
