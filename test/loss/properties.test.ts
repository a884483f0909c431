/**
 * Property tests (fast-check) of the loss library's invariants:
 * shift invariance, CE ≥ 0 for hard targets, gradient rows summing to zero,
 * bits = nats / ln 2, perplexity = e^nats = 2^bits, streaming = one-shot,
 * dtype independence (float32 input gives the float64 result of the rounded values).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { CrossEntropyOptions } from '../../src/index.js';
import {
  bitsToNats,
  crossEntropy,
  logSoftmax,
  logSumExp,
  natsToBits,
  nllLoss,
  perplexity,
  StreamingCrossEntropy,
  StreamingLogSumExp,
  softmax,
} from '../../src/index.js';
import { firstMismatch, problem, sumOf } from './arbitraries.js';

const RUNS = { numRuns: 200 };
const close = (a: number, b: number, rtol: number, atol = 0) => Math.abs(a - b) <= atol + rtol * Math.abs(b);

const ceOptions = fc.record({
  reduction: fc.constantFrom('mean' as const, 'sum' as const, 'none' as const),
  useWeight: fc.boolean(),
  labelSmoothing: fc.constantFrom(0, 0.1, 0.7),
  soft: fc.boolean(),
});

function opts(
  o: { reduction: 'mean' | 'sum' | 'none'; useWeight: boolean; labelSmoothing: number },
  weight: number[],
): CrossEntropyOptions {
  return { reduction: o.reduction, labelSmoothing: o.labelSmoothing, ...(o.useWeight ? { weight } : {}) };
}

test('adding a constant to every logit of a row changes no loss, probability or gradient; lse shifts by it', () => {
  fc.assert(
    fc.property(
      problem({ ignore: true }),
      ceOptions,
      fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 4, maxLength: 4 }),
      (pr, o, shifts) => {
        const shifted = Float64Array.from(pr.logits.data, (x, k) => x + (shifts[Math.floor(k / pr.v) % 4] as number));
        const s = { data: shifted, shape: pr.logits.shape };
        const target = o.soft ? pr.probs : pr.target;
        const a = crossEntropy(pr.logits, target, { ...opts(o, pr.weight), grad: true });
        const b = crossEntropy(s, target, { ...opts(o, pr.weight), grad: true });
        // Shifts up to 1000 cost up to ~1000·ε absolute in x − max.
        const la = typeof a.loss === 'number' ? [a.loss] : a.loss;
        const lb = typeof b.loss === 'number' ? [b.loss] : b.loss;
        for (let i = 0; i < la.length; i++) {
          if (Number.isNaN(la[i])) assert.ok(Number.isNaN(lb[i]));
          else assert.ok(close(lb[i] as number, la[i] as number, 1e-9, 1e-10), `loss ${lb[i]} vs ${la[i]}`);
        }
        assert.equal(firstMismatch(b.grad as Float64Array, a.grad as Float64Array, 1e-9, 1e-10), -1);
        assert.equal(firstMismatch(softmax(s).data, softmax(pr.logits).data, 1e-9, 1e-12), -1);
        assert.equal(firstMismatch(logSoftmax(s).data, logSoftmax(pr.logits).data, 1e-9, 1e-10), -1);
        const lse0 = logSumExp(pr.logits);
        const lse1 = logSumExp(s);
        for (let i = 0; i < pr.n; i++)
          assert.ok(close(lse1[i] as number, (lse0[i] as number) + (shifts[i % 4] as number), 1e-12, 1e-9));
      },
    ),
    RUNS,
  );
});

test('cross-entropy with hard targets is ≥ 0 per row (any weights ≥ 0, smoothing, reduction)', () => {
  fc.assert(
    fc.property(problem({ ignore: true, range: 1e4 }), ceOptions, (pr, o) => {
      const r = crossEntropy(pr.logits, pr.target, { ...opts(o, pr.weight), reduction: 'none' });
      for (const l of r.loss) assert.ok(l >= 0, `row loss ${l} < 0`);
    }),
    RUNS,
  );
});

test('gradient rows sum to zero (hard and soft targets, weights, smoothing; no z-loss)', () => {
  fc.assert(
    fc.property(problem({ ignore: true }), ceOptions, (pr, o) => {
      const r = crossEntropy(pr.logits, o.soft ? pr.probs : pr.target, { ...opts(o, pr.weight), grad: true });
      fc.pre(Number.isFinite(sumOf(r.loss)));
      const g = r.grad as Float64Array;
      for (let i = 0; i < pr.n; i++) {
        let s = 0;
        let scale = 0;
        for (let j = 0; j < pr.v; j++) {
          s += g[i * pr.v + j] as number;
          scale += Math.abs(g[i * pr.v + j] as number);
        }
        assert.ok(Math.abs(s) <= 1e-13 * Math.max(1, scale), `row ${i} sums to ${s}`);
      }
    }),
    RUNS,
  );
});

test('softmax rows sum to 1 and equal exp(logSoftmax)', () => {
  fc.assert(
    fc.property(problem({ range: 1e4 }), (pr) => {
      const p = softmax(pr.logits).data;
      const lp = logSoftmax(pr.logits).data;
      for (let i = 0; i < pr.n; i++) {
        let s = 0;
        for (let j = 0; j < pr.v; j++) s += p[i * pr.v + j] as number;
        assert.ok(close(s, 1, 1e-14), `row ${i} sums to ${s}`);
      }
      for (let k = 0; k < p.length; k++) assert.equal(p[k], Math.exp(lp[k] as number));
    }),
    RUNS,
  );
});

test('crossEntropy equals nllLoss of logSoftmax', () => {
  fc.assert(
    fc.property(
      problem({ ignore: true }),
      fc.constantFrom('mean' as const, 'sum' as const),
      fc.boolean(),
      (pr, reduction, useWeight) => {
        const w = useWeight ? { weight: pr.weight } : {};
        const a = crossEntropy(pr.logits, pr.target, { reduction, ...w }).loss;
        const b = nllLoss(logSoftmax(pr.logits), pr.target, { reduction, ...w }).loss;
        if (Number.isNaN(b)) assert.ok(Number.isNaN(a));
        else assert.ok(close(a, b, 1e-13, 1e-15), `${a} vs ${b}`);
      },
    ),
    RUNS,
  );
});

test("unit 'bit' = nats / ln 2 for loss and gradient; natsToBits / bitsToNats agree", () => {
  fc.assert(
    fc.property(problem({ ignore: true }), ceOptions, (pr, o) => {
      const target = o.soft ? pr.probs : pr.target;
      const n = crossEntropy(pr.logits, target, { ...opts(o, pr.weight), reduction: 'sum', grad: true });
      const b = crossEntropy(pr.logits, target, { ...opts(o, pr.weight), reduction: 'sum', grad: true, unit: 'bit' });
      assert.equal(b.unit, 'bit');
      // The scale enters before the final sums, so allow a few roundings (and cancellation
      // in p − 1 for a confident row) on top of the exact 1/ln 2.
      assert.ok(close(b.loss, n.loss / Math.LN2, 1e-12, 1e-300));
      assert.ok(close(natsToBits(n.loss), b.loss, 1e-12, 1e-300));
      assert.ok(close(bitsToNats(b.loss), n.loss, 1e-12, 1e-300));
      const gn = n.grad as Float64Array;
      const gb = b.grad as Float64Array;
      for (let k = 0; k < gn.length; k++) assert.ok(close(gb[k] as number, (gn[k] as number) / Math.LN2, 1e-12, 1e-15));
    }),
    RUNS,
  );
});

test('perplexity = e^nats = 2^bits', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 50, noNaN: true }), (nats) => {
      const bits = natsToBits(nats);
      const a = perplexity({ nats });
      assert.equal(a, Math.exp(nats));
      assert.ok(close(perplexity({ bits }), a, 1e-13));
    }),
    RUNS,
  );
});

test('uniform logits: cross-entropy = ln V nats = log2 V bits, perplexity = V', () => {
  for (const v of [1, 2, 7, 10000, 50257]) {
    const logits = { data: new Float32Array(2 * v), shape: [2, v] as const };
    const target = Int32Array.of(0, v - 1);
    const nats = crossEntropy(logits, target).loss;
    assert.ok(close(nats, Math.log(v), 1e-15, 1e-15));
    assert.ok(close(crossEntropy(logits, target, { unit: 'bit' }).loss, Math.log2(v), 1e-14, 1e-15));
    assert.ok(close(perplexity({ nats }), v, 1e-12));
  }
});

test('streaming log-sum-exp and cross-entropy equal the one-shot results for any chunking', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.constant(-Infinity)), {
        minLength: 1,
        maxLength: 60,
      }),
      fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 8 }),
      fc.nat(),
      fc.constantFrom(0, 0.1),
      fc.constantFrom(0, 1e-4),
      (row, cuts, t, labelSmoothing, zLoss) => {
        const v = row.length;
        const target = t % v;
        const data = Float64Array.from(row);
        const one = crossEntropy({ data, shape: [1, v] }, Int32Array.of(target), {
          reduction: 'none',
          labelSmoothing,
          zLoss,
        }).loss[0] as number;
        const lse = logSumExp({ data, shape: [1, v] })[0] as number;
        const points = [...new Set(cuts.map((c) => c % (v + 1)))].sort((a, b) => a - b);
        const sce = new StreamingCrossEntropy(target, { labelSmoothing, zLoss });
        const slse = new StreamingLogSumExp();
        let prev = 0;
        for (const p of [...points, v]) {
          sce.push(data.subarray(prev, p));
          slse.push(Array.from(data.subarray(prev, p)));
          prev = p;
        }
        const r = sce.result();
        assert.equal(slse.length, v);
        for (const [got, want] of [
          [r.logSumExpNats, lse],
          [slse.logSumExp, lse],
          [r.loss, one],
        ] as const) {
          if (Number.isNaN(want)) assert.ok(Number.isNaN(got));
          else if (!Number.isFinite(want)) assert.equal(got, want);
          else assert.ok(close(got, want, 1e-12, 1e-11), `streaming ${got} vs one-shot ${want}`);
        }
      },
    ),
    RUNS,
  );
});

test('streaming with a single chunk is bit-identical to logSumExp and crossEntropy', () => {
  fc.assert(
    fc.property(problem({ maxN: 1, maxV: 50, range: 1e4 }), (pr) => {
      const y = pr.target[0] as number;
      const s = new StreamingCrossEntropy(y).push(pr.logits.data).result();
      // == rather than Object.is: a perfect prediction is 0 in one path and −0 in the other.
      assert.ok(s.logSumExpNats === logSumExp(pr.logits)[0]);
      assert.ok(s.loss === crossEntropy(pr.logits, pr.target, { reduction: 'none' }).loss[0], `${s.loss}`);
    }),
    RUNS,
  );
});

test('JS path: float32 logits give the float64 result of the same (rounded) values, grads as Float32Array', () => {
  fc.assert(
    fc.property(problem({ ignore: true }), ceOptions, (pr, o) => {
      const x32 = Float32Array.from(pr.logits.data);
      const x64 = Float64Array.from(x32);
      const target = o.soft ? pr.probs : pr.target;
      // The JS reference path computes in float64 whatever the input type, so this is exact there
      // (the WebAssembly kernels compute in float32 and are checked against tolerances instead).
      const a = crossEntropy({ data: x32, shape: pr.logits.shape }, target, {
        ...opts(o, pr.weight),
        grad: true,
        backend: 'js',
      });
      const b = crossEntropy({ data: x64, shape: pr.logits.shape }, target, {
        ...opts(o, pr.weight),
        grad: true,
        backend: 'js',
      });
      assert.ok(a.grad instanceof Float32Array);
      assert.deepEqual(a.loss, b.loss);
      assert.deepEqual(a.grad, Float32Array.from(b.grad as Float64Array));
    }),
    RUNS,
  );
});
