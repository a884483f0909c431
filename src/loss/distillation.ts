/**
 * distillationLoss — knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the
 * Knowledge in a Neural Network"), written the way PyTorch code computes it:
 *   soft = T² · KL_batchmean( softmax(t/T) ‖ softmax(s/T) )
 *        = T²/N · Σ_i Σ_c p_ic·(log p_ic − log q_ic),  p = softmax(t/T), q = softmax(s/T)
 *   loss = soft                                   (no hard targets)
 *   loss = α·soft + (1−α)·CE(s, y)                 (with hard targets y; CE at T = 1, mean)
 * The T² factor keeps the soft gradients' magnitude independent of T (Hinton et al. §2).
 * Gradient w.r.t. the student logits s: α·T·(q − p)/N + (1−α)·∂CE/∂s.
 * Shapes: studentLogits, teacherLogits [N, V]; target Int32Array of N (optional).
 * Teacher logits may be −Infinity (p = 0 contributes 0, xlogy convention).
 * Empty input: N = 0 → NaN (batchmean of nothing); V = 0 → empty_input.
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { NeumaierSum } from '../core/sum.js';
import type { FloatArray, Matrix, Unit } from '../core/tensor.js';
import type { ImplementationOptions } from './backend.js';
import { checkImplementationOptions } from './backend.js';
import { crossEntropyUnchecked } from './cross-entropy-kernel.js';
import { rowMaxUnchecked, rowSumExpUnchecked } from './log-sum-exp.js';
import {
  allocLike,
  checkBoolean,
  checkClassMatrix,
  checkIndexTarget,
  checkInteger,
  checkLogits,
  checkNumberIn,
  checkReduction,
  checkUnit,
  unitScale,
} from './validate.js';

const OP = 'distillationLoss';

export interface DistillationOptions extends ImplementationOptions {
  /** Softmax temperature T > 0 (default 1). */
  temperature?: number;
  /** Weight of the soft (teacher) term in [0, 1]; required with `target`, not allowed without. */
  alpha?: number;
  /** Hard class-index targets for the (1−α)·CE term. */
  target?: Int32Array;
  /** ignoreIndex of the hard CE term (default −100). */
  ignoreIndex?: number;
  /** Multiply the soft term by T² (default true, as Hinton et al.). */
  t2Scaling?: boolean;
  /** Only 'batchmean' (the KL per example) is defined here. */
  reduction?: 'batchmean';
  unit?: Unit;
  grad?: boolean;
}

export interface DistillationResult<G extends FloatArray = FloatArray> {
  /** The total loss in `unit`s. */
  loss: number;
  /** The T²-scaled soft term (before α). */
  softLoss: number;
  /** The hard-label cross-entropy (before 1−α), when a target was given. */
  hardLoss?: number;
  /** d loss / d studentLogits, [N, V], the student's float type. */
  grad?: G;
  unit: Unit;
}

