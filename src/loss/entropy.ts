/**
 * Shannon entropy and relative entropy (KL divergence) of discrete distributions, as
 * `scipy.stats.entropy` (SciPy 1.10): both inputs are first normalised to sum to 1, then
 *   entropy(p)          = −Σ p_i log p_i            (0·log 0 := 0)
 *   relativeEntropy(p,q) = Σ p_i log(p_i / q_i)     (p_i = 0 → 0; p_i > 0, q_i = 0 → +Infinity)
 * in nats (unit 'nat', scipy base=None) or bits (unit 'bit', base=2).
 * Inputs: non-negative finite numbers with a positive sum; empty input → empty_input.
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { NeumaierSum } from '../core/sum.js';
import type { Unit } from '../core/tensor.js';
import { describe } from '../core/tensor.js';
import { checkUnit, unitScale } from './validate.js';

export interface EntropyOptions {
  unit?: Unit;
}

function checkDistribution(op: string, arg: string, p: unknown): Float64Array {
  if (!(Array.isArray(p) || (ArrayBuffer.isView(p) && !(p instanceof DataView)))) {
    throw new XentError('invalid_argument', op, `${arg} must be an array of numbers, got ${describe(p)}`, { arg });
  }
  const a = p as ArrayLike<unknown>;
  if (a.length === 0) throw new XentError('empty_input', op, `${arg} is empty`, { arg });
  const out = new Float64Array(a.length);
  const s = new NeumaierSum();
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== 'number')
      throw new XentError('invalid_argument', op, `${arg}[${i}] must be a number, got ${describe(x)}`, {
        arg,
        column: i,
      });
    if (!Number.isFinite(x))
      throw new XentError('non_finite', op, `${arg}[${i}] is ${x}`, { arg, column: i, value: x });
    if (x < 0)
      throw new XentError('invalid_argument', op, `${arg}[${i}] = ${x} is negative; probabilities are ≥ 0`, {
        arg,
        column: i,
        value: x,
      });
    out[i] = x;
    s.add(x);
  }
  const total = s.value;
  if (!(total > 0)) throw new XentError('invalid_argument', op, `${arg} sums to 0; it cannot be normalised`, { arg });
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / total;
  return out;
}

/** Shannon entropy of pk (normalised first), in nats or bits. */
export function entropy(pk: ArrayLike<number>, options?: EntropyOptions): number {
  const op = 'entropy';
  const o = checkOptions(op, options) as EntropyOptions;
  const unit = checkUnit(op, o.unit);
  const p = checkDistribution(op, 'pk', pk);
  const s = new NeumaierSum();
  for (let i = 0; i < p.length; i++) {
    const x = p[i] as number;
    if (x > 0) s.add(-x * Math.log(x));
  }
  return s.value * unitScale(unit);
}

/** Relative entropy KL(pk ‖ qk) (both normalised first), in nats or bits. */
export function relativeEntropy(pk: ArrayLike<number>, qk: ArrayLike<number>, options?: EntropyOptions): number {
  const op = 'relativeEntropy';
  const o = checkOptions(op, options) as EntropyOptions;
  const unit = checkUnit(op, o.unit);
  const p = checkDistribution(op, 'pk', pk);
  const q = checkDistribution(op, 'qk', qk);
  if (q.length !== p.length) {
    throw new XentError('shape_mismatch', op, `qk has length ${q.length} but pk has ${p.length}`, {
      arg: 'qk',
      expected: p.length,
      actual: q.length,
    });
  }
  const s = new NeumaierSum();
  for (let i = 0; i < p.length; i++) {
    const x = p[i] as number;
    const y = q[i] as number;
    if (x === 0) continue;
    s.add(y > 0 ? x * Math.log(x / y) : Infinity);
  }
  return s.value * unitScale(unit);
}
