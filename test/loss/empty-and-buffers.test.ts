/**
 * The empty-input policy (N = 0 rows is allowed and behaves like PyTorch: 'mean' → NaN,
 * 'sum' → 0, 'none' → empty; V = 0 classes is an error, tested in errors.test.ts), and the
 * gradient destinations `out` and `inPlace`, which must give exactly the allocated gradient.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  distillationLoss,
  klDivergence,
  logSoftmax,
  logSumExp,
  nllLoss,
  softmax,
} from '../../src/index.js';
import { problem } from './arbitraries.js';

test('N = 0 rows: mean → NaN, sum → 0, none → empty, gradient empty (as PyTorch)', () => {
  for (const data of [new Float64Array(0), new Float32Array(0)]) {
    const x = { data, shape: [0, 5] as const };
    const idx = new Int32Array(0);
    const soft = { data: new Float64Array(0), shape: [0, 5] as const };
    for (const target of [idx, soft]) {
      const m = crossEntropy(x, target, { grad: true });
      assert.ok(Number.isNaN(m.loss));
      assert.equal(m.grad?.length, 0);
      assert.equal(m.grad?.constructor, data.constructor);
      assert.equal(crossEntropy(x, target, { reduction: 'sum' }).loss, 0);
      assert.deepEqual(crossEntropy(x, target, { reduction: 'none' }).loss, new Float64Array(0));
    }
    assert.ok(Number.isNaN(nllLoss(x, idx).loss));
    assert.equal(nllLoss(x, idx, { reduction: 'sum' }).loss, 0);
    assert.deepEqual(logSumExp(x), new Float64Array(0));
    assert.equal(softmax(x).data.length, 0);
    assert.equal(logSoftmax(x).data.length, 0);
    assert.ok(Number.isNaN(klDivergence(x, x).loss));
    assert.equal(klDivergence(x, x, { reduction: 'sum' }).loss, 0);
    assert.ok(Number.isNaN(distillationLoss(x, x).loss));
    const e = { data, shape: [0] };
    assert.ok(Number.isNaN(binaryCrossEntropy(e, e).loss));
    assert.equal(binaryCrossEntropy(e, e, { reduction: 'sum' }).loss, 0);
    assert.ok(Number.isNaN(binaryCrossEntropyWithLogits(e, e).loss));
    assert.deepEqual(binaryCrossEntropyWithLogits(e, e, { reduction: 'none' }).loss, new Float64Array(0));
  }
});

const destCase = fc.record({
  reduction: fc.constantFrom('mean' as const, 'sum' as const, 'none' as const),
  labelSmoothing: fc.constantFrom(0, 0.2),
  zLoss: fc.constantFrom(0, 1e-2),
  soft: fc.boolean(),
  f32: fc.boolean(),
});

test("crossEntropy's out and inPlace give exactly the allocated gradient (and the same loss)", () => {
  fc.assert(
    fc.property(problem({ ignore: true }), destCase, (pr, o) => {
      const make = () => (o.f32 ? Float32Array.from(pr.logits.data) : Float64Array.from(pr.logits.data));
      const target = o.soft ? pr.probs : pr.target;
      const opts = { reduction: o.reduction, labelSmoothing: o.labelSmoothing, zLoss: o.zLoss, weight: pr.weight };
      const ref = crossEntropy({ data: make(), shape: pr.logits.shape }, target, { ...opts, grad: true });

      const out = o.f32 ? new Float32Array(pr.n * pr.v).fill(7) : new Float64Array(pr.n * pr.v).fill(7);
      const a = crossEntropy({ data: make(), shape: pr.logits.shape }, target, { ...opts, out });
      assert.equal(a.grad, out);
      assert.deepEqual(out, ref.grad);
      assert.deepEqual(a.loss, ref.loss);

      const buf = make();
      const b = crossEntropy({ data: buf, shape: pr.logits.shape }, target, { ...opts, inPlace: true });
      assert.equal(b.grad, buf, 'inPlace returns the logits buffer');
      assert.deepEqual(buf, ref.grad);
      assert.deepEqual(b.loss, ref.loss);
    }),
    { numRuns: 150 },
  );
});

test('a Float32Array out for Float64 logits (and vice versa) receives the rounded gradient', () => {
  const x = { data: Float64Array.of(0.5, -1, 2, 0, 3, 1), shape: [2, 3] as const };
  const y = Int32Array.of(2, 0);
  const ref = crossEntropy(x, y, { grad: true }).grad as Float64Array;
  const out32 = new Float32Array(6);
  crossEntropy(x, y, { out: out32 });
  assert.deepEqual(out32, Float32Array.from(ref));
});

test('nllLoss, BCE, BCE-with-logits and klDivergence: out and inPlace match the allocated gradient', () => {
  const lp = logSoftmax({ data: Float64Array.of(0.5, -1, 2, 0, 3, 1), shape: [2, 3] });
  const y = Int32Array.of(2, 0);
  const ref = nllLoss(lp, y, { grad: true });
  const buf = Float64Array.from(lp.data);
  const r = nllLoss({ data: buf, shape: [2, 3] }, y, { inPlace: true });
  assert.equal(r.loss, ref.loss);
  assert.deepEqual(buf, ref.grad);

  const p = Float64Array.of(0.1, 0.7, 0.4, 0.99);
  const t = Float64Array.of(0, 1, 1, 0);
  const bref = binaryCrossEntropy(p, t, { grad: true, weight: 2 });
  const bout = new Float64Array(4);
  assert.equal(binaryCrossEntropy(p, t, { out: bout, weight: 2 }).loss, bref.loss);
  assert.deepEqual(bout, bref.grad);
  const pin = Float64Array.from(p);
  assert.equal(binaryCrossEntropy(pin, t, { inPlace: true, weight: 2 }).loss, bref.loss);
  assert.deepEqual(pin, bref.grad);

  const x = Float32Array.of(3, -2, 0.5, 10);
  const lref = binaryCrossEntropyWithLogits(x, t, { grad: true, posWeight: 3 });
  const xin = Float32Array.from(x);
  assert.equal(binaryCrossEntropyWithLogits(xin, t, { inPlace: true, posWeight: 3 }).loss, lref.loss);
  assert.deepEqual(xin, lref.grad);

  const q = { data: Float64Array.of(0.2, 0.3, 0.5, 0.1, 0.1, 0.8), shape: [2, 3] };
  const kref = klDivergence(lp, q, { grad: true });
  const kin = Float64Array.from(lp.data);
  assert.equal(klDivergence({ data: kin, shape: [2, 3] }, q, { inPlace: true }).loss, kref.loss);
  assert.deepEqual(kin, kref.grad);
});
