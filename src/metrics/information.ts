/**
 * Entropy in any base and the Jensen–Shannon divergence / distance, with SciPy semantics
 * (inputs are normalised to sum 1 first):
 *   entropyInBase(pk, { base })      = scipy.stats.entropy(pk, base=base)
 *   entropyInBase(pk, { qk, base })  = scipy.stats.entropy(pk, qk, base=base) = KL(pk ‖ qk)
 *   jensenShannonDivergence(p, q)    = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2;
 *                                      ≤ ln 2 nats (1 bit); a divergence, not a metric
 *   jensenShannonDistance(p, q)      = √jensenShannonDivergence = scipy.spatial.distance.jensenshannon
 *                                      (a metric)
 * base defaults to e (nats); base 2 gives bits. The nat-valued work is done by the loss
 * library's `entropy` / `relativeEntropy` (src/loss/entropy.ts).
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { NeumaierSum } from '../core/sum.js';
import { describe } from '../core/tensor.js';
import { entropy, relativeEntropy } from '../loss/entropy.js';
import { checkNumbers, checkSameLength } from './check.js';

export interface BaseOptions {
  /** Logarithm base (> 0, ≠ 1); default e (nats). */
  base?: number;
}

function lnBase(op: string, base: unknown): number {
  if (base === undefined || base === null) return 1;
  if (typeof base !== 'number' || !Number.isFinite(base) || base <= 0 || base === 1) {
    throw new XentError('invalid_argument', op, `base must be a finite number > 0 and ≠ 1, got ${describe(base)}`, {
      arg: 'base',
      value: base,
    });
  }
  return Math.log(base);
}

/** Shannon entropy of pk, or KL(pk ‖ qk) when qk is given, in units of log `base`. */
export function entropyInBase(pk: ArrayLike<number>, options?: BaseOptions & { qk?: ArrayLike<number> }): number {
  const op = 'entropyInBase';
  const o = checkOptions(op, options);
  const lb = lnBase(op, o.base);
  const nats = o.qk === undefined ? entropy(pk) : relativeEntropy(pk, o.qk);
  return nats / lb;
}

function normalised(op: string, arg: string, x: unknown): Float64Array {
  const a = checkNumbers(op, arg, x, { min: 0 });
  const s = new NeumaierSum();
  for (const v of a) s.add(v);
  if (!(s.value > 0)) throw new XentError('invalid_argument', op, `${arg} sums to 0; it cannot be normalised`, { arg });
  const t = s.value;
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) / t;
  return a;
}

/** ½ KL(p‖m) + ½ KL(q‖m), m = (p+q)/2, in units of log `base` (nats by default). */
export function jensenShannonDivergence(p: ArrayLike<number>, q: ArrayLike<number>, options?: BaseOptions): number {
  const op = 'jensenShannonDivergence';
  return jsImpl(op, p, q, options);
}

function jsImpl(op: string, p: ArrayLike<number>, q: ArrayLike<number>, options: BaseOptions | undefined): number {
  const o = checkOptions(op, options);
  const lb = lnBase(op, o.base);
  const a = normalised(op, 'p', p);
  const b = normalised(op, 'q', q);
  checkSameLength(op, 'q', b.length, 'p', a.length);
  const s = new NeumaierSum();
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    // rel_entr(x, m) = x·ln(x/m), m = (x + y)/2, written as x·(ln 2 + ln(x/(x + y))): the same value
    // (to rounding), but m = (x + y)/2 can underflow to 0 for subnormal inputs where x/(x + y) cannot.
    const xy = x + y;
    if (x > 0) s.add(x * (Math.LN2 + Math.log(x / xy)));
    if (y > 0) s.add(y * (Math.LN2 + Math.log(y / xy)));
  }
  // Rounding can leave a tiny negative sum for identical inputs; the divergence is ≥ 0.
  return Math.max(0, s.value / 2) / lb;
}

/** √(Jensen–Shannon divergence): scipy.spatial.distance.jensenshannon(p, q, base). A metric. */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>, options?: BaseOptions): number {
  return Math.sqrt(jsImpl('jensenShannonDistance', p, q, options));
}
