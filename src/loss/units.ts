/**
 * Nats ↔ bits. A nat is information measured with the natural log, a bit with log base 2:
 * bits = nats / ln 2, nats = bits · ln 2. Both directions are exact inverses up to one rounding.
 */
import { XentError } from '../core/errors.js';
import { describe } from '../core/tensor.js';

function checkNumber(op: string, arg: string, x: unknown): number {
  if (typeof x !== 'number')
    throw new XentError('invalid_argument', op, `${arg} must be a number, got ${describe(x)}`, { arg, value: x });
  return x;
}

export function natsToBits(nats: number): number {
  return checkNumber('natsToBits', 'nats', nats) / Math.LN2;
}

export function bitsToNats(bits: number): number {
  return checkNumber('bitsToNats', 'bits', bits) * Math.LN2;
}
