/**
 * Finite-difference gradient checks (float64, central differences) on random small
 * inputs, for every differentiable loss and every option combination. For reduction
 * 'none' the gradient is that of the sum of the per-element losses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { CrossEntropyOptions } from '../../src/index.js';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  distillationLoss,
  klDivergence,
  nllLoss,
} from '../../src/index.js';
import { finiteDifference, firstMismatch, problem, sumOf } from './arbitraries.js';

const RTOL = 1e-5;
const ATOL = 1e-7;
const RUNS = { numRuns: 150 };

function checkGrad(what: string, analytic: ArrayLike<number>, numeric: ArrayLike<number>): void {
  const i = firstMismatch(analytic, numeric, RTOL, ATOL);
  assert.equal(i, -1, `${what}: grad[${i}] = ${analytic[i]} but finite difference gives ${numeric[i]}`);
}

const ceOptions = fc.record({
  reduction: fc.constantFrom('mean' as const, 'sum' as const, 'none' as const),
  useWeight: fc.boolean(),
  labelSmoothing: fc.constantFrom(0, 0.1, 0.5, 1),
  zLoss: fc.constantFrom(0, 1e-3, 0.1),
  unit: fc.constantFrom('nat' as const, 'bit' as const),
  soft: fc.boolean(),
});

test('crossEntropy gradient matches finite differences for every option combination', () => {
  fc.assert(
    fc.property(problem({ ignore: true }), ceOptions, (pr, o) => {
      const opts: CrossEntropyOptions = {
        reduction: o.reduction,
        labelSmoothing: o.labelSmoothing,
        zLoss: o.zLoss,
        unit: o.unit,
      };
      if (o.useWeight) opts.weight = pr.weight;
      const target = o.soft ? pr.probs : pr.target;
      const r = crossEntropy(pr.logits, target, { ...opts, grad: true });
      fc.pre(Number.isFinite(sumOf(r.loss))); // every row ignored under 'mean' gives NaN by design
      const f = (x: Float64Array) => sumOf(crossEntropy({ data: x, shape: pr.logits.shape }, target, opts).loss);
      checkGrad(`crossEntropy ${JSON.stringify(o)}`, r.grad as Float64Array, finiteDifference(f, pr.logits.data));
    }),
    RUNS,
  );
});

test('nllLoss gradient matches finite differences', () => {
  fc.assert(
    fc.property(
      problem({ ignore: true }),
      fc.constantFrom('mean' as const, 'sum' as const, 'none' as const),
      fc.boolean(),
      (pr, reduction, useWeight) => {
        const opts = { reduction, ...(useWeight ? { weight: pr.weight } : {}) };
        const r = nllLoss(pr.logits, pr.target, { ...opts, grad: true });
        fc.pre(Number.isFinite(sumOf(r.loss)));
        const f = (x: Float64Array) => sumOf(nllLoss({ data: x, shape: pr.logits.shape }, pr.target, opts).loss);
        checkGrad('nllLoss', r.grad as Float64Array, finiteDifference(f, pr.logits.data));
      },
    ),
    RUNS,
  );
});

const bceCase = fc
  .record({ rows: fc.integer({ min: 1, max: 3 }), cols: fc.integer({ min: 1, max: 4 }) })
  .chain(({ rows, cols }) =>
    fc.record({
      shape: fc.constant([rows, cols]),
      x: fc.array(fc.double({ min: -8, max: 8, noNaN: true }), { minLength: rows * cols, maxLength: rows * cols }),
      p: fc.array(fc.double({ min: 0.05, max: 0.95, noNaN: true }), { minLength: rows * cols, maxLength: rows * cols }),
      y: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: rows * cols, maxLength: rows * cols }),
      w: fc.option(fc.array(fc.double({ min: 0.1, max: 3, noNaN: true }), { minLength: cols, maxLength: cols }), {
        nil: undefined,
      }),
      pw: fc.option(
        fc.oneof(
          fc.double({ min: 0.1, max: 4, noNaN: true }),
          fc.array(fc.double({ min: 0.1, max: 4, noNaN: true }), { minLength: cols, maxLength: cols }),
        ),
        { nil: undefined },
      ),
      reduction: fc.constantFrom('mean' as const, 'sum' as const, 'none' as const),
    }),
  );

test('binaryCrossEntropy gradient matches finite differences (away from the p(1−p) clamp)', () => {
  fc.assert(
    fc.property(bceCase, (c) => {
      const target = { data: Float64Array.from(c.y), shape: c.shape };
      const opts = { reduction: c.reduction, ...(c.w ? { weight: c.w } : {}) };
      const p = Float64Array.from(c.p);
      const r = binaryCrossEntropy({ data: p, shape: c.shape }, target, { ...opts, grad: true });
      const f = (x: Float64Array) => sumOf(binaryCrossEntropy({ data: x, shape: c.shape }, target, opts).loss);
      checkGrad('binaryCrossEntropy', r.grad as Float64Array, finiteDifference(f, p, 1e-7));
    }),
    RUNS,
  );
});

test('binaryCrossEntropyWithLogits gradient matches finite differences (weight, posWeight)', () => {
  fc.assert(
    fc.property(bceCase, (c) => {
      const target = { data: Float64Array.from(c.y), shape: c.shape };
      const opts = {
        reduction: c.reduction,
        ...(c.w ? { weight: c.w } : {}),
        ...(c.pw !== undefined ? { posWeight: c.pw } : {}),
      };
      const x = Float64Array.from(c.x);
      const r = binaryCrossEntropyWithLogits({ data: x, shape: c.shape }, target, { ...opts, grad: true });
      const f = (z: Float64Array) =>
        sumOf(binaryCrossEntropyWithLogits({ data: z, shape: c.shape }, target, opts).loss);
      checkGrad('binaryCrossEntropyWithLogits', r.grad as Float64Array, finiteDifference(f, x));
    }),
    RUNS,
  );
});

test('klDivergence gradient w.r.t. input matches finite differences', () => {
  fc.assert(
    fc.property(
      problem(),
      fc.constantFrom('batchmean' as const, 'mean' as const, 'sum' as const, 'none' as const),
      fc.boolean(),
      (pr, reduction, logTarget) => {
        // input: arbitrary log-probability-like values; target: probabilities or their logs.
        const target = logTarget ? { data: pr.probs.data.map(Math.log), shape: pr.probs.shape } : pr.probs;
        const opts = { reduction, logTarget };
        const r = klDivergence(pr.logits, target, { ...opts, grad: true });
        const f = (x: Float64Array) => sumOf(klDivergence({ data: x, shape: pr.logits.shape }, target, opts).loss);
        checkGrad('klDivergence', r.grad as Float64Array, finiteDifference(f, pr.logits.data));
      },
    ),
    RUNS,
  );
});

test('distillationLoss gradient w.r.t. student logits matches finite differences', () => {
  fc.assert(
    fc.property(
      problem(),
      fc.constantFrom(0.5, 1, 2, 4),
      fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      (pr, temperature, alpha) => {
        // Teacher logits: 3·log of the random probability rows (same shape, different values).
        const teacher = { data: pr.probs.data.map((p) => 3 * Math.log(p)), shape: pr.logits.shape };
        const opts = { temperature, ...(alpha === undefined ? {} : { alpha, target: pr.target }) };
        const r = distillationLoss(pr.logits, teacher, { ...opts, grad: true });
        const f = (x: Float64Array) => distillationLoss({ data: x, shape: pr.logits.shape }, teacher, opts).loss;
        checkGrad(
          `distillationLoss T=${temperature} alpha=${alpha}`,
          r.grad as Float64Array,
          finiteDifference(f, pr.logits.data),
        );
      },
    ),
    RUNS,
  );
});
