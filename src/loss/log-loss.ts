/**
 * logLoss — scikit-learn 1.2's `sklearn.metrics.log_loss` for class-index labels and a
 * matrix of predicted probabilities [N, V] (column c is class c; sklearn's
 * `labels=range(V)`):
 *   p ← clip(p, eps, 1 − eps);  p ← p / Σ_c p  (row renormalisation, after clipping);
 *   l_i = −log p[i, y_i];  result = Σ w_i l_i / Σ w_i  (normalize, default) or Σ w_i l_i.
 * eps 'auto' is the machine epsilon of the input's float type (2^−52 for Float64Array,
 * 2^−23 for Float32Array), as sklearn's np.finfo(y_pred.dtype).eps.
 * Result in nats (or bits with unit 'bit'). N = 0 is an empty_input error (sklearn refuses it too).
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { NeumaierSum } from '../core/sum.js';
import type { Matrix, Unit } from '../core/tensor.js';
import {
  checkAllFinite,
  checkBoolean,
  checkClassMatrix,
  checkIndexTarget,
  checkNumberIn,
  checkUnit,
  checkVector,
  unitScale,
} from './validate.js';

const OP = 'logLoss';

export interface LogLossOptions {
  /** One weight per sample (sklearn's sample_weight). */
  sampleWeight?: ArrayLike<number>;
  /** Clipping epsilon: 'auto' (default) or a number in [0, 0.5). */
  eps?: 'auto' | number;
  /** Weighted mean (default true) or weighted sum. */
  normalize?: boolean;
  unit?: Unit;
}

export function logLoss(yTrue: Int32Array, yPred: Matrix, options?: LogLossOptions): number {
  const o = checkOptions(OP, options) as LogLossOptions;
  const [n, v] = checkClassMatrix(OP, 'yPred', yPred);
  if (n === 0)
    throw new XentError('empty_input', OP, `yPred has no rows; log loss needs at least one sample`, { arg: 'yPred' });
  checkIndexTarget(OP, yTrue, n, v, null, 'yTrue');
  checkAllFinite(OP, 'yPred', yPred.data, v);
  const eps =
    o.eps === undefined || o.eps === 'auto'
      ? yPred.data instanceof Float32Array
        ? 2 ** -23
        : 2 ** -52
      : checkNumberIn(OP, 'eps', o.eps, 0, 0.5, 0);
  const w =
    o.sampleWeight === undefined ? null : checkVector(OP, 'sampleWeight', o.sampleWeight, n, `yPred has N = ${n} rows`);
  const normalize = checkBoolean(OP, 'normalize', o.normalize, true);
  const unit = checkUnit(OP, o.unit);
  const p = yPred.data;
  const num = new NeumaierSum();
  const den = new NeumaierSum();
  for (let i = 0; i < n; i++) {
    const off = i * v;
    let rowSum = 0;
    for (let j = off; j < off + v; j++) rowSum += Math.min(Math.max(p[j] as number, eps), 1 - eps);
    const py = Math.min(Math.max(p[off + (yTrue[i] as number)] as number, eps), 1 - eps) / rowSum;
    const wi = w === null ? 1 : (w[i] as number);
    num.add(-Math.log(py) * wi);
    den.add(wi);
  }
  const total = normalize ? num.value / den.value : num.value;
  return total * unitScale(unit);
}
