/**
 * logSumExp, logSoftmax and softmax on the WebAssembly kernels (float32) against the float64 JS
 * reference path: awkward shapes, extreme rows (±1e4, −inf, all −inf, spread 1000), NaN/+inf
 * reporting identical to the validator, and bit-identical results for every thread count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logSoftmax, logSumExp, softmax, XentError } from '../../src/index.js';
import { setStageBytesForTesting } from '../../src/kernels/cross-entropy.js';
import { kernelCallCount } from '../../src/kernels/pool.js';
import { assertBitIdentical, assertCloseF32, randomLogits, rng } from './helpers.js';

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [4, 1],
  [3, 2],
  [2, 5],
  [5, 7],
  [3, 31],
  [2, 2047],
  [2, 2048],
  [3, 4101],
  [1, 50257],
];

test('logSumExp / logSoftmax / softmax wasm = float64 JS reference on awkward shapes, 1–3 threads', () => {
  const r = rng(11);
  for (const [n, v] of SHAPES) {
    const x = randomLogits(r, n, v, 20);
    const m = { data: x, shape: [n, v] as [number, number] };
    const m64 = { data: Float64Array.from(x), shape: [n, v] as [number, number] };
    const lseRef = logSumExp(m64, { backend: 'js' });
    const lsRef = logSoftmax(m64, { backend: 'js' }).data;
    const smRef = softmax(m64, { backend: 'js' }).data;
    for (const threads of [1, 2, 3]) {
      const c = kernelCallCount();
      assertCloseF32(`[${n}, ${v}] logSumExp`, logSumExp(m, { backend: 'wasm', threads }), lseRef, 1e-6, 0);
      const ls = logSoftmax(m, { backend: 'wasm', threads }).data;
      assert.ok(ls instanceof Float32Array);
      assertCloseF32(`[${n}, ${v}] logSoftmax`, ls, lsRef, 1e-5, 1e-7);
      assertCloseF32(`[${n}, ${v}] softmax`, softmax(m, { backend: 'wasm', threads }).data, smRef, 1e-5, 1e-7);
      assert.equal(kernelCallCount(), c + 3);
    }
  }
});

test('logSumExp / logSoftmax / softmax wasm: extreme rows match the JS path (all −inf: lse −inf, (log)softmax NaN)', () => {
  const rows = [
    [1e4, 1e4, -1e4, 0, 0],
    [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
    [0, 0, 0, 0, 0],
    [-Infinity, 1.5, 2, -Infinity, 0],
    [0, 1000, 0, -1000, 999],
    [-1e4, -1e4, -1e4, -1e4, 1e4],
  ];
  const x = Float32Array.from(rows.flat());
  const m = { data: x, shape: [rows.length, 5] as [number, number] };
  const m64 = { data: Float64Array.from(x), shape: m.shape };
  assertCloseF32('lse', logSumExp(m, { backend: 'wasm' }), logSumExp(m64, { backend: 'js' }), 1e-7, 0);
  assert.equal(logSumExp(m, { backend: 'wasm' })[1], -Infinity);
  assertCloseF32(
    'logSoftmax',
    logSoftmax(m, { backend: 'wasm' }).data,
    logSoftmax(m64, { backend: 'js' }).data,
    1e-6,
    0,
  );
  assertCloseF32('softmax', softmax(m, { backend: 'wasm' }).data, softmax(m64, { backend: 'js' }).data, 1e-6, 0);
  // e^(−inf − lse) is exactly 0, not a tiny number.
  assert.equal(softmax(m, { backend: 'wasm' }).data[15], 0);
});

test('logSumExp / logSoftmax / softmax wasm: threads are bit-identical', () => {
  const x = randomLogits(rng(12), 29, 3333, 16);
  const m = { data: x, shape: [29, 3333] as [number, number] };
  const a = logSumExp(m, { backend: 'wasm', threads: 1 });
  const b = logSoftmax(m, { backend: 'wasm', threads: 1 }).data;
  const c = softmax(m, { backend: 'wasm', threads: 1 }).data;
  for (const threads of [2, 4]) {
    assertBitIdentical('lse', logSumExp(m, { backend: 'wasm', threads }), a);
    assertBitIdentical('logSoftmax', logSoftmax(m, { backend: 'wasm', threads }).data, b);
    assertBitIdentical('softmax', softmax(m, { backend: 'wasm', threads }).data, c);
  }
});

test('logSumExp / logSoftmax / softmax wasm: NaN and +Infinity give the validator error', () => {
  for (const [i, bad] of [
    [2 * 9 + 4, NaN],
    [8, Infinity],
  ] as Array<[number, number]>) {
    const x = randomLogits(rng(13), 3, 9);
    x[i] = bad;
    const m = { data: x, shape: [3, 9] as [number, number] };
    for (const f of [logSumExp, logSoftmax, softmax] as Array<(m: unknown, o: unknown) => unknown>) {
      let jsErr: XentError | undefined;
      try {
        f(m, { backend: 'js' });
      } catch (e) {
        jsErr = e as XentError;
      }
      assert.ok(jsErr instanceof XentError);
      assert.throws(
        () => f(m, { backend: 'wasm' }),
        (e: unknown) => e instanceof XentError && e.message === jsErr.message && e.code === jsErr.code,
      );
    }
  }
});

test('logSumExp wasm: NaN in a block of otherwise −inf before finite blocks is still caught; confident rows exact', () => {
  const v = 5000; // blocks of 2048: the NaN sits in an all −inf first block
  const x = new Float32Array(2 * v).fill(-Infinity);
  for (let j = 3000; j < v; j++) x[j] = 1;
  x[5] = NaN;
  for (let j = v; j < 2 * v; j++) x[j] = -30;
  x[v + 4321] = 0;
  const m = { data: x, shape: [2, v] as [number, number] };
  assert.throws(
    () => logSumExp(m, { backend: 'wasm' }),
    (e: unknown) =>
      e instanceof XentError &&
      e.code === 'non_finite' &&
      e.message === 'logSumExp: x[0, 5] is NaN; x must be finite or -Infinity',
  );
  x[5] = -Infinity;
  const got = logSumExp(m, { backend: 'wasm' });
  const want = logSumExp({ data: Float64Array.from(x), shape: [2, v] }, { backend: 'js' });
  assertCloseF32('lse', got, want, 1e-7, 0);
  assertCloseF32('confident row lse (tiny)', [got[1] as number], [want[1] as number], 1e-5, 0);
});

test('logSumExp / logSoftmax / softmax wasm: staged blocks of rows (ordinary arrays) give identical results', () => {
  const n = 13;
  const v = 777;
  const x = randomLogits(rng(14), n, v, 10);
  const m = { data: x, shape: [n, v] as [number, number] };
  const a = logSumExp(m, { backend: 'wasm' });
  const b = logSoftmax(m, { backend: 'wasm' }).data;
  const c = softmax(m, { backend: 'wasm' }).data;
  const prev = setStageBytesForTesting(2 * v * 4); // 2 rows per block
  try {
    for (const threads of [1, 3]) {
      assertBitIdentical('staged lse', logSumExp(m, { backend: 'wasm', threads }), a);
      assertBitIdentical('staged logSoftmax', logSoftmax(m, { backend: 'wasm', threads }).data, b);
      assertBitIdentical('staged softmax', softmax(m, { backend: 'wasm', threads }).data, c);
    }
  } finally {
    setStageBytesForTesting(prev);
  }
});
