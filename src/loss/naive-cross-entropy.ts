/**
 * naiveCrossEntropy — THE WRONG WAY, kept for demonstrations and tests only.
 *
 * Many tutorials compute cross-entropy as −log(softmax(x)[y] + ε) with ε = 1e−10. It
 * agrees with the real cross-entropy (≈1e−6 nats off or better) on ordinary rows, but
 * once the true class's probability underflows below ε the ε dominates: for logits
 * [0, 1000, 0, 0, 0] and target 0 it returns −log(1e−10) = 23.03 nats while the true
 * loss is 1000 nats (softmax(x)[0] = e^{−1000} underflows to 0 in float64). The ε
 * silently caps every loss at 23.03 nats and kills the gradient of confident mistakes.
 * Use `crossEntropy` (log-sum-exp form: −x_y + m + log Σ exp(x − m)) instead.
 *
 * Here: softmax in float64 with the max shift (as torch.softmax), then −log(p_y + eps),
 * reduced by mean (default), sum or none. No gradient on purpose.
 */

import { checkOptions } from '../core/check-options.js';
import { NeumaierSum } from '../core/sum.js';
import type { Matrix, Reduction } from '../core/tensor.js';
import { rowMaxUnchecked } from './log-sum-exp.js';
import {
  checkClassMatrix,
  checkIndexTarget,
  checkLogits,
  checkNumberIn,
  checkReduction,
  REDUCTIONS,
} from './validate.js';

const OP = 'naiveCrossEntropy';

export interface NaiveCrossEntropyOptions {
  /** The ε added inside the log (default 1e−10, the usual tutorial value). */
  eps?: number;
  reduction?: Reduction;
}

export interface NaiveCrossEntropyResult<L extends number | Float64Array = number | Float64Array> {
  /** In nats: a number, or per-row values for reduction 'none'. */
  loss: L;
  unit: 'nat';
}

/** −log(softmax(logits)[target] + eps) in nats — deliberately NOT stable; see the file comment. */
export function naiveCrossEntropy(
  logits: Matrix,
  target: Int32Array,
  options: NaiveCrossEntropyOptions & { reduction: 'none' },
): NaiveCrossEntropyResult<Float64Array>;
export function naiveCrossEntropy(
  logits: Matrix,
  target: Int32Array,
  options?: NaiveCrossEntropyOptions & { reduction?: 'mean' | 'sum' },
): NaiveCrossEntropyResult<number>;
export function naiveCrossEntropy(
  logits: Matrix,
  target: Int32Array,
  options?: NaiveCrossEntropyOptions,
): NaiveCrossEntropyResult;
export function naiveCrossEntropy(
  logits: Matrix,
  target: Int32Array,
  options?: NaiveCrossEntropyOptions,
): NaiveCrossEntropyResult {
  const o = checkOptions(OP, options) as NaiveCrossEntropyOptions;
  const [n, v] = checkClassMatrix(OP, 'logits', logits);
  const eps = checkNumberIn(OP, 'eps', o.eps, 0, Infinity, 1e-10);
  const reduction = checkReduction(OP, o.reduction, REDUCTIONS, 'mean');
  checkIndexTarget(OP, target, n, v, null);
  checkLogits(OP, 'logits', logits.data, v);
  const x = logits.data;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const off = i * v;
    const m = rowMaxUnchecked(x, off, v);
    let s = 0;
    for (let j = off; j < off + v; j++) s += Math.exp((x[j] as number) - m);
    const p = Math.exp((x[off + (target[i] as number)] as number) - m) / s;
    out[i] = -Math.log(p + eps);
  }
  if (reduction === 'none') return { loss: out, unit: 'nat' };
  const s = new NeumaierSum();
  for (let i = 0; i < n; i++) s.add(out[i] as number);
  return { loss: reduction === 'mean' ? s.value / n : s.value, unit: 'nat' };
}
