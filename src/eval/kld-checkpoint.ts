/**
 * Checkpoints of `xent kld --checkpoint file`: after a chunk (at most every few seconds,
 * and on interruption) the exact accumulator state, the per-token KLD and Δp values
 * scored so far, and the number of chunks done are written atomically, with a fingerprint
 * of everything that determines the result. Rerunning the same command continues from it;
 * a `--save-base` file grows in `<file>.partial`, cut back on resume to the chunks the
 * checkpoint covers. Chunks are scored in order and the sums are plain doubles, so a
 * resumed run gives the same figures as an uninterrupted one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { XentError } from '../core/errors.js';
import { atomicWriteFileSync } from '../io/atomic-write.js';
import type { EvalFingerprint } from './checkpoint.js';
import type { KldAccumulatorState } from './kld-stats.js';

export const KLD_CHECKPOINT_FORMAT = 'xent-kld-checkpoint/1';

export interface KldCheckpoint {
  format: typeof KLD_CHECKPOINT_FORMAT;
  fingerprint: EvalFingerprint;
  chunksDone: number;
  tokensEvaluated: number;
  acc: KldAccumulatorState;
  savedAt: string;
}

/** The checkpoint for this run, or undefined when `file` does not exist; refuses another run's. */
export function loadKldCheckpoint(file: string, fingerprint: EvalFingerprint): KldCheckpoint | undefined {
  if (!existsSync(file)) return undefined;
  let cp: KldCheckpoint;
  try {
    cp = JSON.parse(readFileSync(file, 'utf8')) as KldCheckpoint;
  } catch (e) {
    throw new XentError(
      'invalid_file',
      'kld',
      `${file} is not a readable xent checkpoint (${(e as Error).message}); delete it to start over`,
      { file },
    );
  }
  if (
    cp?.format !== KLD_CHECKPOINT_FORMAT ||
    typeof cp.chunksDone !== 'number' ||
    typeof cp.acc?.kld_b64 !== 'string'
  ) {
    throw new XentError(
      'invalid_file',
      'kld',
      `${file} is not an xent kld checkpoint (format ${JSON.stringify(cp?.format)}); delete it to start over`,
      { file },
    );
  }
  for (const k of new Set([...Object.keys(fingerprint), ...Object.keys(cp.fingerprint ?? {})])) {
    if (cp.fingerprint?.[k] !== fingerprint[k]) {
      throw new XentError(
        'incompatible',
        'kld',
        `${file} belongs to a different run: ${k} was ${JSON.stringify(cp.fingerprint?.[k])}, now ${JSON.stringify(fingerprint[k])}; delete it or use another --checkpoint file`,
        { file, arg: k, expected: cp.fingerprint?.[k], actual: fingerprint[k] },
      );
    }
  }
  return cp;
}

export function saveKldCheckpoint(file: string, cp: Omit<KldCheckpoint, 'format' | 'savedAt'>): void {
  atomicWriteFileSync(
    file,
    JSON.stringify({ format: KLD_CHECKPOINT_FORMAT, ...cp, savedAt: new Date().toISOString() }),
  );
}
