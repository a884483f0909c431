/**
 * crossEntropy on the WebAssembly kernels (backend 'wasm', float32 logits) against the float64
 * JS reference path (backend 'js' on the same values widened to float64): every option, awkward
 * shapes (V = 1, V not a multiple of 4 or 8, V across the kernel's 2048-float block, N smaller
 * than the thread count), extreme values (±1e4, −inf, a spread of 1000), every gradient
 * destination, error reporting, and bit-identical results for every thread count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crossEntropy, XentError } from '../../src/index.js';
import { setStageBytesForTesting } from '../../src/kernels/cross-entropy.js';
import { kernelCallCount } from '../../src/kernels/pool.js';
import { allocFloat32, freeFloat32 } from '../../src/kernels/runtime.js';
import type { CrossEntropyOptions } from '../../src/loss/cross-entropy.js';
import { assertBitIdentical, assertCloseF32, randomLogits, randomProbs, randomTargets, rng } from './helpers.js';

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [3, 1],
  [2, 2],
  [5, 3],
  [4, 7],
  [3, 17],
  [7, 1001],
  [2, 2048],
  [3, 2049],
  [2, 4099],
];
const OPTIONS: Array<[string, CrossEntropyOptions, boolean]> = [
  ['plain mean', {}, false],
  ['sum', { reduction: 'sum' }, false],
  ['none', { reduction: 'none' }, false],
  ['label smoothing 0.1', { labelSmoothing: 0.1 }, false],
  ['weights', { weight: [] }, false],
  ['weights + smoothing + none', { weight: [], labelSmoothing: 0.2, reduction: 'none' }, false],
  ['z-loss 1e-3, bits', { zLoss: 1e-3, unit: 'bit' }, false],
  ['ignoreIndex = 0 (a real class)', { ignoreIndex: 0 }, false],
  ['soft targets', {}, true],
  [
    'soft targets + smoothing + weights + z-loss, sum',
    { labelSmoothing: 0.1, weight: [], zLoss: 1e-4, reduction: 'sum' },
    true,
  ],
];

function withWeights(o: CrossEntropyOptions, v: number, r: () => number): CrossEntropyOptions {
  if (!o.weight) return o;
  return { ...o, weight: Array.from({ length: v }, () => 0.25 + 2 * r()) };
}

function compare(
  what: string,
  x: Float32Array,
  n: number,
  v: number,
  target: Int32Array | { data: Float32Array; shape: [number, number] },
  o: CrossEntropyOptions,
  threads: number,
): void {
  const calls = kernelCallCount();
  const w = crossEntropy({ data: x, shape: [n, v] }, target, { ...o, grad: true, backend: 'wasm', threads });
  assert.equal(kernelCallCount(), calls + 1, `${what}: the WebAssembly kernel ran`);
  const ref = crossEntropy({ data: Float64Array.from(x), shape: [n, v] }, target, { ...o, grad: true, backend: 'js' });
  assert.ok(w.grad instanceof Float32Array);
  if (typeof ref.loss === 'number') assertCloseF32(`${what} loss`, [w.loss as number], [ref.loss], 1e-5, 0);
  else assertCloseF32(`${what} row losses`, w.loss as Float64Array, ref.loss, 1e-5, 1e-7);
  assertCloseF32(`${what} grad`, w.grad, ref.grad as Float64Array);
}

test('crossEntropy wasm = float64 JS reference: every option × awkward shapes × 1–3 threads', () => {
  const r = rng(1);
  for (const [n, v] of SHAPES) {
    for (const [name, o0, soft] of OPTIONS) {
      const o = withWeights(o0, v, r);
      const x = randomLogits(r, n, v);
      const ignore = o.ignoreIndex === 0 ? 0 : -100;
      const t = randomTargets(r, n, v, soft || ignore === 0 ? 0 : 3);
      if (ignore === 0) for (let i = 0; i < n; i += 2) t[i] = 0;
      const target = soft ? { data: randomProbs(r, n, v), shape: [n, v] as [number, number] } : t;
      for (const threads of [1, 2, 3]) compare(`[${n}, ${v}] ${name} threads=${threads}`, x, n, v, target, o, threads);
    }
  }
});

test('crossEntropy wasm: extreme logits (±1e4, −inf entries and targets, spread 1000, all −inf rows) match the JS path', () => {
  const v = 9;
  const rows = [
    [1e4, 1e4, -1e4, 0, 0, 0, 0, 0, 1],
    [-1e4, -1e4, 1e4, -1e4, 1e4, 0, 0, 0, 0],
    [0, 1000, 0, 0, 0, -1000, 998.5, 999, 0],
    [-Infinity, 1, 2, -Infinity, 0.5, -Infinity, 0, 0, 0],
    [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, 3],
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  ];
  const x = Float32Array.from(rows.flat());
  const n = rows.length;
  const targets = [
    Int32Array.from([0, 2, 0, 3, 8, 8]), // row 3 targets a −inf logit: loss +inf, finite gradient
    Int32Array.from([2, 4, 1, 1, 8, -100]),
  ];
  for (const t of targets) {
    for (const o of [{}, { reduction: 'none' as const }, { reduction: 'sum' as const, zLoss: 1e-4 }]) {
      for (const threads of [1, 4]) compare(`extreme ${JSON.stringify(o)} t=${t.join(',')}`, x, n, v, t, o, threads);
    }
  }
  // Label smoothing with a −inf logit in a kept row: +inf, as PyTorch.
  const ls = crossEntropy({ data: x, shape: [n, v] }, targets[1] as Int32Array, {
    labelSmoothing: 0.1,
    backend: 'wasm',
  });
  assert.equal(ls.loss, Infinity);
  // A kept row of all −inf (target included): NaN loss and NaN gradient row, as the JS path.
  const allInf = Float32Array.from([-Infinity, -Infinity, -Infinity, 0, 1, 2]);
  const a = crossEntropy({ data: allInf, shape: [2, 3] }, Int32Array.from([1, 2]), {
    reduction: 'none',
    grad: true,
    backend: 'wasm',
  });
  const b = crossEntropy({ data: Float64Array.from(allInf), shape: [2, 3] }, Int32Array.from([1, 2]), {
    reduction: 'none',
    grad: true,
    backend: 'js',
  });
  assertCloseF32('all -inf row loss', a.loss, b.loss);
  assertCloseF32('all -inf row grad', a.grad as Float32Array, b.grad as Float64Array);
});

test('crossEntropy wasm: every row ignored gives mean NaN with a zero gradient, sum 0', () => {
  const x = randomLogits(rng(2), 4, 11);
  const t = Int32Array.from([-100, -100, -100, -100]);
  const m = crossEntropy({ data: x, shape: [4, 11] }, t, { grad: true, backend: 'wasm' });
  assert.ok(Number.isNaN(m.loss));
  assert.ok((m.grad as Float32Array).every((g) => Object.is(g, 0)));
  assert.equal(crossEntropy({ data: x, shape: [4, 11] }, t, { reduction: 'sum', backend: 'wasm' }).loss, 0);
});

test('crossEntropy wasm: gradient destinations — fresh, out (plain and wasm-resident, float32 and float64), in place (plain and wasm-resident)', () => {
  const r = rng(3);
  const n = 6;
  const v = 1027;
  const x = randomLogits(r, n, v);
  const t = randomTargets(r, n, v, 4);
  const ref = crossEntropy({ data: Float64Array.from(x), shape: [n, v] }, t, { grad: true, backend: 'js' });
  const refGrad = ref.grad as Float64Array;

  const out32 = new Float32Array(n * v);
  const a = crossEntropy({ data: x, shape: [n, v] }, t, { out: out32, backend: 'wasm' });
  assert.equal(a.grad, out32);
  assertCloseF32('out float32', out32, refGrad);

  const out64 = new Float64Array(n * v);
  crossEntropy({ data: x, shape: [n, v] }, t, { out: out64, backend: 'wasm' });
  assertCloseF32('out float64', out64, refGrad);

  const outW = allocFloat32(n * v);
  crossEntropy({ data: x, shape: [n, v] }, t, { out: outW, backend: 'wasm', threads: 2 });
  assertBitIdentical('wasm-resident out = plain out', outW, out32);
  freeFloat32(outW);

  const xi = x.slice();
  const b = crossEntropy({ data: xi, shape: [n, v] }, t, { inPlace: true, backend: 'wasm' });
  assert.equal(b.grad, xi);
  assertBitIdentical('in place (plain array) = out', xi, out32);
  assert.equal(b.loss, a.loss);

  const xw = allocFloat32(n * v);
  xw.set(x);
  const c = crossEntropy({ data: xw, shape: [n, v] }, t, { inPlace: true, backend: 'wasm', threads: 3 });
  assert.equal(c.grad, xw);
  assertBitIdentical('in place (wasm-resident) = out', xw, out32);
  assert.equal(c.loss, a.loss);
  freeFloat32(xw);
});

test('crossEntropy wasm: threads give bit-identical losses and gradients (1, 2, 3, 5 threads; N below and above the thread count)', () => {
  const r = rng(4);
  for (const [n, v] of [
    [2, 3001],
    [37, 3001],
    [64, 513],
  ] as Array<[number, number]>) {
    const x = randomLogits(r, n, v, 12);
    const t = randomTargets(r, n, v, 5);
    const weight = Array.from({ length: v }, () => 0.5 + r());
    for (const o of [{ reduction: 'none' as const }, { labelSmoothing: 0.1, weight, zLoss: 1e-4 }]) {
      const base = crossEntropy({ data: x, shape: [n, v] }, t, { ...o, grad: true, backend: 'wasm', threads: 1 });
      for (const threads of [2, 3, 5]) {
        const other = crossEntropy({ data: x, shape: [n, v] }, t, { ...o, grad: true, backend: 'wasm', threads });
        if (typeof base.loss === 'number') assert.ok(Object.is(base.loss, other.loss), `loss threads=${threads}`);
        else assertBitIdentical(`row losses threads=${threads}`, base.loss, other.loss as Float64Array);
        assertBitIdentical(`grad threads=${threads}`, base.grad as Float32Array, other.grad as Float32Array);
      }
    }
  }
});

test('crossEntropy wasm: NaN / +Infinity in the logits raise the same XentError as the JS validator (also in place)', () => {
  const n = 5;
  const v = 2051;
  for (const [row, col, bad] of [
    [3, 2050, NaN],
    [0, 7, Infinity],
    [4, 0, NaN],
  ] as Array<[number, number, number]>) {
    const x = randomLogits(rng(5), n, v);
    x[row * v + col] = bad;
    if (row === 4) x[1 * v + 9] = NaN; // the first offending row is reported, as the validator does
    const t = randomTargets(rng(6), n, v);
    t[1] = -100; // an ignored row is still validated
    let jsErr: XentError | undefined;
    try {
      crossEntropy({ data: x, shape: [n, v] }, t, { backend: 'js' });
    } catch (e) {
      jsErr = e as XentError;
    }
    assert.ok(jsErr instanceof XentError && jsErr.code === 'non_finite');
    for (const extra of [{}, { grad: true, threads: 3 }, { inPlace: true }]) {
      const y = x.slice();
      assert.throws(
        () => crossEntropy({ data: y, shape: [n, v] }, t, { ...extra, backend: 'wasm' }),
        (e: unknown) =>
          e instanceof XentError &&
          e.code === jsErr.code &&
          e.message === jsErr.message &&
          JSON.stringify(e.fields) === JSON.stringify(jsErr.fields),
      );
    }
  }
});

test("crossEntropy: 'auto' runs the kernels for large float32 input, the JS path for float64 and tiny input", () => {
  const r = rng(7);
  const big = randomLogits(r, 8, 1000);
  const t = randomTargets(r, 8, 1000);
  let c = kernelCallCount();
  crossEntropy({ data: big, shape: [8, 1000] }, t);
  assert.equal(kernelCallCount(), c + 1);
  c = kernelCallCount();
  crossEntropy({ data: Float64Array.from(big), shape: [8, 1000] }, t);
  crossEntropy({ data: big.subarray(0, 20), shape: [2, 10] }, Int32Array.from([1, 2]));
  crossEntropy({ data: big, shape: [8, 1000] }, t, { backend: 'js' });
  assert.equal(kernelCallCount(), c);
});

test('crossEntropy wasm: confident rows keep their tiny losses to 1e-5 relative (no small terms lost against e^0 = 1)', () => {
  // Row i: the target logit is the max and every other logit sits `gap` below it, so the loss is
  // log(1 + (V−1)·e^(−gap)) ≪ 1; summing those terms into a float32 lane already holding 1 would
  // round most of them away.
  for (const v of [7, 1000, 5000]) {
    for (const gap of [8, 15, 22]) {
      const n = 3;
      const x = new Float32Array(n * v).fill(-gap);
      const t = Int32Array.from([0, Math.floor(v / 2), v - 1]);
      for (let i = 0; i < n; i++) x[i * v + (t[i] as number)] = 0;
      x[2 * v] = -gap + 0.5; // one slightly larger runner-up
      const w = crossEntropy({ data: x, shape: [n, v] }, t, { reduction: 'none', backend: 'wasm' }).loss;
      const ref = crossEntropy({ data: Float64Array.from(x), shape: [n, v] }, t, {
        reduction: 'none',
        backend: 'js',
      }).loss;
      assertCloseF32(`V=${v} gap=${gap}`, w, ref, 1e-5, 0);
    }
  }
});

test('crossEntropy wasm: ordinary (non-resident) arrays are staged a block of rows at a time with identical results', () => {
  const r = rng(8);
  const n = 23;
  const v = 1001;
  const x = randomLogits(r, n, v);
  const t = randomTargets(r, n, v, 4);
  const q = { data: randomProbs(r, n, v), shape: [n, v] as [number, number] };
  const whole = crossEntropy({ data: x, shape: [n, v] }, t, { grad: true, backend: 'wasm', reduction: 'none' });
  const wholeSoft = crossEntropy({ data: x, shape: [n, v] }, q, { grad: true, backend: 'wasm', labelSmoothing: 0.1 });
  const prev = setStageBytesForTesting(3 * v * 4 + 5); // 3 rows per block: 8 blocks, a short last one
  try {
    for (const threads of [1, 2]) {
      const a = crossEntropy({ data: x, shape: [n, v] }, t, {
        grad: true,
        backend: 'wasm',
        reduction: 'none',
        threads,
      });
      assertBitIdentical('staged row losses', a.loss, whole.loss);
      assertBitIdentical('staged grad', a.grad as Float32Array, whole.grad as Float32Array);
      const out64 = new Float64Array(n * v);
      crossEntropy({ data: x, shape: [n, v] }, t, { out: out64, backend: 'wasm', reduction: 'none', threads });
      assertBitIdentical('staged float64 out', out64, Float64Array.from(whole.grad as Float32Array));
      const xi = x.slice();
      crossEntropy({ data: xi, shape: [n, v] }, t, { inPlace: true, backend: 'wasm', reduction: 'none', threads });
      assertBitIdentical('staged in place', xi, whole.grad as Float32Array);
      const s = crossEntropy({ data: x, shape: [n, v] }, q, {
        grad: true,
        backend: 'wasm',
        labelSmoothing: 0.1,
        threads,
      });
      assert.ok(Object.is(s.loss, wholeSoft.loss));
      assertBitIdentical('staged soft grad', s.grad as Float32Array, wholeSoft.grad as Float32Array);
    }
  } finally {
    setStageBytesForTesting(prev);
  }
});
