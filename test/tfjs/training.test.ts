/**
 * xent/tfjs inside real tfjs training: a tiny Embedding → LSTM → Dense model
 * trained by optimizer.minimize (custom loop), model.fit (one-hot targets) and
 * model.fitDataset (class-index targets) with xent's losses. Checks: the same
 * weight update as tfjs's built-in softmaxCrossEntropy, the compile path's
 * reported loss equals the op on the same weights, the loss goes down, and
 * tf.memory().numTensors does not grow from step to step.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { layersLoss, softmaxCrossEntropy, sparseSoftmaxCrossEntropy } from '../../src/tfjs/index.js';
import { assertAllClose, assertClose, randomIndices, useQuietCpu, values } from './setup.js';

await useQuietCpu();

const V = 11;
const B = 4;
const T = 6;
const PAD = 0;

function tinyLm(seed: number): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.embedding({
      inputDim: V,
      outputDim: 8,
      inputLength: T,
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed }),
    }),
  );
  model.add(
    tf.layers.lstm({
      units: 8,
      returnSequences: true,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      recurrentInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
    }),
  );
  model.add(tf.layers.dense({ units: V, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 3 }) }));
  return model;
}

/** A batch of token ids in [1, V) with the last two positions of row 0 padded. */
function batch(seed: number): { x: tf.Tensor2D; y: tf.Tensor2D; yFlat: Int32Array } {
  const ids = randomIndices(B * (T + 1), V - 1, seed).map((i) => i + 1);
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      x[b * T + t] = ids[b * (T + 1) + t]!;
      y[b * T + t] = ids[b * (T + 1) + t + 1]!;
    }
  }
  y[T - 1] = PAD;
  y[T - 2] = PAD;
  return { x: tf.tensor2d(x, [B, T], 'int32'), y: tf.tensor2d(y, [B, T], 'int32'), yFlat: y };
}

test('one SGD step with xent equals one with tf.losses.softmaxCrossEntropy (same weight update)', () => {
  const a = tinyLm(1);
  const b = tinyLm(1);
  const { x, y } = batch(2);
  const onehot = tf
    .oneHot(tf.reshape(y, [B * T]), V)
    .reshape([B, T, V])
    .toFloat();
  const optA = tf.train.sgd(0.5);
  const optB = tf.train.sgd(0.5);
  optA.minimize(() => sparseSoftmaxCrossEntropy(a.apply(x, { training: true }) as tf.Tensor, y) as tf.Scalar);
  optB.minimize(() => tf.losses.softmaxCrossEntropy(onehot, b.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
  const wa = a.getWeights();
  const wb = b.getWeights();
  assert.equal(wa.length, wb.length);
  for (let i = 0; i < wa.length; i++) assertAllClose(values(wa[i]!), values(wb[i]!), `weight ${i} of ${wa.length}`);
});

test('custom loop with ignoreIndex: loss decreases, numTensors stable across steps', () => {
  const model = tinyLm(3);
  const { x, y } = batch(4);
  const opt = tf.train.adam(0.05);
  const step = (): number => {
    const cost = opt.minimize(
      () =>
        sparseSoftmaxCrossEntropy(model.apply(x, { training: true }) as tf.Tensor, y, {
          ignoreIndex: PAD,
        }) as tf.Scalar,
      true,
    )!;
    const v = cost.dataSync()[0]!;
    cost.dispose();
    return v;
  };
  const first = step(); // creates Adam's slots
  const after1 = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 5; i++) last = step();
  assert.equal(tf.memory().numTensors, after1, 'no tensors leaked per step');
  assert.ok(last < first - 0.1, `loss went from ${first} to ${last} nats`);
});

test('model.compile + model.fit with one-hot targets: reported loss = the op on the same weights; no leak per epoch', async () => {
  const model = tinyLm(5);
  const { x, y } = batch(6);
  const onehot = tf
    .oneHot(tf.reshape(y, [B * T]), V)
    .reshape([B, T, V])
    .toFloat();
  model.compile({ optimizer: tf.train.sgd(0.1), loss: layersLoss(softmaxCrossEntropy, { labelSmoothing: 0.1 }) });
  const before = tf.tidy(
    () => values(softmaxCrossEntropy(model.predict(x) as tf.Tensor, onehot, { labelSmoothing: 0.1 }))[0]!,
  );
  const h1 = await model.fit(x, onehot, { epochs: 1, batchSize: B, verbose: 0 });
  assertClose(h1.history.loss![0] as number, before, 'fit loss of the first (only) batch');
  const n1 = tf.memory().numTensors;
  await model.fit(x, onehot, { epochs: 3, batchSize: B, verbose: 0 });
  assert.equal(tf.memory().numTensors, n1);
});

test('model.compile + model.fitDataset with [B, T] class-index targets; no leak per batch', async () => {
  const model = tinyLm(7);
  const batches = [batch(8), batch(9)];
  model.compile({ optimizer: tf.train.adam(0.02), loss: layersLoss(sparseSoftmaxCrossEntropy, { ignoreIndex: PAD }) });
  const expected = tf.tidy(
    () =>
      values(
        sparseSoftmaxCrossEntropy(model.predict(batches[0]!.x) as tf.Tensor, batches[0]!.y, { ignoreIndex: PAD }),
      )[0]!,
  );
  const counts: number[] = [];
  const losses: number[] = [];
  const ds = tf.data.generator(function* () {
    for (let i = 0; i < 6; i++) {
      const b = batches[i % 2]!;
      yield { xs: b.x.clone(), ys: b.y.clone() };
    }
  });
  await model.fitDataset(ds, {
    epochs: 1,
    verbose: 0,
    callbacks: {
      onBatchEnd: async (_batch, logs) => {
        losses.push(logs!.loss as number);
        counts.push(tf.memory().numTensors);
      },
    },
  });
  assert.equal(losses.length, 6);
  assertClose(losses[0]!, expected, 'first batch loss');
  // After the first batch (optimizer slots created) the count must not grow.
  assert.equal(counts[5], counts[1], `numTensors per batch: ${counts.join(', ')}`);
});
