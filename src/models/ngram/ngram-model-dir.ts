/**
 * The directory format of a Kneser–Ney n-gram trained by xent (`xent train --arch ngram`),
 * and its binary file on its own; model.json's shared fields are read and written by
 * src/models/model-dir.ts.
 *
 *   model.json      {"format":"xent-model","version":1,"kind":"ngram","order":4,"vocabSize":4096,
 *                    "tokenizer":"tokenizer.json","weights":"ngram.bin","byteExact":true, …meta}
 *   tokenizer.json  tokenizer.toJSON()
 *   ngram.bin       the counted trie (ngram-format.ts)
 *
 * Every file is written atomically and model.json last, so a directory whose model.json
 * parses is complete.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XentError } from '../../core/errors.js';
import { atomicWriteFileSync } from '../../io/atomic-write.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { tokenizerFromJSON } from '../../tokenizers/tokenizer-spec.js';
import {
  hasModelJson,
  MODEL_FILE,
  readJsonFile,
  readModelJson,
  readModelJsonOfKind,
  TOKENIZER_FILE,
  writeModelJson,
} from '../model-dir.js';
import type { NgramModel } from './ngram.js';
import { deserializeNgram, serializeNgram } from './ngram-format.js';

export const NGRAM_WEIGHTS_FILE = 'ngram.bin';

export interface NgramModelDirJSON {
  format: 'xent-model';
  version: 1;
  kind: 'ngram';
  order: number;
  vocabSize: number;
  tokenizer: string;
  weights: string;
  byteExact: boolean;
  [key: string]: unknown;
}

/** Writes one n-gram as a binary file (ngram-format.ts), atomically. */
export function saveNgram(path: string, model: NgramModel): void {
  atomicWriteFileSync(path, serializeNgram(model));
}

/** Reads a binary n-gram file; unreadable or malformed files are `invalid_file` errors naming it. */
export function loadNgram(path: string): NgramModel {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new XentError(
      'invalid_file',
      'loadNgram',
      `cannot read ${path}: ${(e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
  return deserializeNgram(bytes, path);
}

/** Writes a model directory (see the module comment); extra `meta` goes into model.json. */
export function saveNgramModelDir(
  dir: string,
  model: NgramModel,
  tokenizer: Tokenizer,
  meta: Record<string, unknown> = {},
): void {
  if (tokenizer.vocabSize !== model.vocabSize) {
    throw new XentError(
      'incompatible',
      'saveNgramModelDir',
      `tokenizer V = ${tokenizer.vocabSize} but the n-gram has V = ${model.vocabSize}`,
      {
        expected: model.vocabSize,
        actual: tokenizer.vocabSize,
      },
    );
  }
  mkdirSync(dir, { recursive: true });
  atomicWriteFileSync(join(dir, TOKENIZER_FILE), JSON.stringify(tokenizer.toJSON()));
  saveNgram(join(dir, NGRAM_WEIGHTS_FILE), model);
  const json: NgramModelDirJSON = {
    ...meta,
    format: 'xent-model',
    version: 1,
    kind: 'ngram',
    order: model.order,
    vocabSize: model.vocabSize,
    tokenizer: TOKENIZER_FILE,
    weights: NGRAM_WEIGHTS_FILE,
    byteExact: tokenizer.byteExact,
  };
  writeModelJson(dir, json);
}

/** Whether `dir` holds an xent n-gram model (a valid model.json of kind "ngram"). */
export function isNgramModelDir(dir: string): boolean {
  if (!hasModelJson(dir)) return false;
  try {
    return readModelJson(dir, 'isNgramModelDir').kind === 'ngram';
  } catch {
    return false;
  }
}

/** Reads a model directory written by saveNgramModelDir: the n-gram and its tokenizer. */
export function loadNgramModelDir(
  dir: string,
  op = 'loadModel',
): { json: NgramModelDirJSON; ngram: NgramModel; tokenizer: Tokenizer } {
  const file = join(dir, MODEL_FILE);
  const j = readModelJsonOfKind(dir, 'ngram', op) as Partial<NgramModelDirJSON>;
  if (typeof j.tokenizer !== 'string' || typeof j.weights !== 'string') {
    throw new XentError(
      'invalid_file',
      op,
      `${file} does not name its files (expected "tokenizer" and "weights" strings)`,
      { file },
    );
  }
  const tokFile = join(dir, j.tokenizer);
  let tokenizer: Tokenizer;
  try {
    tokenizer = tokenizerFromJSON(readJsonFile(op, tokFile));
  } catch (e) {
    if (e instanceof XentError && e.op === op) throw e;
    throw new XentError('invalid_file', op, `${tokFile}: ${(e as Error).message}`, { file: tokFile }, { cause: e });
  }
  const ngram = loadNgram(join(dir, j.weights));
  if (ngram.order !== j.order || ngram.vocabSize !== j.vocabSize) {
    throw new XentError(
      'incompatible',
      op,
      `${file} says order ${String(j.order)}, V ${String(j.vocabSize)} but ${j.weights} has order ${ngram.order}, V ${ngram.vocabSize}`,
      { file },
    );
  }
  return { json: j as NgramModelDirJSON, ngram, tokenizer };
}
