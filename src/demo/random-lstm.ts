/**
 * Demonstration 1: a randomly initialised Embedding(10000,128) → LSTM(128→256) →
 * Linear(256→10000) language model, scored on random tokens (B = 32 × T = 50).
 * With small random weights its next-token distribution is close to uniform, so its
 * cross-entropy must be close to ln V = ln 10000 = 9.2103 nats — the first sanity
 * check of any language-model training run.
 */

import { randomTokens } from '../core/rng.js';
import { crossEntropy } from '../loss/cross-entropy.js';
import { natsToBits } from '../loss/units.js';
import { createLstmModel, lstmForward } from '../models/lstm/lstm.js';
import type { DemoSection } from './section.js';

export interface RandomLstmOptions {
  V?: number;
  E?: number;
  H?: number;
  B?: number;
  T?: number;
  seed?: number;
}

export function randomLstmSection(opts: RandomLstmOptions = {}): DemoSection {
  const { V = 10000, E = 128, H = 256, B = 32, T = 50, seed = 0 } = opts;
  const model = createLstmModel({ V, E, H, seed });
  // Inputs are tokens[b, 0..T−1]; targets are the next tokens, drawn from the same
  // uniform stream (T + 1 tokens per sequence).
  const seq = randomTokens(B * (T + 1), V, seed, 1000);
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      inputs[b * T + t] = seq[b * (T + 1) + t]!;
      targets[b * T + t] = seq[b * (T + 1) + t + 1]!;
    }
  }
  const t0 = performance.now();
  const logits = lstmForward(model, inputs, B, T);
  const forwardMs = performance.now() - t0;
  const nats = crossEntropy(logits, targets).loss;
  const uniformNats = Math.log(V);
  const bits = natsToBits(nats);
  return {
    key: 'random_lstm',
    title: `1. A random Embedding(${V},${E}) → LSTM(${E}→${H}) → Linear(${H}→${V}) language model on random tokens (batch ${B} × ${T})`,
    lines: [
      `cross-entropy      ${nats.toFixed(4)} nats/token = ${bits.toFixed(4)} bits/token`,
      `uniform guess      ln ${V} = ${uniformNats.toFixed(4)} nats/token = log2 ${V} = ${natsToBits(uniformNats).toFixed(4)} bits/token`,
      `difference         ${(nats - uniformNats >= 0 ? '+' : '') + (nats - uniformNats).toFixed(4)} nats/token (an untrained model must be close to the uniform guess)`,
      `perplexity         ${Math.exp(nats).toFixed(1)} (uniform: ${V})`,
      `forward pass       ${forwardMs.toFixed(0)} ms for ${B * T} tokens (plain TypeScript reference)`,
    ],
    data: {
      vocab: V,
      embedding: E,
      hidden: H,
      batch: B,
      time: T,
      seed,
      nats_per_token: nats,
      bits_per_token: bits,
      uniform_nats_per_token: uniformNats,
      perplexity: Math.exp(nats),
      forward_ms: forwardMs,
    },
  };
}
