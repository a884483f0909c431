/**
 * Data for the training loop: reading and checking the corpus, the train/validation
 * split, random training batches and the fixed validation windows.
 *
 * Batches: B windows of T + 1 consecutive tokens of the training stream, each
 * starting at an offset drawn from a CounterRng (rng.ts), so the whole sampling state
 * is one counter and a resumed run draws the same batches. inputs[b, t] =
 * tokens[s_b + t], targets[b, t] = tokens[s_b + t + 1]; shapes [B, T] row-major.
 *
 * Validation: the stream cut into consecutive windows of T + 1 tokens overlapping by
 * one token (inputs v[wT … wT+T), targets v[wT+1 … wT+T]), each from a zero state, so
 * every token but the first is scored exactly once; the last window is padded with
 * the ignore index. At most `maxTokens` targets are scored.
 */
import { readFileSync } from 'node:fs';
import { XentError } from '../core/errors.js';
import type { CounterRng } from '../core/rng.js';
import { assertUtf8 } from '../core/utf8.js';

export const IGNORE = -100;

/** Reads a corpus file as text; names the file on a missing file, an empty file or invalid UTF-8. */
export function readCorpus(op: string, file: string, arg = '--data'): { text: string; bytes: Buffer } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new XentError(
      'invalid_file',
      op,
      code === 'ENOENT' ? `${arg} ${file} does not exist` : `cannot read ${arg} ${file} (${code})`,
      { file, arg },
    );
  }
  if (bytes.length === 0)
    throw new XentError('empty_input', op, `${arg} ${file} is empty: nothing to train on`, { file, arg });
  assertUtf8(op, bytes, file);
  return { text: bytes.toString('utf8'), bytes };
}

/**
 * Splits text into train and validation at a line boundary: the last `fraction` of the
 * characters (moved forward to the next line start) is validation.
 */
export function splitText(op: string, text: string, fraction: number, file = '--data'): { train: string; val: string } {
  if (!(fraction > 0 && fraction < 1)) {
    throw new XentError('invalid_argument', op, `--val-split = ${fraction} must be in (0, 1) (or give --val-data)`, {
      arg: '--val-split',
      value: fraction,
    });
  }
  let cut = Math.floor(text.length * (1 - fraction));
  const nl = text.indexOf('\n', cut);
  cut = nl >= 0 ? nl + 1 : text.length;
  const train = text.slice(0, cut);
  const val = text.slice(cut);
  if (val.trim().length === 0) {
    throw new XentError(
      'empty_input',
      op,
      `the validation split of ${file} has no data: its last ${(fraction * 100).toFixed(1)}% holds no complete line after the cut (use a larger --val-split, or --val-data)`,
      { arg: '--val-split', file, value: fraction },
    );
  }
  return { train, val };
}

/** Checks that a token stream is long enough for one window of seq + 1 tokens. */
export function checkStream(
  op: string,
  what: 'training' | 'validation',
  tokens: Int32Array,
  seq: number,
  file: string,
): void {
  if (tokens.length < 2) {
    throw new XentError(
      'empty_input',
      op,
      `the ${what} text of ${file} has ${tokens.length} token(s): it needs at least 2 to score one prediction`,
      { file, value: tokens.length },
    );
  }
  if (what === 'training' && tokens.length < seq + 1) {
    throw new XentError(
      'too_short',
      op,
      `the training text of ${file} is too small: ${tokens.length} tokens, but one training window needs --seq + 1 = ${seq + 1}; use more text or a smaller --seq`,
      { file, arg: '--seq', value: tokens.length },
    );
  }
}

export interface Batch {
  inputs: Int32Array;
  targets: Int32Array;
  /** Start offset of each of the B windows in the training stream. */
  starts: number[];
}

/** The next training batch; advances `rng` by B draws. */
export function sampleBatch(tokens: Int32Array, B: number, T: number, rng: CounterRng): Batch {
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const starts: number[] = [];
  const span = tokens.length - T; // starts 0 … n − T − 1 keep s + T ≤ n − 1
  for (let b = 0; b < B; b++) {
    const s = rng.nextInt(span);
    starts.push(s);
    inputs.set(tokens.subarray(s, s + T), b * T);
    targets.set(tokens.subarray(s + 1, s + T + 1), b * T);
  }
  return { inputs, targets, starts };
}

/** Validation batches of B windows (see the module comment); the last one padded. */
export function validationBatches(tokens: Int32Array, B: number, T: number, maxTokens: number): Batch[] {
  const n = Math.min(tokens.length - 1, Math.max(1, maxTokens));
  const windows = Math.ceil(n / T);
  const out: Batch[] = [];
  for (let w0 = 0; w0 < windows; w0 += B) {
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T).fill(IGNORE);
    const starts: number[] = [];
    for (let b = 0; b < B && w0 + b < windows; b++) {
      const s = (w0 + b) * T;
      starts.push(s);
      for (let t = 0; t < T && s + t < n; t++) {
        inputs[b * T + t] = tokens[s + t]!;
        targets[b * T + t] = tokens[s + t + 1]!;
      }
    }
    out.push({ inputs, targets, starts });
  }
  return out;
}

/** UTF-8 bytes of the scored (non-ignored) targets of a batch. */
export function targetBytes(targets: Int32Array, tokenBytes: Int32Array): number {
  let s = 0;
  for (let i = 0; i < targets.length; i++) {
    const y = targets[i]!;
    if (y !== IGNORE) s += tokenBytes[y]!;
  }
  return s;
}
