/**
 * Parsing of the CLI's numeric options, one place for every command: a value that is not
 * what the option takes is an `invalid_argument` XentError naming the command, the flag and
 * the value as typed (commander hands options over as strings).
 */

import { XentError } from '../core/errors.js';

/** Decimal integers only: `Number()` would also take '', ' ', '0x10', '1e3' and '2.0'. */
const INTEGER = /^[+-]?\d+$/;

/**
 * An integer option in [min, max]. Undefined when the option was not given (commander
 * leaves options without a default undefined), so callers can tell "absent" from a value.
 */
export function intOption(op: string, flag: string, v: string, min: number, max?: number): number;
export function intOption(
  op: string,
  flag: string,
  v: string | undefined,
  min: number,
  max?: number,
): number | undefined;
export function intOption(
  op: string,
  flag: string,
  v: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!INTEGER.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new XentError('invalid_argument', op, `${flag} must be an integer ${range}, got ${JSON.stringify(v)}`, {
      arg: flag,
      value: v,
    });
  }
  return n;
}

/** A finite number option (decimal or exponent notation). */
export function numberOption(op: string, flag: string, v: string): number;
export function numberOption(op: string, flag: string, v: string | undefined): number | undefined;
export function numberOption(op: string, flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n))
    throw new XentError('invalid_argument', op, `${flag} must be a number, got ${JSON.stringify(v)}`, {
      arg: flag,
      value: v,
    });
  return n;
}