export function distillationLoss<A extends FloatArray>(
  studentLogits: Matrix<A>,
  teacherLogits: Matrix,
  options?: DistillationOptions,
): DistillationResult<A>;
export function distillationLoss(
  studentLogits: Matrix,
  teacherLogits: Matrix,
  options?: DistillationOptions,
): DistillationResult {
  const o = checkOptions(OP, options) as DistillationOptions;
  const [n, v] = checkClassMatrix(OP, 'studentLogits', studentLogits);
  const [tn, tv] = checkClassMatrix(OP, 'teacherLogits', teacherLogits);
  if (tn !== n || tv !== v) {
    throw new XentError(
      'shape_mismatch',
      OP,
      `teacherLogits.shape [${tn}, ${tv}] differs from studentLogits.shape [${n}, ${v}]`,
      {
        arg: 'teacherLogits',
        expected: [n, v],
        actual: [tn, tv],
      },
    );
  }
  const T = checkNumberIn(OP, 'temperature', o.temperature, 0, Infinity, 1);
  if (T === 0)
    throw new XentError('invalid_argument', OP, `temperature must be > 0, got 0`, { arg: 'temperature', value: 0 });
  checkImplementationOptions(OP, o);
  checkReduction(OP, o.reduction, ['batchmean'], 'batchmean');
  const unit = checkUnit(OP, o.unit);
  const t2 = checkBoolean(OP, 't2Scaling', o.t2Scaling, true);
  const wantGrad = checkBoolean(OP, 'grad', o.grad, false);
  const ignoreIndex = checkInteger(OP, 'ignoreIndex', o.ignoreIndex, -100);
  const hasTarget = o.target !== undefined;
  if (hasTarget && o.alpha === undefined) {
    throw new XentError('invalid_argument', OP, `alpha is required with target (loss = alpha·soft + (1 − alpha)·CE)`, {
      arg: 'alpha',
    });
  }
  if (!hasTarget && o.alpha !== undefined) {
    throw new XentError('invalid_argument', OP, `alpha = ${o.alpha} needs a target for the (1 − alpha)·CE term`, {
      arg: 'alpha',
      value: o.alpha,
    });
  }
  const alpha = hasTarget ? checkNumberIn(OP, 'alpha', o.alpha, 0, 1, 1) : 1;
  if (hasTarget) checkIndexTarget(OP, o.target, n, v, ignoreIndex);
  checkLogits(OP, 'studentLogits', studentLogits.data, v);
  checkLogits(OP, 'teacherLogits', teacherLogits.data, v);

  const scale = unitScale(unit);
  const s = studentLogits.data;
  const t = teacherLogits.data;
  const k = t2 ? T * T : 1;
  // Accumulate the gradient in float64; convert to the student's float type once at the end.
  const grad = wantGrad ? new Float64Array(n * v) : null;
  const sScaled = new Float64Array(v);
  const tScaled = new Float64Array(v);
  const total = new NeumaierSum();
  for (let i = 0; i < n; i++) {
    const off = i * v;
    for (let j = 0; j < v; j++) {
      sScaled[j] = (s[off + j] as number) / T;
      tScaled[j] = (t[off + j] as number) / T;
    }
    const ms = rowMaxUnchecked(sScaled, 0, v);
    const ls = Math.log(rowSumExpUnchecked(sScaled, 0, v, ms));
    const mt = rowMaxUnchecked(tScaled, 0, v);
    const lt = Math.log(rowSumExpUnchecked(tScaled, 0, v, mt));
    for (let j = 0; j < v; j++) {
      const lq = (sScaled[j] as number) - ms - ls;
      const lp = (tScaled[j] as number) - mt - lt;
      const p = Math.exp(lp);
      // xlogy(p, p) − p·log q, with 0·log 0 := 0 as torch.xlogy.
      total.add((p === 0 ? 0 : p * lp) - p * lq);
      if (grad !== null) grad[off + j] = ((alpha * k * scale) / (T * n)) * (Math.exp(lq) - p);
    }
  }
  const softLoss = (scale * k * total.value) / n;
  let loss = softLoss;
  let hardLoss: number | undefined;
  if (hasTarget) {
    const hardGrad = grad !== null ? new Float64Array(n * v) : null;
    hardLoss = crossEntropyUnchecked({
      logits: s,
      n,
      v,
      target: o.target as Int32Array,
      softTarget: null,
      weight: null,
      ignoreIndex,
      labelSmoothing: 0,
      zLoss: 0,
      reduction: 'mean',
      scale,
      gradOut: hardGrad,
      lossOut: null,
    });
    loss = alpha * softLoss + (1 - alpha) * hardLoss;
    if (grad !== null && hardGrad !== null) {
      for (let j = 0; j < n * v; j++) grad[j] = (grad[j] as number) + (1 - alpha) * (hardGrad[j] as number);
    }
  }
  const r: DistillationResult = { loss, softLoss, unit };
  if (hardLoss !== undefined) r.hardLoss = hardLoss;
  if (grad !== null) {
    if (s instanceof Float64Array) r.grad = grad;
    else {
      const g32 = allocLike(s, n * v);
      g32.set(grad);
      r.grad = g32;
    }
  }
  return r;
}
