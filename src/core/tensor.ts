/**
 * Shapes and dimension letters, used the same way everywhere in xent (after llm.c):
 *   N  rows (tokens scored; N = B·T when a batch of sequences is flattened)
 *   V  vocabulary size (classes)
 *   B  batch size, T sequence length (time), E embedding width, H hidden width
 * Matrices are dense, row-major: element (n, v) of an [N, V] matrix is data[n * V + v].
 */

import { XentError } from './errors.js';

export type FloatArray = Float32Array | Float64Array;

/** A row-major [N, V] matrix. */
export interface Matrix<A extends FloatArray = FloatArray> {
  readonly data: A;
  readonly shape: readonly [number, number];
}

/** Units of information: natural log (nats) or log base 2 (bits). */
export type Unit = 'nat' | 'bit';

/** PyTorch-style reductions. */
export type Reduction = 'mean' | 'sum' | 'none';

/** ln 2, to convert nats to bits: bits = nats / LN2. */
export const LN2 = Math.LN2;

export function isFloatArray(x: unknown): x is FloatArray {
  return x instanceof Float32Array || x instanceof Float64Array;
}

/**
 * Checks that `m` is a well-formed [N, V] matrix and returns [N, V].
 * Throws an XentError naming `op` and `arg` otherwise.
 */
export function checkMatrix(op: string, arg: string, m: unknown): [number, number] {
  if (m === null || typeof m !== 'object') {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg} must be { data: Float32Array | Float64Array, shape: [N, V] }, got ${describe(m)}`,
      { arg },
    );
  }
  const { data, shape } = m as { data?: unknown; shape?: unknown };
  if (!isFloatArray(data)) {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg}.data must be a Float32Array or Float64Array, got ${describe(data)}`,
      { arg },
    );
  }
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg}.shape must be [N, V] with non-negative integers, got ${JSON.stringify(shape)}`,
      { arg, actual: shape },
    );
  }
  const [n, v] = shape as [number, number];
  if (n * v !== data.length) {
    throw new XentError(
      'shape_mismatch',
      op,
      `${arg}.shape [${n}, ${v}] needs ${n * v} elements but ${arg}.data has ${data.length}`,
      {
        arg,
        expected: n * v,
        actual: data.length,
      },
    );
  }
  return [n, v];
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return `an Array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name} of length ${(x as unknown as { length: number }).length}`;
  if (typeof x === 'object') return `an object with keys [${Object.keys(x as object).join(', ')}]`;
  return `${typeof x} ${String(x)}`;
}
