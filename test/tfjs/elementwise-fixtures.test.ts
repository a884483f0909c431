/**
 * The PyTorch fixtures for binary_cross_entropy_with_logits, kl_div and the
 * distillation loss through the tfjs ops (CPU backend, float32): values and
 * tf.grad gradients within 1e-5. KL is driven the way it is used: the op gets
 * tf.logSoftmax(studentLogits) and the gradient is taken w.r.t. the student
 * logits, through tfjs's own logSoftmax gradient, as the fixtures record it.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type {
  TfBinaryCrossEntropyOptions,
  TfDistillationOptions,
  TfKlDivergenceOptions,
} from '../../src/tfjs/index.js';
import { binaryCrossEntropyWithLogits, distillationLoss, klDivergence } from '../../src/tfjs/index.js';
import { skipUnlessShared } from '../helpers/requires.js';
import { FIXTURE_FILE, flat, loadCases, num } from './fixtures.js';
import { assertAllClose, assertClose, useQuietCpu, values } from './setup.js';

await useQuietCpu();
const skip = skipUnlessShared(FIXTURE_FILE);

function checkLossAndGrad(
  name: string,
  f: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  expected: unknown,
  grad: unknown,
): void {
  const loss = f(x);
  if (Array.isArray(expected)) {
    const e = flat(expected);
    assert.deepEqual(loss.shape, e.shape, `${name}: loss shape`);
    assertAllClose(values(loss), e.data, `${name} loss`);
  } else {
    assert.equal(loss.rank, 0, `${name}: scalar loss`);
    assertClose(values(loss)[0]!, num(expected), `${name} loss`);
  }
  const g = tf.grad((y: tf.Tensor) => tf.sum(f(y)))(x);
  assertAllClose(values(g), flat(grad).data, `${name} grad`);
}

const bce = loadCases('binary_cross_entropy_with_logits');
const kl = loadCases('kl_div');
const distill = loadCases('distillation');

test('fixture counts', { skip }, () => {
  assert.ok(
    bce.length >= 8 && kl.length >= 5 && distill.length >= 3,
    `${bce.length} bce, ${kl.length} kl, ${distill.length} distillation cases`,
  );
});

for (const c of bce) {
  test(`fixture ${c.name}`, { skip }, () => {
    const lg = flat(c.inputs.logits);
    const tg = flat(c.inputs.target);
    const p = c.params as {
      reduction: 'mean' | 'sum' | 'none';
      pos_weight: number | number[] | null;
      weight: number | number[] | null;
    };
    const options: TfBinaryCrossEntropyOptions = { reduction: p.reduction };
    if (p.pos_weight !== null) options.posWeight = p.pos_weight;
    if (p.weight !== null) options.weight = p.weight;
    const target = tf.tensor(tg.data, tg.shape, 'float32');
    checkLossAndGrad(
      c.name,
      (x) => binaryCrossEntropyWithLogits(x, target, options),
      tf.tensor(lg.data, lg.shape, 'float32'),
      c.expected,
      c.grad,
    );
  });
}

for (const c of kl) {
  test(`fixture ${c.name}`, { skip }, () => {
    const s = flat(c.inputs.student_logits);
    const t = flat(c.inputs.target);
    const p = c.params as { reduction: 'batchmean' | 'mean' | 'sum' | 'none'; log_target: boolean };
    const options: TfKlDivergenceOptions = { reduction: p.reduction, logTarget: p.log_target };
    const target = tf.tensor(t.data, t.shape, 'float32');
    checkLossAndGrad(
      c.name,
      (x) => klDivergence(tf.logSoftmax(x), target, options),
      tf.tensor(s.data, s.shape, 'float32'),
      c.expected,
      c.grad,
    );
  });
}

for (const c of distill) {
  test(`fixture ${c.name}`, { skip }, () => {
    const s = flat(c.inputs.student_logits);
    const t = flat(c.inputs.teacher_logits);
    const p = c.params as { temperature: number; alpha: number | null; t2_scaling: boolean };
    const options: TfDistillationOptions = { temperature: p.temperature, t2Scaling: p.t2_scaling };
    if (p.alpha !== null) {
      options.alpha = p.alpha;
      options.labels = tf.tensor(flat(c.inputs.target).data, [s.shape[0]!], 'int32');
    }
    const teacher = tf.tensor(t.data, t.shape, 'float32');
    checkLossAndGrad(
      c.name,
      (x) => distillationLoss(x, teacher, options),
      tf.tensor(s.data, s.shape, 'float32'),
      c.expected,
      c.grad,
    );
  });
}
