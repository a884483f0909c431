/**
 * Input checks shared by the metrics (src/metrics/). Each throws an XentError whose
 * message starts with the op name and names the argument, index and value at fault.
 */
import { XentError } from '../core/errors.js';
import { describe } from '../core/tensor.js';

/** A class label as scikit-learn accepts it: all numbers or all strings. */
export type Label = number | string;

export function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

/** A non-empty array of finite numbers, copied to float64. */
export function checkNumbers(
  op: string,
  arg: string,
  x: unknown,
  opts: { allowEmpty?: boolean; min?: number; max?: number } = {},
): Float64Array {
  if (!isArrayLike(x))
    throw new XentError('invalid_argument', op, `${arg} must be an array of numbers, got ${describe(x)}`, { arg });
  if (x.length === 0 && !opts.allowEmpty) throw new XentError('empty_input', op, `${arg} is empty`, { arg });
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const e = x[i];
    if (typeof e !== 'number')
      throw new XentError('invalid_argument', op, `${arg}[${i}] must be a number, got ${describe(e)}`, {
        arg,
        column: i,
      });
    if (!Number.isFinite(e))
      throw new XentError('non_finite', op, `${arg}[${i}] is ${e}`, { arg, column: i, value: e });
    if (opts.min !== undefined && e < opts.min) {
      throw new XentError('invalid_argument', op, `${arg}[${i}] = ${e} is below ${opts.min}`, {
        arg,
        column: i,
        value: e,
      });
    }
    if (opts.max !== undefined && e > opts.max) {
      throw new XentError('invalid_argument', op, `${arg}[${i}] = ${e} is above ${opts.max}`, {
        arg,
        column: i,
        value: e,
      });
    }
    out[i] = e;
  }
  return out;
}

/** Labels: all finite numbers or all strings (scikit-learn refuses a mix). */
export function checkLabels(op: string, arg: string, x: unknown, allowEmpty = false): Label[] {
  if (!isArrayLike(x))
    throw new XentError(
      'invalid_argument',
      op,
      `${arg} must be an array of labels (numbers or strings), got ${describe(x)}`,
      { arg },
    );
  if (x.length === 0 && !allowEmpty) throw new XentError('empty_input', op, `${arg} is empty`, { arg });
  const out: Label[] = new Array(x.length);
  let kind: 'number' | 'string' | undefined;
  for (let i = 0; i < x.length; i++) {
    const e = x[i];
    if (typeof e === 'number') {
      if (!Number.isFinite(e))
        throw new XentError('non_finite', op, `${arg}[${i}] is ${e}`, { arg, column: i, value: e });
    } else if (typeof e !== 'string') {
      throw new XentError('invalid_argument', op, `${arg}[${i}] must be a number or a string, got ${describe(e)}`, {
        arg,
        column: i,
      });
    }
    const k = typeof e as 'number' | 'string';
    if (kind === undefined) kind = k;
    else if (k !== kind) {
      throw new XentError(
        'invalid_argument',
        op,
        `${arg}[${i}] is a ${k} but earlier labels are ${kind}s; labels must be all numbers or all strings`,
        {
          arg,
          column: i,
          value: e,
        },
      );
    }
    out[i] = e as Label;
  }
  return out;
}

export function checkSameLength(op: string, arg: string, len: number, ref: string, refLen: number): void {
  if (len !== refLen) {
    throw new XentError('shape_mismatch', op, `${arg} has length ${len} but ${ref} has length ${refLen}`, {
      arg,
      expected: refLen,
      actual: len,
    });
  }
}

/** numpy's sort order for labels: numbers ascending, strings by code point. */
export function compareLabels(a: Label, b: Label): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Sorted unique labels of several arrays (scikit-learn's unique_labels). */
export function uniqueLabels(op: string, ...arrays: readonly Label[][]): Label[] {
  const seen = new Set<Label>();
  let kind: string | undefined;
  for (const a of arrays) {
    for (const e of a) {
      if (kind === undefined) kind = typeof e;
      else if (typeof e !== kind) {
        throw new XentError(
          'invalid_argument',
          op,
          `y_true and y_pred mix numeric and string labels (${JSON.stringify(e)}); use one type`,
          { value: e },
        );
      }
      seen.add(e);
    }
  }
  return [...seen].sort(compareLabels);
}
