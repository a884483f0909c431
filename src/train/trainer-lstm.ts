/**
 * The LSTM trainer behind the training loop's `Trainable` interface: FastLstmTrainer (the
 * PyTorch-validated WebAssembly trainer) or NativeLstmTrainer (the same math on the native
 * kernels), Adam(W) with optional gradient clipping and label smoothing, weights initialised
 * as in src/models/lstm/lstm.ts from `config.seed` whichever backend runs them.
 */

import { createLstmModel, type LstmConfig } from '../models/lstm/lstm.js';
import type { AdamOptions } from './adam.js';
import { FastLstmTrainer } from './fast-trainer.js';
import { NativeLstmTrainer } from './native-trainer.js';
import type { ResolvedBackend } from './train-backend.js';
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
  /** The kernels (train-backend.ts's `resolveTrainBackend`; default WebAssembly). */
  backend?: ResolvedBackend;
  /** Rows of logits held at once (default: the backend's). */
  rowsPerChunk?: number;
}

export function createLstmTrainable(config: LstmConfig, o: LstmTrainableOptions): Trainable {
  const init = createLstmModel(config);
  const opts = {
    B: o.B,
    T: o.T,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.labelSmoothing ? { labelSmoothing: o.labelSmoothing } : {}),
    ...(o.rowsPerChunk !== undefined ? { rowsPerChunk: o.rowsPerChunk } : {}),
  };
  const initial = init.params.flat as Float32Array;
  const tr =
    o.backend?.backend === 'native'
      ? new NativeLstmTrainer(o.backend.kernels, init.config, opts, initial)
      : new FastLstmTrainer(init.config, opts, initial);
  const clip = o.clip !== undefined && o.clip > 0 ? o.clip : undefined;
  return {
    backend: o.backend?.backend ?? 'wasm',
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
