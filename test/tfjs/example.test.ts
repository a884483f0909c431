/**
 * A tiny run of the examples/tfjs-lstm code (same functions as train.ts, small
 * config) so the example cannot rot: the Brown-corpus encoding, the three ways
 * of computing the random-initialisation cross-entropy (agree with each other and
 * sit near ln V), the confident row that separates them, and training steps with
 * xent as the model.compile loss (loss goes down, no tensors leak per step).
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { LmConfig } from '../../examples/tfjs-lstm/lm.js';
import {
  buildLm,
  crossEntropyThreeWays,
  encode,
  loadBrownWords,
  modelThreeWays,
  random,
  sampleBatch,
  trainSteps,
} from '../../examples/tfjs-lstm/lm.js';
import { assertClose, useQuietCpu } from './setup.js';

await useQuietCpu();

const cfg: LmConfig = { vocab: 40, embed: 8, hidden: 12, batch: 8, seq: 8, seed: 1 };
const words = loadBrownWords(2);
const { ids, itos } = encode(words, cfg.vocab);

test('Brown corpus words encode into V ids with <unk> = 0 and the most frequent word first', () => {
  assert.ok(words.length > 3000, `${words.length} words`);
  assert.equal(itos.length, cfg.vocab);
  assert.equal(itos[0], '<unk>');
  assert.equal(itos[1], 'the');
  assert.ok(ids.every((i) => i >= 0 && i < cfg.vocab));
  assert.equal(ids.length, words.length);
});

test('random initialisation: the three cross-entropies agree and are near ln V; the confident row separates them', () => {
  const model = buildLm(cfg);
  const { x, y } = sampleBatch(ids, cfg, random(3));
  const three = modelThreeWays(model, x, y);
  assertClose(three.builtinNats, three.xentNats, 'built-in vs xent');
  assertClose(three.naiveNats, three.xentNats, 'naive vs xent');
  assert.ok(
    Math.abs(three.xentNats - Math.log(cfg.vocab)) < 0.25,
    `${three.xentNats} nats vs ln V = ${Math.log(cfg.vocab)}`,
  );
  const confident = crossEntropyThreeWays(tf.tensor2d([[0, 1000, 0, 0, 0]]), tf.tensor1d([0], 'int32'));
  assert.equal(confident.xentNats, 1000);
  assert.equal(confident.builtinNats, 1000);
  assertClose(confident.naiveNats, -Math.log(1e-10), 'naive = −ln 1e-10', 1e-4);
  tf.dispose([x, y]);
});

test('training steps with xent as the compile loss: loss decreases, numTensors constant after the first step', async () => {
  const model = buildLm(cfg);
  const counts: number[] = [];
  const losses = await trainSteps(model, ids, cfg, {
    steps: 8,
    learningRate: 0.05,
    to: ids.length,
    onStep: () => counts.push(tf.memory().numTensors),
  });
  assert.equal(losses.length, 8);
  assert.ok(losses.every(Number.isFinite));
  const head = (losses[0]! + losses[1]!) / 2;
  const tail = (losses[6]! + losses[7]!) / 2;
  assert.ok(tail < head - 0.3, `loss ${losses.map((l) => l.toFixed(3)).join(' → ')}`);
  assert.equal(counts[7], counts[1], `numTensors per step: ${counts.join(', ')}`);
});
