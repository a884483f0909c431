/**
 * The classic cross-entropy demonstration, in TensorFlow.js, with xent/tfjs:
 *   npx tsx examples/tfjs-lstm/train.ts [--steps 10] [--vocab 1000] [--embed 32] [--hidden 64] [--batch 16] [--seq 24] [--lr 0.01]
 * 1. An Embedding → LSTM → Dense language model (tf.layers) at random
 *    initialisation: its cross-entropy on a batch of Brown-corpus text computed
 *    three ways — tfjs's built-in, the naive −log(softmax + 1e-10), xent/tfjs —
 *    next to ln V (a random model is close to a uniform guess).
 * 2. The row that separates them: logits [0, 1000, 0, 0, 0] with target 0.
 * 3. A few training steps with xent/tfjs as the model.compile loss, in nats and
 *    bits per token, then the held-out cross-entropy.
 */

import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { LmConfig } from './lm.js';
import {
  buildLm,
  crossEntropyThreeWays,
  DEFAULT_CONFIG,
  encode,
  loadBrownWords,
  modelThreeWays,
  random,
  sampleBatch,
  trainSteps,
} from './lm.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '10' },
    vocab: { type: 'string', default: String(DEFAULT_CONFIG.vocab) },
    embed: { type: 'string', default: String(DEFAULT_CONFIG.embed) },
    hidden: { type: 'string', default: String(DEFAULT_CONFIG.hidden) },
    batch: { type: 'string', default: String(DEFAULT_CONFIG.batch) },
    seq: { type: 'string', default: String(DEFAULT_CONFIG.seq) },
    lr: { type: 'string', default: '0.01' },
    files: { type: 'string', default: '60' },
  },
});
const positive = (name: string, s: string | undefined): number => {
  const v = Number(s);
  if (!(v > 0) || (name !== 'lr' && !Number.isInteger(v))) {
    console.error(`train: --${name} must be a positive ${name === 'lr' ? 'number' : 'integer'}, got ${s}`);
    process.exit(2);
  }
  return v;
};
const cfg: LmConfig = {
  vocab: positive('vocab', args.vocab),
  embed: positive('embed', args.embed),
  hidden: positive('hidden', args.hidden),
  batch: positive('batch', args.batch),
  seq: positive('seq', args.seq),
  seed: 0,
};
const steps = positive('steps', args.steps);
const lr = positive('lr', args.lr);

// The pure-JS CPU backend runs everywhere. Its first tensor prints a banner
// recommending @tensorflow/tfjs-node (which downloads native TensorFlow at
// install); silence that one line.
await tf.setBackend('cpu');
const warn = console.warn;
console.warn = () => {};
tf.tensor([0]).dispose();
console.warn = warn;

const LN2 = Math.LN2;
const f = (x: number, d = 4): string => x.toFixed(d);
const words = loadBrownWords(positive('files', args.files));
const { ids } = encode(words, cfg.vocab);
const split = Math.floor(ids.length * 0.9); // last 10%: held out
const unk = ids.reduce((n, id) => n + (id === 0 ? 1 : 0), 0);
console.log(
  `Brown corpus: ${ids.length} word tokens, V = ${cfg.vocab} (${f((100 * unk) / ids.length, 1)}% <unk>), train ${split} / held-out ${ids.length - split} tokens`,
);
console.log(
  `model: Embedding(${cfg.vocab}, ${cfg.embed}) → LSTM(${cfg.embed} → ${cfg.hidden}) → Dense(${cfg.hidden} → ${cfg.vocab}), batch ${cfg.batch} × ${cfg.seq} tokens, tfjs ${tf.version.tfjs} backend '${tf.getBackend()}'`,
);

const model = buildLm(cfg);
const heldOut = sampleBatch(ids, cfg, random(cfg.seed + 2), split, ids.length);

console.log(`\n1. Cross-entropy at random initialisation (held-out batch, mean per token):`);
const lnV = Math.log(cfg.vocab);
const init = modelThreeWays(model, heldOut.x, heldOut.y);
const row = (name: string, nats: number): void =>
  console.log(`   ${name.padEnd(44)} ${f(nats, 6)} nats/token  ${f(nats / LN2, 6)} bits/token`);
row('tfjs tf.losses.softmaxCrossEntropy', init.builtinNats);
row('naive −log(softmax(logits)[y] + 1e-10)', init.naiveNats);
row('xent/tfjs sparseSoftmaxCrossEntropy', init.xentNats);
console.log(`   ${'uniform guess ln V'.padEnd(44)} ${f(lnV, 6)} nats/token  ${f(lnV / LN2, 6)} bits/token`);

console.log(`\n2. One confident, wrong row: logits [0, 1000, 0, 0, 0], target 0 (right answer: 1000 nats):`);
const [row1000, target0] = [tf.tensor2d([[0, 1000, 0, 0, 0]]), tf.tensor1d([0], 'int32')];
const confident = crossEntropyThreeWays(row1000, target0);
tf.dispose([row1000, target0]);
console.log(
  `   tfjs built-in ${f(confident.builtinNats, 2)} nats, naive ${f(confident.naiveNats, 2)} nats (= −ln 1e-10: the clamp, not the loss), xent/tfjs ${f(confident.xentNats, 2)} nats`,
);

console.log(
  `\n3. Training: model.compile({ loss: xent/tfjs sparseSoftmaxCrossEntropy }), Adam lr ${lr}, ${steps} steps:`,
);
const tensorsBefore = tf.memory().numTensors;
const losses = await trainSteps(model, ids, cfg, {
  steps,
  learningRate: lr,
  to: split,
  onStep: (step, nats, ms) =>
    console.log(
      `   step ${String(step).padStart(3)}  ${f(nats)} nats/token  ${f(nats / LN2)} bits/token  perplexity ${f(Math.exp(nats), 1)}  ${ms.toFixed(0)} ms`,
    ),
});
const after = modelThreeWays(model, heldOut.x, heldOut.y).xentNats;
console.log(
  `   held-out: ${f(init.xentNats)} → ${f(after)} nats/token (${f(init.xentNats / LN2)} → ${f(after / LN2)} bits/token); training batch loss ${f(losses[0]!)} → ${f(losses[losses.length - 1]!)} nats/token`,
);
console.log(
  `   tensors alive: ${tensorsBefore} before training, ${tf.memory().numTensors} after (the optimizer's state and the model's weights; nothing per step)`,
);
