/**
 * sparseSoftmaxCrossEntropy / softmaxCrossEntropy on the tfjs CPU backend, beyond
 * the PyTorch fixtures: agreement with xent's own crossEntropy (values and
 * gradients, including a non-uniform upstream dy), with tfjs's built-in
 * tf.losses.softmaxCrossEntropy, with an independent tfjs autodiff expression
 * (z-loss, bits), padding via ignoreIndex, the spread-1000 row, and bad input.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import { crossEntropy } from '../../src/loss/cross-entropy.js';
import { softmaxCrossEntropy, sparseSoftmaxCrossEntropy } from '../../src/tfjs/index.js';
import { assertAllClose, assertClose, randomIndices, randomLogits, rng, useQuietCpu, values } from './setup.js';

await useQuietCpu();

const B = 3;
const T = 4;
const V = 6;

test('[B, T, V] logits: value and gradient equal xent crossEntropy on the flattened [N, V] rows', () => {
  const logits = randomLogits([B, T, V], 1);
  const labels = randomIndices(B * T, V, 2);
  labels[5] = -100; // one padded position
  const weight = [0.5, 1, 2, 1.5, 0.25, 3];
  for (const options of [
    {},
    { reduction: 'sum' as const },
    { labelSmoothing: 0.1, weight },
    { zLoss: 1e-2, unit: 'bit' as const },
  ]) {
    const lib = crossEntropy({ data: Float32Array.from(logits.dataSync()), shape: [B * T, V] }, labels, {
      ...options,
      grad: true,
    });
    const loss = sparseSoftmaxCrossEntropy(logits, tf.tensor(labels, [B, T], 'int32'), options);
    assertClose(values(loss)[0]!, lib.loss, `loss ${JSON.stringify(options)}`);
    const g = tf.grad((x: tf.Tensor) => sparseSoftmaxCrossEntropy(x, labels, options))(logits);
    assert.deepEqual(g.shape, [B, T, V]);
    assertAllClose(values(g), lib.grad!, `grad ${JSON.stringify(options)}`);
  }
});

test("reduction 'none' returns [B, T] losses and scales each row's gradient by its own dy", () => {
  const logits = randomLogits([B, T, V], 3);
  const labels = randomIndices(B * T, V, 4);
  const lib = crossEntropy({ data: Float32Array.from(logits.dataSync()), shape: [B * T, V] }, labels, {
    reduction: 'none',
    grad: true,
  });
  const loss = sparseSoftmaxCrossEntropy(logits, tf.tensor(labels, [B, T], 'int32'), { reduction: 'none' });
  assert.deepEqual(loss.shape, [B, T]);
  assertAllClose(values(loss), lib.loss, 'per-row loss');
  // A per-position mask-like weighting: d Σ_r m_r·loss_r / d logits_r = m_r · d loss_r / d logits_r.
  const r = rng(5);
  const m = Float32Array.from({ length: B * T }, () => r() * 2);
  const g = tf.grad((x: tf.Tensor) =>
    tf.sum(tf.mul(sparseSoftmaxCrossEntropy(x, labels, { reduction: 'none' }), tf.tensor(m, [B, T]))),
  )(logits);
  const expected = Float64Array.from(lib.grad!, (gv, i) => gv * m[Math.floor(i / V)]!);
  assertAllClose(values(g), expected, 'dy-weighted grad');
});

test('labels may be [B, T, 1], float32 whole numbers or an Int32Array: all give the same loss', () => {
  const logits = randomLogits([B, T, V], 6);
  const labels = randomIndices(B * T, V, 7);
  const a = values(sparseSoftmaxCrossEntropy(logits, labels))[0]!;
  const b = values(sparseSoftmaxCrossEntropy(logits, tf.tensor(labels, [B, T, 1], 'int32')))[0]!;
  const c = values(sparseSoftmaxCrossEntropy(logits, tf.tensor(Float32Array.from(labels), [B, T], 'float32')))[0]!;
  assert.equal(b, a);
  assert.equal(c, a);
});

test('equals tf.losses.softmaxCrossEntropy (value and gradient), with and without label smoothing', () => {
  const logits = randomLogits([8, V], 8);
  const labels = randomIndices(8, V, 9);
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), V).toFloat();
  for (const ls of [0, 0.2]) {
    // tfjs default reduction SUM_BY_NONZERO_WEIGHTS without weights = mean over the 8 rows.
    const builtin = (x: tf.Tensor) => tf.losses.softmaxCrossEntropy(onehot, x, undefined, ls);
    assertClose(
      values(sparseSoftmaxCrossEntropy(logits, labels, { labelSmoothing: ls }))[0]!,
      values(builtin(logits))[0]!,
      `sparse ls=${ls}`,
    );
    assertClose(
      values(softmaxCrossEntropy(logits, onehot, { labelSmoothing: ls }))[0]!,
      values(builtin(logits))[0]!,
      `dense ls=${ls}`,
    );
    const gOurs = tf.grad((x: tf.Tensor) => softmaxCrossEntropy(x, onehot, { labelSmoothing: ls }))(logits);
    const gTf = tf.grad((x: tf.Tensor) => builtin(x))(logits);
    assertAllClose(values(gOurs), values(gTf), `grad ls=${ls}`);
  }
  // Soft (non one-hot) targets too.
  const soft = tf.softmax(randomLogits([8, V], 10));
  assertClose(
    values(softmaxCrossEntropy(logits, soft))[0]!,
    values(tf.losses.softmaxCrossEntropy(soft, logits))[0]!,
    'soft targets',
  );
});

test('z-loss and bits match an independent tfjs autodiff expression', () => {
  const logits = randomLogits([5, V], 11, 6);
  const labels = randomIndices(5, V, 12);
  const z = 0.05;
  // mean_n [ (lse_n − x_{n,y_n}) + z·lse_n² ] / ln 2
  const reference = (x: tf.Tensor): tf.Tensor => {
    const lse = tf.logSumExp(x, 1);
    const picked = tf.sum(tf.mul(x, tf.oneHot(tf.tensor1d(labels, 'int32'), V)), 1);
    return tf.div(tf.mean(tf.add(tf.sub(lse, picked), tf.mul(z, tf.square(lse)))), Math.LN2);
  };
  const ours = (x: tf.Tensor) => sparseSoftmaxCrossEntropy(x, labels, { zLoss: z, unit: 'bit' });
  assertClose(values(ours(logits))[0]!, values(reference(logits))[0]!, 'z-loss bits value');
  assertAllClose(values(tf.grad(ours)(logits)), values(tf.grad(reference)(logits)), 'z-loss bits grad');
  // bits = nats / ln 2 exactly in value and gradient.
  const nats = values(sparseSoftmaxCrossEntropy(logits, labels))[0]!;
  const bits = values(sparseSoftmaxCrossEntropy(logits, labels, { unit: 'bit' }))[0]!;
  assertClose(bits, nats / Math.LN2, 'bits = nats / ln 2');
});

test('padding positions with ignoreIndex contribute nothing: loss equals the unpadded batch, grad rows are 0', () => {
  const PAD = 0;
  // Two sequences of length 5; the second is padded after 2 tokens. Targets use 1..V-1.
  const logits = randomLogits([2, 5, V], 13);
  const labels = Int32Array.from([1, 2, 3, 4, 5, 2, 3, PAD, PAD, PAD]);
  const loss = values(sparseSoftmaxCrossEntropy(logits, labels, { ignoreIndex: PAD }))[0]!;
  const kept = [0, 1, 2, 3, 4, 5, 6];
  const keptLogits = tf.gather(tf.reshape(logits, [10, V]), kept);
  const unpadded = values(
    sparseSoftmaxCrossEntropy(
      keptLogits,
      Int32Array.from(kept, (i) => labels[i]!),
    ),
  )[0]!;
  assertClose(loss, unpadded, 'mean over kept tokens only');
  const g = values(tf.grad((x: tf.Tensor) => sparseSoftmaxCrossEntropy(x, labels, { ignoreIndex: PAD }))(logits));
  for (let i = 7 * V; i < 10 * V; i++) assert.equal(g[i], 0, `grad at padded element ${i}`);
  // Whatever the model outputs at padded positions, nothing changes.
  const noisy = tf.tidy(() => {
    const mask = tf.tensor(
      Float32Array.from({ length: 10 * V }, (_, i) => (i >= 7 * V ? 1 : 0)),
      [2, 5, V],
    );
    return tf.add(logits, tf.mul(mask, 1e3));
  });
  assert.equal(values(sparseSoftmaxCrossEntropy(noisy, labels, { ignoreIndex: PAD }))[0], loss);
});

test('a row with a spread of 1000 gives 1000 nats (not NaN, not 23.03) and a finite gradient', () => {
  const logits = tf.tensor2d([[0, 1000, 0, 0, 0]]);
  const loss = values(sparseSoftmaxCrossEntropy(logits, Int32Array.of(0)))[0]!;
  assert.equal(loss, 1000);
  const g = values(tf.grad((x: tf.Tensor) => sparseSoftmaxCrossEntropy(x, Int32Array.of(0)))(logits));
  assert.deepEqual([...g], [-1, 1, 0, 0, 0]);
  // The naive −log(softmax + 1e-10) a tfjs user might write gives 23.03 here.
  const naive = values(tf.neg(tf.log(tf.add(tf.slice(tf.softmax(logits), [0, 0], [1, 1]), 1e-10))))[0]!;
  assertClose(naive, -Math.log(1e-10), 'naive clamps', 1e-4);
});

test('bad input: XentErrors naming the op, the argument and the shape or value', () => {
  const logits = randomLogits([2, 3, V], 14);
  const expectError = (fn: () => unknown, code: string, pattern: RegExp): void => {
    assert.throws(
      fn,
      (e: unknown) => e instanceof XentError && e.code === code && pattern.test(e.message),
      `expected ${code} ${pattern}`,
    );
  };
  expectError(
    () => sparseSoftmaxCrossEntropy(logits, tf.zeros([2, 4], 'int32')),
    'shape_mismatch',
    /^sparseSoftmaxCrossEntropy: labels must have shape \[2, 3\]/,
  );
  expectError(
    () => sparseSoftmaxCrossEntropy(logits, Int32Array.of(1, 2)),
    'shape_mismatch',
    /labels has 2 entries but logits have 6 rows/,
  );
  expectError(
    () => sparseSoftmaxCrossEntropy(logits, tf.fill([2, 3], 1.5)),
    'invalid_argument',
    /labels\[0\] = 1.5 is not a class index/,
  );
  expectError(
    () => sparseSoftmaxCrossEntropy(tf.zeros([2, 3, V], 'int32'), tf.zeros([2, 3], 'int32')),
    'invalid_argument',
    /logits must be float32, got dtype int32/,
  );
  expectError(
    () => sparseSoftmaxCrossEntropy(tf.zeros([V]), tf.zeros([1], 'int32')),
    'shape_mismatch',
    /logits must have rank ≥ 2/,
  );
  expectError(
    () => sparseSoftmaxCrossEntropy(logits, tf.fill([2, 3], 9, 'int32')),
    'index_out_of_range',
    /out of range/,
  );
  expectError(
    () => softmaxCrossEntropy(logits, tf.zeros([2, 3, V + 1])),
    'shape_mismatch',
    /^softmaxCrossEntropy: targets must have the logits' shape \[2, 3, 6\]/,
  );
  expectError(
    () => sparseSoftmaxCrossEntropy(logits, tf.zeros([2, 3], 'int32'), { weight: [1, 2] }),
    'shape_mismatch',
    /weight has 2 entries, expected 6/,
  );
  expectError(() => sparseSoftmaxCrossEntropy(tf.tensor2d([[0, NaN]]), Int32Array.of(0)), 'non_finite', /NaN/);
  expectError(
    () => sparseSoftmaxCrossEntropy(logits, tf.zeros([2, 3], 'int32'), 0.1 as never),
    'invalid_argument',
    /^sparseSoftmaxCrossEntropy: options must be an object, got number 0.1/,
  );
  expectError(
    () => sparseSoftmaxCrossEntropy(logits, tf.zeros([2, 3], 'int32'), { labelSmoothing: 2 }),
    'invalid_argument',
    /labelSmoothing/,
  );
});

test('outside a gradient tape only the loss is computed; inside, no tensors are left behind', () => {
  const logits = randomLogits([4, V], 15);
  const labels = randomIndices(4, V, 16);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      sparseSoftmaxCrossEntropy(logits, labels);
      tf.grad((x: tf.Tensor) => sparseSoftmaxCrossEntropy(x, labels, { labelSmoothing: 0.1 }))(logits);
    });
  }
  assert.equal(tf.memory().numTensors, before);
});

test('property: for any [B, T, V], options and upstream weights, value and gradient are the library’s on the flattened rows', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 7 }),
      fc.constantFrom<'mean' | 'sum' | 'none'>('mean', 'sum', 'none'),
      fc.constantFrom(0, 0.15),
      fc.constantFrom(0, 1e-3),
      fc.boolean(),
      fc.integer({ min: 0, max: 1e6 }),
      (b, t, v, reduction, labelSmoothing, zLoss, padFirst, seed) => {
        const n = b * t;
        const logits = randomLogits([b, t, v], seed, 8);
        const labels = randomIndices(n, v, seed + 1);
        if (padFirst) labels[0] = -100;
        const r = rng(seed + 2);
        const upstream = Float32Array.from({ length: reduction === 'none' ? n : 1 }, () => r() * 3 - 1);
        const options = { reduction, labelSmoothing, zLoss };
        const lib = crossEntropy({ data: Float32Array.from(logits.dataSync()), shape: [n, v] }, labels, {
          ...options,
          grad: true,
        });
        tf.tidy(() => {
          const loss = sparseSoftmaxCrossEntropy(logits, labels, options);
          if (reduction === 'none') {
            assert.deepEqual(loss.shape, [b, t]);
            assertAllClose(values(loss), lib.loss as Float64Array, 'loss');
          } else assertClose(values(loss)[0]!, lib.loss as number, 'loss');
          const w = reduction === 'none' ? tf.tensor(upstream, [b, t]) : tf.scalar(upstream[0]!);
          const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(sparseSoftmaxCrossEntropy(x, labels, options), w)))(logits);
          const expected = Float64Array.from(
            lib.grad!,
            (gv, i) => gv * upstream[reduction === 'none' ? Math.floor(i / v) : 0]!,
          );
          assertAllClose(values(g), expected, 'grad');
        });
        logits.dispose();
      },
    ),
    { numRuns: 40, seed: 7 },
  );
});
