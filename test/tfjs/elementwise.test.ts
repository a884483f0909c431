/**
 * binaryCrossEntropyWithLogits, klDivergence and distillationLoss beyond the
 * fixtures: agreement with tfjs's built-in sigmoidCrossEntropy, with independent
 * tfjs autodiff expressions and with each other (distillation = α·T²·KL + (1−α)·CE),
 * [B, T, V] shapes, stability at extreme logits, the teacher as a constant, errors.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { XentError } from '../../src/core/errors.js';
import {
  binaryCrossEntropyWithLogits,
  distillationLoss,
  klDivergence,
  sparseSoftmaxCrossEntropy,
} from '../../src/tfjs/index.js';
import { assertAllClose, assertClose, randomIndices, randomLogits, rng, useQuietCpu, values } from './setup.js';

await useQuietCpu();

function randomBits(shape: number[], seed: number): tf.Tensor {
  const r = rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => (r() < 0.4 ? 1 : 0)),
    shape,
    'float32',
  );
}

test('BCE with logits equals tf.losses.sigmoidCrossEntropy (mean over elements), value and gradient', () => {
  const logits = randomLogits([4, 5], 21, 5);
  const labels = randomBits([4, 5], 22);
  const builtin = (x: tf.Tensor) => tf.losses.sigmoidCrossEntropy(labels, x);
  assertClose(values(binaryCrossEntropyWithLogits(logits, labels))[0]!, values(builtin(logits))[0]!, 'value');
  const gOurs = tf.grad((x: tf.Tensor) => binaryCrossEntropyWithLogits(x, labels))(logits);
  assertAllClose(values(gOurs), values(tf.grad(builtin)(logits)), 'grad');
  // 'sum' equals tfjs's Reduction.SUM.
  assertClose(
    values(binaryCrossEntropyWithLogits(logits, labels, { reduction: 'sum' }))[0]!,
    values(tf.losses.sigmoidCrossEntropy(labels, logits, undefined, 0, tf.Reduction.SUM))[0]!,
    'sum',
  );
});

test('BCE posWeight and weight (given as tensors) match the PyTorch formula written in tfjs', () => {
  const logits = randomLogits([2, 3, 4], 23, 4);
  const labels = randomBits([2, 3, 4], 24);
  const pw = tf.tensor1d([3, 0.5, 1, 2]);
  const w = tf.tensor1d([1, 2, 0.5, 1]);
  // l = w·[(1−y)·x + (1 + (pw−1)·y)·softplus(−x)], mean over elements
  const reference = (x: tf.Tensor): tf.Tensor =>
    tf.mean(
      tf.mul(
        w,
        tf.add(tf.mul(tf.sub(1, labels), x), tf.mul(tf.add(1, tf.mul(tf.sub(pw, 1), labels)), tf.softplus(tf.neg(x)))),
      ),
    );
  const ours = (x: tf.Tensor) => binaryCrossEntropyWithLogits(x, labels, { posWeight: pw, weight: w });
  assertClose(values(ours(logits))[0]!, values(reference(logits))[0]!, 'value');
  assertAllClose(values(tf.grad(ours)(logits)), values(tf.grad(reference)(logits)), 'grad');
  // reduction 'none': elementwise losses; a non-uniform upstream gradient scales each element's own gradient.
  const referenceNone = (x: tf.Tensor): tf.Tensor =>
    tf.mul(
      w,
      tf.add(tf.mul(tf.sub(1, labels), x), tf.mul(tf.add(1, tf.mul(tf.sub(pw, 1), labels)), tf.softplus(tf.neg(x)))),
    );
  const oursNone = (x: tf.Tensor) =>
    binaryCrossEntropyWithLogits(x, labels, { posWeight: pw, weight: w, reduction: 'none' });
  assert.deepEqual(oursNone(logits).shape, [2, 3, 4]);
  assertAllClose(values(oursNone(logits)), values(referenceNone(logits)), 'none value');
  const up = randomLogits([2, 3, 4], 34, 2);
  const weighted = (f: (x: tf.Tensor) => tf.Tensor) => (x: tf.Tensor) => tf.sum(tf.mul(f(x), up));
  assertAllClose(
    values(tf.grad(weighted(oursNone))(logits)),
    values(tf.grad(weighted(referenceNone))(logits)),
    'none grad, non-uniform dy',
  );
});

test('BCE at logits ±1e4 is finite where it should be (the naive sigmoid form is not)', () => {
  const logits = tf.tensor1d([1e4, -1e4, 1e4, -1e4]);
  const labels = tf.tensor1d([1, 0, 0, 1]);
  assert.deepEqual([...values(binaryCrossEntropyWithLogits(logits, labels, { reduction: 'none' }))], [0, 0, 1e4, 1e4]);
  const naive = values(
    tf.neg(
      tf.add(
        tf.mul(labels, tf.log(tf.sigmoid(logits))),
        tf.mul(tf.sub(1, labels), tf.log(tf.sub(1, tf.sigmoid(logits)))),
      ),
    ),
  );
  assert.ok(
    naive.some((x) => !Number.isFinite(x) || Number.isNaN(x)),
    'the naive form overflows (the reason to use logits)',
  );
});

test('KL divergence (batchmean) equals Σ p·(log p − log q) / N by tfjs autodiff, value and gradient', () => {
  const teacher = tf.softmax(randomLogits([6, 5], 25));
  const student = randomLogits([6, 5], 26);
  const reference = (x: tf.Tensor): tf.Tensor =>
    tf.div(tf.sum(tf.mul(teacher, tf.sub(tf.log(teacher), tf.logSoftmax(x)))), 6);
  const ours = (x: tf.Tensor) => klDivergence(tf.logSoftmax(x), teacher);
  assertClose(values(ours(student))[0]!, values(reference(student))[0]!, 'value');
  assertAllClose(values(tf.grad(ours)(student)), values(tf.grad(reference)(student)), 'grad');
});

test('distillation equals α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1−α)·CE(s, y) built from the other ops, on [B, T, V]', () => {
  const s = randomLogits([2, 3, 5], 27);
  const t = randomLogits([2, 3, 5], 28);
  const labels = randomIndices(6, 5, 29);
  const T = 3;
  const alpha = 0.6;
  const composed = (x: tf.Tensor): tf.Tensor => {
    const flatS = tf.reshape(x, [6, 5]);
    const kl = klDivergence(tf.logSoftmax(tf.div(flatS, T)), tf.softmax(tf.div(tf.reshape(t, [6, 5]), T)));
    return tf.add(tf.mul(alpha * T * T, kl), tf.mul(1 - alpha, sparseSoftmaxCrossEntropy(flatS, labels)));
  };
  const ours = (x: tf.Tensor) =>
    distillationLoss(x, t, { temperature: T, alpha, labels: tf.tensor(labels, [2, 3], 'int32') });
  assertClose(values(ours(s))[0]!, values(composed(s))[0]!, 'value');
  assertAllClose(values(tf.grad(ours)(s)), values(tf.grad(composed)(s)), 'grad');
});

test('the teacher is a constant: its variables get no gradient, the student gets one', () => {
  const student = tf.variable(randomLogits([3, 4], 30), true, 'student');
  const teacher = tf.variable(randomLogits([3, 4], 31), true, 'teacher');
  const { grads, value } = tf.variableGrads(
    () => distillationLoss(student, teacher, { temperature: 2 }) as tf.Scalar,
    [student, teacher],
  );
  assert.ok(Number.isFinite(values(value)[0]!));
  assert.deepEqual(Object.keys(grads), ['student']);
  assert.throws(() => tf.grad((x: tf.Tensor) => distillationLoss(student, x))(teacher), /Cannot compute gradient/);
  tf.dispose([student, teacher]);
});

test('bad input: XentErrors naming the op and argument', () => {
  const x = randomLogits([2, 3], 32);
  const isErr = (code: string, re: RegExp) => (e: unknown) =>
    e instanceof XentError && e.code === code && re.test(e.message);
  assert.throws(
    () => binaryCrossEntropyWithLogits(x, tf.zeros([3, 2])),
    isErr('shape_mismatch', /^binaryCrossEntropyWithLogits: targets must have the logits' shape \[2, 3\]/),
  );
  assert.throws(
    () => klDivergence(x, tf.zeros([2, 3], 'int32')),
    isErr('invalid_argument', /^klDivergence: target must be float32/),
  );
  assert.throws(
    () => distillationLoss(x, randomLogits([2, 4], 33)),
    isErr('shape_mismatch', /^distillationLoss: teacherLogits must have the logits' shape/),
  );
  assert.throws(
    () => distillationLoss(x, x, { alpha: 0.5 }),
    isErr('invalid_argument', /^distillationLoss: alpha = 0.5 needs options.labels/),
  );
  assert.throws(
    () => binaryCrossEntropyWithLogits(x, tf.zeros([2, 3]), { posWeight: [1, 2] }),
    isErr('shape_mismatch', /posWeight has length 2/),
  );
});
