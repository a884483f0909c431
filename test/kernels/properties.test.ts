/**
 * Property tests (fast-check) of the WebAssembly cross-entropy against the float64 JS path and
 * against mathematics: on random problems (shapes, targets with ignored rows, soft targets,
 * weights, smoothing, z-loss, reductions) the kernels agree with the reference; shifting a row
 * by a constant leaves loss and gradient unchanged; gradient rows sum to zero; the thread count
 * never changes a bit; finite differences of the float64 reference confirm the wasm gradient.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crossEntropy } from '../../src/index.js';
import type { CrossEntropyOptions } from '../../src/loss/cross-entropy.js';
import { finiteDifference, problem } from '../loss/arbitraries.js';
import { assertBitIdentical, assertCloseF32 } from './helpers.js';

const RUNS = { numRuns: 60 };
const options = fc.record({
  reduction: fc.constantFrom('mean' as const, 'sum' as const, 'none' as const),
  labelSmoothing: fc.constantFrom(0, 0.05, 0.3),
  zLoss: fc.constantFrom(0, 1e-3),
  useWeight: fc.boolean(),
  soft: fc.boolean(),
});

function opts(
  o: { reduction: 'mean' | 'sum' | 'none'; labelSmoothing: number; zLoss: number; useWeight: boolean },
  weight: number[],
): CrossEntropyOptions {
  return {
    reduction: o.reduction,
    labelSmoothing: o.labelSmoothing,
    zLoss: o.zLoss,
    ...(o.useWeight ? { weight } : {}),
  };
}

test('wasm = float64 JS reference on random problems, every option', () => {
  fc.assert(
    fc.property(
      problem({ maxN: 6, maxV: 40, ignore: true }),
      options,
      fc.integer({ min: 1, max: 3 }),
      (pr, o, threads) => {
        const x32 = Float32Array.from(pr.logits.data);
        const q32 = Float32Array.from(pr.probs.data);
        const shape: [number, number] = [pr.n, pr.v];
        const target = o.soft ? { data: q32, shape } : pr.target;
        const w = crossEntropy({ data: x32, shape }, target, {
          ...opts(o, pr.weight),
          grad: true,
          backend: 'wasm',
          threads,
        });
        const r = crossEntropy(
          { data: Float64Array.from(x32), shape },
          o.soft ? { data: Float64Array.from(q32), shape } : pr.target,
          {
            ...opts(o, pr.weight),
            grad: true,
            backend: 'js',
          },
        );
        if (typeof r.loss === 'number') assertCloseF32('loss', [w.loss as number], [r.loss], 1e-5, 0);
        else assertCloseF32('row losses', w.loss as Float64Array, r.loss, 1e-5, 1e-7);
        assertCloseF32('grad', w.grad as Float32Array, r.grad as Float64Array);
      },
    ),
    RUNS,
  );
});

test('wasm: a constant added to every logit of a row changes neither loss nor gradient; gradient rows sum to 0', () => {
  fc.assert(
    fc.property(problem({ maxN: 4, maxV: 50, range: 8 }), fc.constantFrom(-64, -1, 0.5, 1024), (pr, c) => {
      // Logits on a 2^-10 grid, so x + c is exact in float32 for these c (|x + c| < 2^13).
      const x = Float32Array.from(pr.logits.data, (v) => Math.round(v * 1024) / 1024);
      const y = x.map((v) => v + c);
      const a = crossEntropy({ data: x, shape: [pr.n, pr.v] }, pr.target, {
        reduction: 'none',
        grad: true,
        backend: 'wasm',
      });
      const b = crossEntropy({ data: y, shape: [pr.n, pr.v] }, pr.target, {
        reduction: 'none',
        grad: true,
        backend: 'wasm',
      });
      for (let i = 0; i < pr.n; i++) {
        const la = (a.loss as Float64Array)[i] as number;
        const lb = (b.loss as Float64Array)[i] as number;
        assert.ok(Math.abs(la - lb) <= 1e-5 * Math.abs(la) + 1e-9, `row ${i}: ${la} vs ${lb}`);
        let s = 0;
        let m = 0;
        for (let j = 0; j < pr.v; j++) {
          const g = (a.grad as Float32Array)[i * pr.v + j] as number;
          s += g;
          m = Math.max(m, Math.abs(g));
        }
        assert.ok(Math.abs(s) <= 1e-6 * Math.max(m, 1e-30) * pr.v + 1e-12, `row ${i}: gradient sums to ${s}`);
      }
    }),
    RUNS,
  );
});

test('wasm: thread count never changes a bit; the gradient matches finite differences of the float64 loss', () => {
  fc.assert(
    fc.property(problem({ maxN: 5, maxV: 12, ignore: true }), options, (pr, o) => {
      const x32 = Float32Array.from(pr.logits.data);
      const o2 = { ...opts(o, pr.weight), reduction: o.reduction === 'none' ? ('sum' as const) : o.reduction };
      const one = crossEntropy({ data: x32, shape: [pr.n, pr.v] }, pr.target, {
        ...o2,
        grad: true,
        backend: 'wasm',
        threads: 1,
      });
      const three = crossEntropy({ data: x32, shape: [pr.n, pr.v] }, pr.target, {
        ...o2,
        grad: true,
        backend: 'wasm',
        threads: 3,
      });
      assert.ok(Object.is(one.loss, three.loss));
      assertBitIdentical('grad', one.grad as Float32Array, three.grad as Float32Array);
      if (Number.isNaN(one.loss)) return; // every row ignored with 'mean'
      const fd = finiteDifference(
        (x) => crossEntropy({ data: x, shape: [pr.n, pr.v] }, pr.target, { ...o2, backend: 'js' }).loss,
        Float64Array.from(x32),
      );
      assertCloseF32('finite differences', one.grad as Float32Array, fd, 1e-4, 1e-5);
    }),
    { numRuns: 40 },
  );
});
