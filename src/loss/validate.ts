/**
 * Input checks shared by the public loss functions. Each throws an XentError whose
 * message starts with the op name and names the argument and the offending
 * shape / row / column / value. Kernels (`*Unchecked`) never call these.
 */
import { XentError } from '../core/errors.js';
import type { FloatArray, Matrix, Reduction, Unit } from '../core/tensor.js';
import { checkMatrix, describe, isFloatArray } from '../core/tensor.js';

/** An N-dimensional row-major tensor (BCE and KL accept any shape), or a bare 1-D array. */
export type TensorLike = { readonly data: FloatArray; readonly shape: readonly number[] } | FloatArray;

/** A well-formed [N, V] matrix with V ≥ 1 (N = 0 is allowed: see the empty-input policy in cross-entropy.ts). */
export function checkClassMatrix(op: string, arg: string, m: unknown): [number, number] {
  const [n, v] = checkMatrix(op, arg, m);
  if (v === 0) {
    throw new XentError('empty_input', op, `${arg}.shape [${n}, 0] has V = 0 classes; at least one class is needed`, {
      arg,
      actual: [n, v],
    });
  }
  return [n, v];
}

/**
 * Logits may hold -Infinity (a class ruled out, e.g. by masking) but not NaN or
 * +Infinity: both make the row's log-sum-exp meaningless. Names the first bad entry.
 */
export function checkLogits(op: string, arg: string, data: FloatArray, v: number): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i] as number;
    // One comparison catches both NaN and +Infinity.
    if (!(x < Infinity)) {
      const row = Math.floor(i / v);
      const column = i - row * v;
      throw new XentError('non_finite', op, `${arg}[${row}, ${column}] is ${x}; ${arg} must be finite or -Infinity`, {
        arg,
        row,
        column,
        value: x,
      });
    }
  }
}

/** Every entry finite (no NaN, no ±Infinity). `v` is the row width used to name row and column. */
export function checkAllFinite(op: string, arg: string, data: ArrayLike<number>, v: number): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i] as number;
    if (!Number.isFinite(x)) {
      const row = Math.floor(i / Math.max(v, 1));
      const column = i - row * v;
      throw new XentError('non_finite', op, `${arg}[${row}, ${column}] is ${x}; ${arg} must be finite`, {
        arg,
        row,
        column,
        value: x,
      });
    }
  }
}

/** No NaN (±Infinity allowed: log-probabilities may be -Infinity). */
export function checkNoNaN(op: string, arg: string, data: FloatArray, v: number): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i] as number;
    if (Number.isNaN(x)) {
      const row = Math.floor(i / Math.max(v, 1));
      const column = i - row * v;
      throw new XentError('non_finite', op, `${arg}[${row}, ${column}] is NaN`, { arg, row, column, value: x });
    }
  }
}

export function checkReduction<R extends string>(op: string, r: unknown, allowed: readonly R[], dflt: R): R {
  if (r === undefined) return dflt;
  if (typeof r !== 'string' || !(allowed as readonly string[]).includes(r)) {
    throw new XentError(
      'invalid_argument',
      op,
      `reduction must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(r)}`,
      {
        arg: 'reduction',
        value: r,
      },
    );
  }
  return r as R;
}

export const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

export function checkUnit(op: string, unit: unknown): Unit {
  if (unit === undefined) return 'nat';
  if (unit !== 'nat' && unit !== 'bit') {
    throw new XentError('invalid_argument', op, `unit must be 'nat' or 'bit', got ${describe(unit)}`, {
      arg: 'unit',
      value: unit,
    });
  }
  return unit;
}

/** 1 for nats, 1/ln 2 for bits: losses and gradients are multiplied by it. */
export function unitScale(unit: Unit): number {
  return unit === 'bit' ? 1 / Math.LN2 : 1;
}

export function checkBoolean(op: string, arg: string, x: unknown, dflt: boolean): boolean {
  if (x === undefined) return dflt;
  if (typeof x !== 'boolean')
    throw new XentError('invalid_argument', op, `${arg} must be a boolean, got ${describe(x)}`, { arg, value: x });
  return x;
}

