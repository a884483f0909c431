/**
 * FastLstmTrainer (the PyTorch-validated WebAssembly trainer) behind the training
 * loop's `Trainable` interface: Adam(W) with optional gradient clipping and label
 * smoothing, weights initialised as in src/models/lstm/lstm.ts from `config.seed`.
 */

import { createLstmModel, type LstmConfig } from '../models/lstm/lstm.js';
import type { AdamOptions } from './adam.js';
import { FastLstmTrainer } from './fast-trainer.js';
import type { Trainable } from './trainer.js';
import type { Batch } from './trainer-data.js';

export interface LstmTrainableOptions {
  B: number;
  T: number;
  adam: AdamOptions;
  /** Max global gradient norm (0 or undefined = no clipping). */
  clip?: number;
  labelSmoothing?: number;
  threads?: number;
}

export function createLstmTrainable(config: LstmConfig, o: LstmTrainableOptions): Trainable {
  const init = createLstmModel(config);
  const tr = new FastLstmTrainer(
    init.config,
    {
      B: o.B,
      T: o.T,
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.labelSmoothing ? { labelSmoothing: o.labelSmoothing } : {}),
    },
    init.params.flat as Float32Array,
  );
  const clip = o.clip !== undefined && o.clip > 0 ? o.clip : undefined;
  return {
    config: tr.config,
    params: tr.model.params.flat as Float32Array,
    adamM: tr.adamM,
    adamV: tr.adamV,
    get adamT() {
      return tr.adamT;
    },
    set adamT(t: number) {
      tr.adamT = t;
    },
    async step(batch: Batch) {
      return tr.step(batch.inputs, batch.targets, o.adam, clip);
    },
    evaluate(inputs: Int32Array, targets: Int32Array) {
      const r = tr.evaluate(inputs, targets);
      return { sumCeNats: r.sumCeNats, count: r.count };
    },
    close() {
      tr.close();
    },
  };
}
