/**
 * The directory format of an LSTM language model trained by xent (`xent train
 * --arch lstm`, `xent distill`). The n-gram's format is in src/models/ngram/ngram-model.ts;
 * both share model.json's `format`, `version` and `kind`.
 *
 *   model.json      {"format":"xent-model","version":1,"kind":"lstm",
 *                    "vocabSize":V,"embedding":E,"hidden":H,"seed":s,
 *                    "tokenizer":"tokenizer.json","weights":"weights.f32",
 *                    "param_count":P,"param_layout":[…],"byteExact":true, …training figures}
 *   tokenizer.json  tokenizer.toJSON(), or {"kind":"gguf","file":…} for a student that
 *                   uses a GGUF teacher's tokenizer (src/models/trained.ts loads it)
 *   weights.f32     P float32 values, little-endian, the flat parameter vector of
 *                   src/models/lstm/lstm.ts in PARAM_NAMES order: emb [V,E], wIh [4H,E],
 *                   wHh [4H,H], bIh [4H], bHh [4H], wOut [V,H], bOut [V] (PyTorch's
 *                   layout: embedding.weight, lstm.weight_ih_l0, …, decoder.bias)
 *
 * Every file is written atomically and model.json last, so a directory whose
 * model.json parses is complete (a killed run leaves the previous best model).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XentError } from '../../core/errors.js';
import { atomicWriteFileSync } from '../../io/atomic-write.js';
import { BpeTokenizer } from '../../tokenizers/bpe.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { checkConfig, type LstmConfig, PARAM_NAMES, paramCount, paramShapes } from './lstm.js';

export const MODEL_FILE = 'model.json';
export const TOKENIZER_FILE = 'tokenizer.json';
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

/** Float32 little-endian bytes of `a` (a copy, so views into shared memory are safe). */
export function float32Bytes(a: Float32Array): Uint8Array {
  const copy = new Float32Array(a.length);
  copy.set(a);
  return new Uint8Array(copy.buffer);
}

/** Reads a float32 file of exactly `n` values. */
export function readFloat32File(op: string, file: string, n: number): Float32Array {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new XentError(
      'invalid_file',
      op,
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file },
      { cause: e },
    );
  }
  if (buf.length !== n * 4) {
    throw new XentError(
      'invalid_file',
      op,
      `${file} has ${buf.length} bytes, expected ${n} float32 values = ${n * 4} bytes`,
      { file, expected: n * 4, actual: buf.length },
    );
  }
  const out = new Float32Array(n);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

export function readJsonFile(op: string, file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new XentError(
      'invalid_file',
      op,
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file },
      { cause: e },
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new XentError(
      'invalid_file',
      op,
      `${file} is not valid JSON: ${(e as Error).message}`,
      { file },
      { cause: e },
    );
  }
}

/** UTF-8 byte length of every token (length V), for exact bits per byte. */
export function tokenizerByteLengths(tok: Tokenizer): Int32Array {
  const out = new Int32Array(tok.vocabSize);
  if (tok.kind === 'byte') out.fill(1);
  else if (tok instanceof BpeTokenizer) for (let t = 0; t < out.length; t++) out[t] = tok.bytesOf(t).length;
  else for (let t = 0; t < out.length; t++) out[t] = Buffer.byteLength(tok.tokenText(t), 'utf8');
  return out;
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
  atomicWriteFileSync(join(dir, MODEL_FILE), `${JSON.stringify(json, null, 2)}\n`);
  return json;
}

/** model.json of any xent model directory (validated for format and kind only). */
export function readModelJson(
  dir: string,
  op = 'loadTrainedModel',
): { kind: 'lstm' | 'ngram'; json: Record<string, unknown> } {
  const file = join(dir, MODEL_FILE);
  if (!existsSync(file)) {
    throw new XentError(
      'invalid_file',
      op,
      `${dir} is not a model directory: ${file} is missing (xent train --out writes it)`,
      { file },
    );
  }
  const j = readJsonFile(op, file) as Record<string, unknown> | null;
  if (!j || typeof j !== 'object' || j.format !== 'xent-model' || (j.kind !== 'lstm' && j.kind !== 'ngram')) {
    throw new XentError(
      'invalid_file',
      op,
      `${file} does not describe an xent model (expected "format": "xent-model" and "kind": "lstm" or "ngram")`,
      { file },
    );
  }
  if (j.version !== 1)
    throw new XentError(
      'invalid_file',
      op,
      `${file}: version ${JSON.stringify(j.version)} is not supported (expected 1)`,
      { file, value: j.version },
    );
  return { kind: j.kind, json: j };
}

/** Reads an LSTM directory's config and weights (the tokenizer is loaded by the caller). */
export function loadLstmModelDir(
  dir: string,
  op = 'loadTrainedModel',
): { json: LstmModelDirJSON; config: Required<LstmConfig>; params: Float32Array; tokenizerJSON: unknown } {
  const { kind, json } = readModelJson(dir, op);
  const file = join(dir, MODEL_FILE);
  if (kind !== 'lstm')
    throw new XentError('invalid_file', op, `${file} describes a ${kind} model, not an LSTM`, { file });
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
  const params = readFloat32File(op, join(dir, typeof j.weights === 'string' ? j.weights : WEIGHTS_FILE), P);
  const tokenizerJSON = readJsonFile(op, join(dir, typeof j.tokenizer === 'string' ? j.tokenizer : TOKENIZER_FILE));
  return { json: j as LstmModelDirJSON, config, params, tokenizerJSON };
}