/** A finite number in [lo, hi]. */
export function checkNumberIn(op: string, arg: string, x: unknown, lo: number, hi: number, dflt: number): number {
  if (x === undefined) return dflt;
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new XentError(
      typeof x === 'number' ? 'non_finite' : 'invalid_argument',
      op,
      `${arg} must be a finite number, got ${describe(x)}`,
      {
        arg,
        value: x,
      },
    );
  }
  if (x < lo || x > hi) {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg} = ${x} is outside [${lo}, ${hi === Infinity ? '∞)' : `${hi}]`}`,
      { arg, value: x },
    );
  }
  return x;
}

export function checkInteger(op: string, arg: string, x: unknown, dflt: number): number {
  if (x === undefined) return dflt;
  if (typeof x !== 'number' || !Number.isInteger(x)) {
    throw new XentError('invalid_argument', op, `${arg} must be an integer, got ${describe(x)}`, { arg, value: x });
  }
  return x;
}

/** A per-class (or per-column) vector of `len` finite numbers, copied to float64. */
export function checkVector(op: string, arg: string, w: unknown, len: number, what: string): Float64Array {
  if (!isFloatArray(w) && !Array.isArray(w) && !(ArrayBuffer.isView(w) && !(w instanceof DataView))) {
    throw new XentError('invalid_argument', op, `${arg} must be an array of numbers, got ${describe(w)}`, { arg });
  }
  const a = w as ArrayLike<unknown>;
  if (a.length !== len) {
    throw new XentError('invalid_argument', op, `${arg} has length ${a.length} but ${what}`, {
      arg,
      expected: len,
      actual: a.length,
    });
  }
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    const x = a[i];
    if (typeof x !== 'number')
      throw new XentError('invalid_argument', op, `${arg}[${i}] must be a number, got ${describe(x)}`, {
        arg,
        column: i,
      });
    if (!Number.isFinite(x))
      throw new XentError('non_finite', op, `${arg}[${i}] is ${x}; ${arg} must be finite`, {
        arg,
        column: i,
        value: x,
      });
    out[i] = x;
  }
  return out;
}

/**
 * Class-index targets: an Int32Array of N entries, each in [0, V) or equal to ignoreIndex.
 * Returns the number of rows that are not ignored.
 */
export function checkIndexTarget(
  op: string,
  target: unknown,
  n: number,
  v: number,
  ignoreIndex: number | null,
  arg = 'target',
): number {
  if (!(target instanceof Int32Array)) {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg} must be an Int32Array of class indices (or { data, shape: [N, V] } of probabilities), got ${describe(target)}`,
      {
        arg,
      },
    );
  }
  if (target.length !== n) {
    throw new XentError('shape_mismatch', op, `${arg} has ${target.length} entries but logits have N = ${n} rows`, {
      arg,
      expected: [n],
      actual: [target.length],
    });
  }
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const t = target[i] as number;
    if (t === ignoreIndex) continue;
    if (t < 0 || t >= v) {
      const note = ignoreIndex === null ? '' : ` and is not ignoreIndex (${ignoreIndex})`;
      throw new XentError('index_out_of_range', op, `${arg}[${i}] = ${t} is out of range [0, ${v})${note}`, {
        arg,
        row: i,
        value: t,
        expected: [0, v],
      });
    }
    kept++;
  }
  return kept;
}

/** Soft (probability) targets: a matrix of the logits' shape with finite entries. */
export function checkSoftTarget(op: string, target: unknown, n: number, v: number, arg = 'target'): FloatArray {
  const [tn, tv] = checkMatrix(op, arg, target);
  if (tn !== n || tv !== v) {
    throw new XentError('shape_mismatch', op, `${arg}.shape [${tn}, ${tv}] differs from logits.shape [${n}, ${v}]`, {
      arg,
      expected: [n, v],
      actual: [tn, tv],
    });
  }
  const data = (target as Matrix).data;
  checkAllFinite(op, arg, data, v);
  return data;
}

