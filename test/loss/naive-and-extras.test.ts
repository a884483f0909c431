/**
 * The naive −log(softmax(x)[y] + 1e−10) against crossEntropy,
 * BCE against its closed form, and the semantics of the non-torch extras.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  entropy,
  naiveCrossEntropy,
  relativeEntropy,
  wassersteinDistance,
} from '../../src/index.js';

test('confident row [0, 1000, 0, 0, 0], target 0: naive gives −ln(1e−10) = 23.03 nats, crossEntropy 1000 nats', () => {
  const x = { data: Float64Array.of(0, 1000, 0, 0, 0), shape: [1, 5] as const };
  const y = Int32Array.of(0);
  assert.equal(naiveCrossEntropy(x, y).loss, -Math.log(1e-10));
  assert.equal(naiveCrossEntropy(x, y).loss.toFixed(2), '23.03');
  assert.equal(crossEntropy(x, y).loss, 1000);
  // float32 logits: the same.
  assert.equal(crossEntropy({ data: Float32Array.from(x.data), shape: [1, 5] }, y).loss, 1000);
});

test('on ordinary rows the naive formula agrees with crossEntropy to 1e−6 nats', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 10 }).chain((v) =>
        fc.record({
          v: fc.constant(v),
          x: fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: v, maxLength: v }),
          y: fc.integer({ min: 0, max: v - 1 }),
        }),
      ),
      ({ v, x, y }) => {
        const m = { data: Float64Array.from(x), shape: [1, v] as const };
        const t = Int32Array.of(y);
        const d = naiveCrossEntropy(m, t).loss - crossEntropy(m, t).loss;
        // −log(p + ε) − (−log p) = −log(1 + ε/p) ∈ (−ε/p, 0]; p ≥ e^−6/10 here.
        assert.ok(d <= 0 && d > -1e-6, `difference ${d}`);
      },
    ),
    { numRuns: 200 },
  );
});

test('binary cross-entropy equals −ln p (label 1) and −ln(1 − p) (label 0), and the with-logits form agrees', () => {
  for (let k = 1; k <= 99; k++) {
    const p = k / 100;
    const probs = Float64Array.of(p, p);
    const r = binaryCrossEntropy(probs, Float64Array.of(1, 0), { reduction: 'none' }).loss;
    assert.ok(Math.abs((r[0] as number) + Math.log(p)) <= 1e-15 * Math.abs(Math.log(p)) + 1e-16);
    assert.ok(Math.abs((r[1] as number) + Math.log1p(-p)) <= 1e-15 * Math.abs(Math.log1p(-p)) + 1e-16);
    const logit = Math.log(p / (1 - p));
    const l = binaryCrossEntropyWithLogits(Float64Array.of(logit, logit), Float64Array.of(1, 0), {
      reduction: 'none',
    }).loss;
    assert.ok(Math.abs((l[0] as number) - (r[0] as number)) <= 1e-13);
    assert.ok(Math.abs((l[1] as number) - (r[1] as number)) <= 1e-13);
    // Two-class softmax cross-entropy is BCE on the logit difference.
    const ce = crossEntropy({ data: Float64Array.of(0, logit), shape: [1, 2] }, Int32Array.of(1)).loss;
    assert.ok(Math.abs(ce - (r[0] as number)) <= 1e-13);
  }
});

test('binaryCrossEntropy clamps log at −100 and its gradient at p(1−p) ≥ float32(1e−12), as PyTorch', () => {
  const r = binaryCrossEntropy(Float64Array.of(0, 1), Float64Array.of(1, 0), { reduction: 'none', grad: true });
  assert.deepEqual(Array.from(r.loss), [100, 100]);
  assert.deepEqual(Array.from(r.grad as Float64Array), [-1 / Math.fround(1e-12), 1 / Math.fround(1e-12)]);
});

test('entropy / relativeEntropy: uniform over k has ln k nats = log2 k bits; KL(p‖p) = 0; KL ≥ 0', () => {
  for (const k of [1, 2, 3, 8, 1000]) {
    const u = new Array<number>(k).fill(1);
    assert.ok(Math.abs(entropy(u) - Math.log(k)) <= 1e-14 * Math.max(1, Math.log(k)));
    assert.ok(Math.abs(entropy(u, { unit: 'bit' }) - Math.log2(k)) <= 1e-13);
  }
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 12, maxLength: 12 }),
      (p, q) => {
        assert.ok(Math.abs(relativeEntropy(p, p)) <= 1e-15);
        assert.ok(relativeEntropy(p, q.slice(0, p.length)) >= -1e-15);
      },
    ),
    { numRuns: 100 },
  );
  assert.equal(relativeEntropy([0.5, 0.5], [1, 0]), Infinity);
});

test('wassersteinDistance: shifting a sample by c moves it by |c|; identical samples are at distance 0', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 20 }),
      fc.double({ min: -50, max: 50, noNaN: true }),
      (u, c) => {
        assert.equal(wassersteinDistance(u, u), 0);
        const d = wassersteinDistance(
          u,
          u.map((x) => x + c),
        );
        assert.ok(Math.abs(d - Math.abs(c)) <= 1e-9 * (1 + Math.abs(c)) + 1e-12, `${d} vs ${Math.abs(c)}`);
      },
    ),
    { numRuns: 100 },
  );
});
