/**
 * binaryCrossEntropyWithLogits and klDivergence on the WebAssembly kernels (float32) against the
 * float64 JS reference path: weights and posWeight with their broadcast periods, both KL target
 * forms, every reduction, gradients, sizes that span several 8192-element chunks, and
 * bit-identical results for every thread count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryCrossEntropyWithLogits, klDivergence } from '../../src/index.js';
import { setStageBytesForTesting } from '../../src/kernels/cross-entropy.js';
import { kernelCallCount } from '../../src/kernels/pool.js';
import { assertBitIdentical, assertCloseF32, rng } from './helpers.js';

function data(r: () => number, len: number, f: (u: number) => number): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = f(r());
  return a;
}

test('binaryCrossEntropyWithLogits wasm = JS reference (weights, posWeight, reductions, gradient, 1–3 threads)', () => {
  const r = rng(21);
  for (const [n, c] of [
    [1, 1],
    [3, 5],
    [7, 3],
    [8192 + 5, 3],
    [1, 9001],
  ] as Array<[number, number]>) {
    const x = data(r, n * c, (u) => (u - 0.5) * 30);
    x[0] = 1e4;
    if (x.length > 2) x[1] = -1e4;
    const y = data(r, n * c, (u) => (u < 0.3 ? 0 : u > 0.7 ? 1 : u));
    const weight = Array.from({ length: c }, () => 0.5 + r());
    const posWeight = Array.from({ length: c }, () => 0.5 + 3 * r());
    for (const o of [
      {},
      { weight },
      { posWeight, reduction: 'sum' as const },
      { weight, posWeight, reduction: 'none' as const },
    ]) {
      const shape = [n, c];
      const ref = binaryCrossEntropyWithLogits(
        { data: Float64Array.from(x), shape },
        { data: Float64Array.from(y), shape },
        { ...o, grad: true, backend: 'js' },
      );
      for (const threads of [1, 2, 3]) {
        const k = kernelCallCount();
        const w = binaryCrossEntropyWithLogits(
          { data: x, shape },
          { data: y, shape },
          { ...o, grad: true, backend: 'wasm', threads },
        );
        assert.equal(kernelCallCount(), k + 1);
        const what = `bce [${n}, ${c}] ${Object.keys(o).join('+')} threads=${threads}`;
        if (typeof ref.loss === 'number') assertCloseF32(`${what} loss`, [w.loss as number], [ref.loss], 1e-9, 0);
        else assertCloseF32(`${what} losses`, w.loss as Float64Array, ref.loss, 1e-9, 0);
        assertCloseF32(`${what} grad`, w.grad as Float32Array, ref.grad as Float64Array, 1e-6, 0);
      }
    }
  }
});

test('klDivergence wasm = JS reference (probabilities with zeros, log targets, all reductions, gradient)', () => {
  const r = rng(22);
  for (const [n, v] of [
    [1, 1],
    [4, 7],
    [2, 8192 + 3],
  ] as Array<[number, number]>) {
    const input = data(r, n * v, (u) => Math.log(u + 1e-3));
    const prob = data(r, n * v, (u) => (u < 0.2 ? 0 : u));
    const logp = data(r, n * v, (u) => Math.log(u + 1e-4));
    for (const [target, logTarget] of [
      [prob, false],
      [logp, true],
    ] as Array<[Float32Array, boolean]>) {
      for (const reduction of ['batchmean', 'mean', 'sum', 'none'] as const) {
        const shape = [n, v];
        const ref = klDivergence(
          { data: Float64Array.from(input), shape },
          { data: Float64Array.from(target), shape },
          { reduction, logTarget, grad: true, backend: 'js' },
        );
        for (const threads of [1, 3]) {
          const w = klDivergence(
            { data: input, shape },
            { data: target, shape },
            { reduction, logTarget, grad: true, backend: 'wasm', threads },
          );
          const what = `kl [${n}, ${v}] ${reduction} logTarget=${logTarget} threads=${threads}`;
          if (typeof ref.loss === 'number') assertCloseF32(`${what} loss`, [w.loss as number], [ref.loss], 1e-9, 0);
          else assertCloseF32(`${what} losses`, w.loss as Float64Array, ref.loss, 1e-9, 0);
          assertCloseF32(`${what} grad`, w.grad as Float32Array, ref.grad as Float64Array, 1e-6, 0);
        }
      }
    }
  }
});

test('elementwise kernels: threads are bit-identical (chunked float64 partial sums in a fixed order)', () => {
  const r = rng(23);
  const n = 3 * 8192 + 77;
  const x = data(r, n, (u) => (u - 0.5) * 10);
  const y = data(r, n, (u) => u);
  const a = binaryCrossEntropyWithLogits(x, y, { grad: true, backend: 'wasm', threads: 1 });
  const p = klDivergence(
    x.map((v) => -Math.abs(v)),
    y,
    { grad: true, backend: 'wasm', threads: 1 },
  );
  for (const threads of [2, 3, 4]) {
    const b = binaryCrossEntropyWithLogits(x, y, { grad: true, backend: 'wasm', threads });
    assert.ok(Object.is(a.loss, b.loss));
    assertBitIdentical('bce grad', a.grad as Float32Array, b.grad as Float32Array);
    const q = klDivergence(
      x.map((v) => -Math.abs(v)),
      y,
      { grad: true, backend: 'wasm', threads },
    );
    assert.ok(Object.is(p.loss, q.loss));
  }
});

test('elementwise kernels: staged blocks (ordinary arrays, small staging) give identical results', () => {
  const r = rng(24);
  const n = 4 * 8192 + 100; // a multiple of 3, not of 8192
  const x = data(r, n, (u) => (u - 0.5) * 10);
  const y = data(r, n, (u) => u);
  const weight = [0.5, 2, 1.5];
  const a = binaryCrossEntropyWithLogits(
    { data: x, shape: [n / 3, 3] },
    { data: y, shape: [n / 3, 3] },
    { grad: true, backend: 'wasm', reduction: 'none', weight },
  );
  const k = klDivergence(
    x.map((v) => -Math.abs(v)),
    y,
    { grad: true, backend: 'wasm', reduction: 'none' },
  );
  const prev = setStageBytesForTesting(8 * 8192); // one 8192-element chunk per block
  try {
    for (const threads of [1, 2]) {
      const b = binaryCrossEntropyWithLogits(
        { data: x, shape: [n / 3, 3] },
        { data: y, shape: [n / 3, 3] },
        { grad: true, backend: 'wasm', reduction: 'none', weight, threads },
      );
      assertBitIdentical('staged bce losses', b.loss as Float64Array, a.loss as Float64Array);
      assertBitIdentical('staged bce grad', b.grad as Float32Array, a.grad as Float32Array);
      const xi = x.slice();
      binaryCrossEntropyWithLogits(
        { data: xi, shape: [n / 3, 3] },
        { data: y, shape: [n / 3, 3] },
        { inPlace: true, backend: 'wasm', reduction: 'none', weight, threads },
      );
      assertBitIdentical('staged bce in place', xi, a.grad as Float32Array);
      const q = klDivergence(
        x.map((v) => -Math.abs(v)),
        y,
        { grad: true, backend: 'wasm', reduction: 'none', threads },
      );
      assertBitIdentical('staged kl losses', q.loss as Float64Array, k.loss as Float64Array);
      assertBitIdentical('staged kl grad', q.grad as Float32Array, k.grad as Float32Array);
    }
  } finally {
    setStageBytesForTesting(prev);
  }
});