/** Checks an N-D tensor (or bare 1-D Float32Array/Float64Array) and returns its data and shape. */
export function checkTensor(op: string, arg: string, t: unknown): { data: FloatArray; shape: number[] } {
  if (isFloatArray(t)) return { data: t, shape: [t.length] };
  if (t === null || typeof t !== 'object') {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg} must be { data: Float32Array | Float64Array, shape: number[] } or a Float32Array/Float64Array, got ${describe(t)}`,
      {
        arg,
      },
    );
  }
  const { data, shape } = t as { data?: unknown; shape?: unknown };
  if (!isFloatArray(data)) {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg}.data must be a Float32Array or Float64Array, got ${describe(data)}`,
      { arg },
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg}.shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
      {
        arg,
        actual: shape,
      },
    );
  }
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  if (numel !== data.length) {
    throw new XentError(
      'shape_mismatch',
      op,
      `${arg}.shape [${shape.join(', ')}] needs ${numel} elements but ${arg}.data has ${data.length}`,
      {
        arg,
        expected: numel,
        actual: data.length,
      },
    );
  }
  return { data, shape: [...(shape as number[])] };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws shape_mismatch unless `shape` equals `expected` (the reference argument's shape). */
export function checkSameShape(
  op: string,
  arg: string,
  shape: readonly number[],
  ref: string,
  expected: readonly number[],
): void {
  if (!sameShape(shape, expected)) {
    throw new XentError(
      'shape_mismatch',
      op,
      `${arg}.shape [${shape.join(', ')}] differs from ${ref}.shape [${expected.join(', ')}]`,
      {
        arg,
        expected,
        actual: shape,
      },
    );
  }
}

/**
 * A weight that broadcasts over an N-D tensor the way PyTorch's does for BCE: a number,
 * a vector over the last dimension, or a full tensor of the same number of elements.
 * Returns the weights as float64 and the period with which they repeat (1 for a scalar).
 */
export function checkBroadcastWeight(
  op: string,
  arg: string,
  w: unknown,
  shape: readonly number[],
): { values: Float64Array; period: number } {
  const numel = shape.reduce((a, b) => a * b, 1);
  const last = shape.length === 0 ? 1 : (shape[shape.length - 1] as number);
  if (typeof w === 'number') return { values: checkVector(op, arg, [w], 1, ''), period: 1 };
  let len: number;
  if (isFloatArray(w) || Array.isArray(w)) len = (w as ArrayLike<number>).length;
  else if (w !== null && typeof w === 'object' && 'data' in w && 'shape' in w) {
    const t = checkTensor(op, arg, w);
    return checkBroadcastWeight(op, arg, t.data, shape);
  } else {
    throw new XentError('invalid_argument', op, `${arg} must be a number or an array of numbers, got ${describe(w)}`, {
      arg,
    });
  }
  if (len === last) return { values: checkVector(op, arg, w, last, ''), period: last };
  if (len === numel) return { values: checkVector(op, arg, w, numel, ''), period: numel };
  if (len === 1) return { values: checkVector(op, arg, w, 1, ''), period: 1 };
  throw new XentError(
    'shape_mismatch',
    op,
    `${arg} has length ${len}; it must be a number, or have length ${last} (the last dimension) or ${numel} (every element) of shape [${shape.join(', ')}]`,
    {
      arg,
      expected: [last, numel],
      actual: len,
    },
  );
}

/** Validates the `out` / `inPlace` gradient destination options; returns the buffer to write into, if any. */
export function checkGradDestination(
  op: string,
  out: unknown,
  inPlace: unknown,
  input: FloatArray,
  inputArg: string,
): FloatArray | undefined {
  const ip = checkBoolean(op, 'inPlace', inPlace, false);
  if (out !== undefined && ip) {
    throw new XentError('invalid_argument', op, `give either out or inPlace: true, not both`, { arg: 'out' });
  }
  if (ip) return input;
  if (out === undefined) return undefined;
  if (!isFloatArray(out)) {
    throw new XentError('invalid_argument', op, `out must be a Float32Array or Float64Array, got ${describe(out)}`, {
      arg: 'out',
    });
  }
  if (out.length !== input.length) {
    throw new XentError(
      'shape_mismatch',
      op,
      `out has length ${out.length} but ${inputArg} has ${input.length} elements`,
      {
        arg: 'out',
        expected: input.length,
        actual: out.length,
      },
    );
  }
  return out;
}

/** A new array of the same float type as `like`. */
export function allocLike(like: FloatArray, length: number): FloatArray {
  return like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
}

/** The multi-index of flat element `i` of a row-major tensor of `shape`, e.g. "1, 2". */
export function multiIndex(shape: readonly number[], i: number): string {
  if (shape.length === 0) return '';
  const idx: number[] = new Array<number>(shape.length);
  let r = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    const s = shape[d] as number;
    idx[d] = s === 0 ? 0 : r % s;
    r = s === 0 ? 0 : Math.floor(r / s);
  }
  return idx.join(', ');
}

/** Every entry of an N-D tensor lies in [lo, hi] (NaN → non_finite, outside → invalid_argument). */
export function checkAllInRange(
  op: string,
  arg: string,
  data: FloatArray,
  shape: readonly number[],
  lo: number,
  hi: number,
): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i] as number;
    if (x >= lo && x <= hi) continue;
    const at = multiIndex(shape, i);
    if (Number.isNaN(x)) throw new XentError('non_finite', op, `${arg}[${at}] is NaN`, { arg, index: i, value: x });
    throw new XentError('invalid_argument', op, `${arg}[${at}] = ${x} is outside [${lo}, ${hi}]`, {
      arg,
      index: i,
      value: x,
      expected: [lo, hi],
    });
  }
}

/** No NaN and no +Infinity in an N-D tensor (−Infinity allowed when `allowNegInf`). */
export function checkTensorFinite(
  op: string,
  arg: string,
  data: FloatArray,
  shape: readonly number[],
  allowNegInf: boolean,
): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i] as number;
    if (x < Infinity && (allowNegInf || x > -Infinity)) continue;
    const at = multiIndex(shape, i);
    throw new XentError(
      'non_finite',
      op,
      `${arg}[${at}] is ${x}; ${arg} must be finite${allowNegInf ? ' or -Infinity' : ''}`,
      {
        arg,
        index: i,
        value: x,
      },
    );
  }
}
