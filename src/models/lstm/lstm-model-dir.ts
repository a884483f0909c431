/**
 * The directory format of an LSTM language model trained by xent (`xent train
 * --arch lstm`, `xent distill`); model.json's shared fields are read and written by
 * src/models/model-dir.ts, the n-gram's directory is src/models/ngram/ngram-model-dir.ts.
 *
 *   model.json      {"format":"xent-model","version":1,"kind":"lstm",
 *                    "vocabSize":V,"embedding":E,"hidden":H,"seed":s,
 *                    "tokenizer":"tokenizer.json","weights":"weights.f32",
 *                    "param_count":P,"param_layout":[…],"byteExact":true, …training figures}
 *   tokenizer.json  tokenizer.toJSON(), or {"kind":"gguf","file":…} for a student that
 *                   uses a GGUF teacher's tokenizer (lstm-language-model.ts loads it)
 *   weights.f32     P float32 values, little-endian, the flat parameter vector of
 *                   src/models/lstm/lstm.ts in PARAM_NAMES order: emb [V,E], wIh [4H,E],
 *                   wHh [4H,H], bIh [4H], bHh [4H], wOut [V,H], bOut [V] (PyTorch's
 *                   layout: embedding.weight, lstm.weight_ih_l0, …, decoder.bias)
 *
 * Every file is written atomically and model.json last, so a directory whose
 * model.json parses is complete (a killed run leaves the previous best model).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { XentError } from '../../core/errors.js';
import { atomicWriteFileSync } from '../../io/atomic-write.js';
import {
  float32Bytes,
  MODEL_FILE,
  modelDirFile,
  readFloat32File,
  readJsonFile,
  readModelJsonOfKind,
  TOKENIZER_FILE,
  writeModelJson,
} from '../model-dir.js';
import { checkConfig, type LstmConfig, PARAM_NAMES, paramCount, paramShapes } from './lstm.js';

export const WEIGHTS_FILE = 'weights.f32';

export interface LstmModelDirJSON {
  format: 'xent-model';
  version: 1;
  kind: 'lstm';
  vocabSize: number;
  embedding: number;
  hidden: number;
  seed: number;
  tokenizer: string;
  weights: string;
  param_count: number;
  param_layout: string[];
  byteExact: boolean;
  /** Sequence length T the model was trained on (the scoring context it knows best). */
  seq?: number;
  [key: string]: unknown;
}

/** A GGUF model's tokenizer, used by a student distilled from it. */
export interface GgufTokenizerRef {
  kind: 'gguf';
  version: 1;
  /** Absolute path of the GGUF file. */
  file: string;
  vocabSize: number;
  /** Size in bytes of the file when the student was trained (a cheap identity check). */
  bytes: number;
}

export interface SaveLstmDirOptions {
  config: LstmConfig;
  params: Float32Array;
  /** tokenizer.toJSON() or a GgufTokenizerRef. */
  tokenizer: unknown;
  byteExact: boolean;
  /** Extra fields for model.json (training figures, seq). */
  meta?: Record<string, unknown>;
}

/** Writes (or overwrites) an LSTM model directory; model.json last. */
export function saveLstmModelDir(dir: string, o: SaveLstmDirOptions): LstmModelDirJSON {
  const cfg = checkConfig('saveLstmModelDir', o.config);
  const P = paramCount(cfg);
  if (o.params.length !== P) {
    throw new XentError(
      'shape_mismatch',
      'saveLstmModelDir',
      `params has ${o.params.length} values, V=${cfg.V} E=${cfg.E} H=${cfg.H} needs ${P}`,
      { expected: P, actual: o.params.length },
    );
  }
  mkdirSync(dir, { recursive: true });
  atomicWriteFileSync(join(dir, TOKENIZER_FILE), JSON.stringify(o.tokenizer));
  atomicWriteFileSync(join(dir, WEIGHTS_FILE), float32Bytes(o.params));
  const shapes = paramShapes(cfg);
  const json: LstmModelDirJSON = {
    ...(o.meta ?? {}),
    format: 'xent-model',
    version: 1,
    kind: 'lstm',
    vocabSize: cfg.V,
    embedding: cfg.E,
    hidden: cfg.H,
    seed: cfg.seed,
    tokenizer: TOKENIZER_FILE,
    weights: WEIGHTS_FILE,
    param_count: P,
    param_layout: PARAM_NAMES.map((n) => `${n} [${shapes[n].join(', ')}]`),
    byteExact: o.byteExact,
  };
  writeModelJson(dir, json);
  return json;
}

/** Reads an LSTM directory's config and weights (the tokenizer is loaded by the caller). */
export function loadLstmModelDir(
  dir: string,
  op = 'loadModel',
): { json: LstmModelDirJSON; config: Required<LstmConfig>; params: Float32Array; tokenizerJSON: unknown } {
  const json = readModelJsonOfKind(dir, 'lstm', op);
  const file = join(dir, MODEL_FILE);
  const j = json as Partial<LstmModelDirJSON>;
  for (const k of ['vocabSize', 'embedding', 'hidden'] as const) {
    if (!Number.isInteger(j[k]) || (j[k] as number) < 1)
      throw new XentError(
        'invalid_file',
        op,
        `${file}: "${k}" must be a positive integer, got ${JSON.stringify(j[k])}`,
        { file, arg: k, value: j[k] },
      );
  }
  const config = checkConfig(op, {
    V: j.vocabSize!,
    E: j.embedding!,
    H: j.hidden!,
    seed: typeof j.seed === 'number' ? j.seed : 0,
  });
  const P = paramCount(config);
  if (j.param_count !== undefined && j.param_count !== P) {
    throw new XentError(
      'invalid_file',
      op,
      `${file}: param_count ${String(j.param_count)} disagrees with V=${config.V} E=${config.E} H=${config.H} (${P})`,
      { file },
    );
  }
  const params = readFloat32File(op, modelDirFile(dir, json, 'weights', WEIGHTS_FILE), P);
  const tokenizerJSON = readJsonFile(op, modelDirFile(dir, json, 'tokenizer', TOKENIZER_FILE));
  return { json: j as LstmModelDirJSON, config, params, tokenizerJSON };
}
