/**
 * What every model directory written by xent (`xent train`, `xent distill`) shares:
 *
 *   model.json   {"format":"xent-model","version":1,"kind":"lstm"|"ngram",
 *                 "vocabSize":V,"tokenizer":"tokenizer.json","weights":<file>,"byteExact":…, …}
 *
 * written atomically and last, so a directory whose model.json parses is complete (a
 * killed run leaves the previous model). Each family's own fields and files are described
 * in its module: src/models/lstm/lstm-model-dir.ts, src/models/ngram/ngram-model-dir.ts.
 * Also the JSON and float32 file readers those modules and the training checkpoints use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XentError } from '../core/errors.js';
import { atomicWriteFileSync } from '../io/atomic-write.js';

export const MODEL_FILE = 'model.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const MODEL_FORMAT = 'xent-model';
export const MODEL_FORMAT_VERSION = 1;

/** The model families a model directory holds. */
export type ModelDirKind = 'lstm' | 'ngram';

/** Reads and parses a JSON file; unreadable or invalid files are `invalid_file` errors naming it. */
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

/** Float32 little-endian bytes of `a` (a copy, so views into shared memory are safe). */
export function float32Bytes(a: Float32Array): Uint8Array {
  const copy = new Float32Array(a.length);
  copy.set(a);
  return new Uint8Array(copy.buffer);
}

/** Reads a float32 little-endian file of exactly `n` values. */
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

/** Whether `dir` holds a model.json (a model directory, or one that claims to be). */
export function hasModelJson(dir: string): boolean {
  return existsSync(join(dir, MODEL_FILE));
}

/** model.json of any xent model directory, checked for format, version and kind only. */
export function readModelJson(dir: string, op: string): { kind: ModelDirKind; json: Record<string, unknown> } {
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
  if (!j || typeof j !== 'object' || j.format !== MODEL_FORMAT || (j.kind !== 'lstm' && j.kind !== 'ngram')) {
    throw new XentError(
      'invalid_file',
      op,
      `${file} does not describe an xent model (expected "format": "${MODEL_FORMAT}" and "kind": "lstm" or "ngram")`,
      { file },
    );
  }
  if (j.version !== MODEL_FORMAT_VERSION)
    throw new XentError(
      'invalid_file',
      op,
      `${file}: version ${JSON.stringify(j.version)} is not supported (expected ${MODEL_FORMAT_VERSION})`,
      { file, value: j.version },
    );
  return { kind: j.kind, json: j };
}

/** Reads model.json and checks that it describes a model of `kind`. */
export function readModelJsonOfKind(dir: string, kind: ModelDirKind, op: string): Record<string, unknown> {
  const r = readModelJson(dir, op);
  if (r.kind !== kind) {
    const file = join(dir, MODEL_FILE);
    throw new XentError('invalid_file', op, `${file} describes a ${r.kind} model, not ${KIND_NAMES[kind]}`, { file });
  }
  return r.json;
}

const KIND_NAMES: Record<ModelDirKind, string> = { lstm: 'an LSTM', ngram: 'an n-gram' };

/** A file of the directory named by a model.json field (`tokenizer`, `weights`), or its default. */
export function modelDirFile(dir: string, json: Record<string, unknown>, field: string, dflt: string): string {
  const v = json[field];
  return join(dir, typeof v === 'string' ? v : dflt);
}

/** Writes model.json, atomically; call it after every other file of the directory is written. */
export function writeModelJson(dir: string, json: Record<string, unknown>): void {
  atomicWriteFileSync(join(dir, MODEL_FILE), `${JSON.stringify(json, null, 2)}\n`);
}
