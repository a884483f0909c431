/**
 * Every PyTorch cross_entropy fixture through the tfjs ops, on the CPU backend:
 * the loss value and tf.grad's gradient (w.r.t. the logits) equal PyTorch's float64
 * results to 1e-5 (the fixture logits are exact in float32). Index targets go
 * through sparseSoftmaxCrossEntropy, probability targets through softmaxCrossEntropy;
 * [B, T, V] cases keep their 3-D shape.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { TfCrossEntropyOptions } from '../../src/tfjs/index.js';
import { softmaxCrossEntropy, sparseSoftmaxCrossEntropy } from '../../src/tfjs/index.js';
import { skipUnlessShared } from '../helpers/requires.js';
import { FIXTURE_FILE, flat, loadCases, num } from './fixtures.js';
import { assertAllClose, assertClose, useQuietCpu, values } from './setup.js';

await useQuietCpu();
const skip = skipUnlessShared(FIXTURE_FILE);
const cases = loadCases('cross_entropy');

test('there are cross_entropy fixtures to run', { skip }, () => {
  assert.ok(cases.length >= 30, `only ${cases.length} cross_entropy cases`);
});

for (const c of cases) {
  test(`fixture ${c.name}`, { skip }, () => {
    const lg = flat(c.inputs.logits);
    const tg = flat(c.inputs.target);
    const p = c.params as {
      reduction: 'mean' | 'sum' | 'none';
      ignore_index: number;
      label_smoothing: number;
      weight: number[] | null;
    };
    const options: TfCrossEntropyOptions = { reduction: p.reduction, labelSmoothing: p.label_smoothing };
    if (p.weight) options.weight = p.weight;
    const soft = c.target_kind === 'probs';
    if (!soft) options.ignoreIndex = p.ignore_index;
    const logits = tf.tensor(lg.data, lg.shape, 'float32');
    const target = soft ? tf.tensor(tg.data, tg.shape, 'float32') : tf.tensor(tg.data, tg.shape, 'int32');
    const f = (x: tf.Tensor): tf.Tensor =>
      soft ? softmaxCrossEntropy(x, target, options) : sparseSoftmaxCrossEntropy(x, target, options);

    const loss = f(logits);
    if (p.reduction === 'none') {
      const e = flat(c.expected);
      assert.deepEqual(loss.shape, lg.shape.slice(0, -1), 'per-row losses keep the leading shape');
      assertAllClose(values(loss), e.data, `${c.name} loss`);
    } else {
      assert.equal(loss.rank, 0);
      assertClose(values(loss)[0]!, num(c.expected), `${c.name} loss`);
    }
    // Fixture grads: d loss/d logits, or d sum(loss)/d logits for 'none'.
    const g = tf.grad((x: tf.Tensor) => tf.sum(f(x)))(logits);
    assert.deepEqual(g.shape, lg.shape);
    assertAllClose(values(g), flat(c.grad).data, `${c.name} grad`);
    tf.dispose([logits, target, loss, g]);
  });
}
