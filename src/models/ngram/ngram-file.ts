/** Saving and loading n-gram models as files (Node; atomic writes). Format: ngram-format.ts. */
import { readFileSync } from 'node:fs';
import { XentError } from '../../core/errors.js';
import { atomicWriteFileSync } from '../../io/atomic-write.js';
import type { NgramModel } from './ngram.js';
import { deserializeNgram, serializeNgram } from './ngram-format.js';

export function saveNgram(path: string, model: NgramModel): void {
  atomicWriteFileSync(path, serializeNgram(model));
}

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
