/**
 * Checkpoints for long evaluations: after each window (at most every `intervalMs`),
 * the accumulator state is written atomically beside the run, with a fingerprint of
 * everything that determines the result (model file, data bytes, ctx, stride, chunks,
 * engine). Re-running the same command continues from the last checkpoint; because the
 * state holds the exact double sums and windows are scored in the same order, the
 * final result is identical to an uninterrupted run. A checkpoint whose fingerprint
 * differs is refused rather than silently mixed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { XentError } from '../core/errors.js';
import { atomicWriteFileSync } from '../io/atomic-write.js';
import type { EvalAccumulator } from './stats.js';

export const CHECKPOINT_FORMAT = 'xent-eval-checkpoint/1';

export type EvalFingerprint = Record<string, string | number | boolean | null>;

export interface EvalCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  fingerprint: EvalFingerprint;
  state: EvalAccumulator;
  /** Bytes of the per-token .partial file that belong to `state` (later bytes are discarded on resume). */
  tokensFileBytes: number;
  savedAt: string;
}

const OP = 'checkpoint';

/** The saved checkpoint for this run, or undefined when `file` does not exist. */
export function loadCheckpoint(file: string, fingerprint: EvalFingerprint): EvalCheckpoint | undefined {
  if (!existsSync(file)) return undefined;
  let cp: EvalCheckpoint;
  try {
    cp = JSON.parse(readFileSync(file, 'utf8')) as EvalCheckpoint;
  } catch (e) {
    throw new XentError(
      'invalid_file',
      OP,
      `${file} is not a readable xent checkpoint (${(e as Error).message}); delete it to start over`,
      { file },
    );
  }
  if (cp?.format !== CHECKPOINT_FORMAT || typeof cp.state?.windowsDone !== 'number') {
    throw new XentError(
      'invalid_file',
      OP,
      `${file} is not an xent evaluation checkpoint (format ${JSON.stringify(cp?.format)}); delete it to start over`,
      { file },
    );
  }
  for (const k of new Set([...Object.keys(fingerprint), ...Object.keys(cp.fingerprint ?? {})])) {
    if (cp.fingerprint?.[k] !== fingerprint[k]) {
      throw new XentError(
        'incompatible',
        OP,
        `${file} belongs to a different run: ${k} was ${JSON.stringify(cp.fingerprint?.[k])}, now ${JSON.stringify(fingerprint[k])}; delete it or use another --checkpoint file`,
        { file, arg: k, expected: cp.fingerprint?.[k], actual: fingerprint[k] },
      );
    }
  }
  return cp;
}

export function saveCheckpoint(
  file: string,
  fingerprint: EvalFingerprint,
  state: EvalAccumulator,
  tokensFileBytes: number,
): void {
  const cp: EvalCheckpoint = {
    format: CHECKPOINT_FORMAT,
    fingerprint,
    state,
    tokensFileBytes,
    savedAt: new Date().toISOString(),
  };
  atomicWriteFileSync(file, JSON.stringify(cp));
}
