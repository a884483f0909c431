/**
 * nllLoss — torch.nn.functional.nll_loss for [N, V] log-probabilities and class-index
 * targets: L_i = −w_{y_i}·logProbs[i, y_i]; 'mean' divides Σ L_i by Σ_{kept i} w_{y_i}
 * (the number of kept rows without weights), so all-ignored → NaN; 'sum' → Σ L_i;
 * 'none' → L_i (0 for ignored rows). Gradient w.r.t. logProbs: −c·w_y at [i, y_i], 0 elsewhere.
 * `crossEntropy(x, y)` equals `nllLoss(logSoftmax(x), y)`.
 * Empty input: N = 0 → 'mean' NaN, 'sum' 0; V = 0 → empty_input.
 */

import { checkOptions } from '../core/check-options.js';
import { NeumaierSum } from '../core/sum.js';
import type { FloatArray, Matrix, Reduction, Unit } from '../core/tensor.js';
import type { ImplementationOptions } from './backend.js';
import { checkImplementationOptions } from './backend.js';
import {
  allocLike,
  checkBoolean,
  checkClassMatrix,
  checkGradDestination,
  checkIndexTarget,
  checkInteger,
  checkLogits,
  checkReduction,
  checkUnit,
  checkVector,
  REDUCTIONS,
  unitScale,
} from './validate.js';

const OP = 'nllLoss';

export interface NllLossOptions extends ImplementationOptions {
  reduction?: Reduction;
  ignoreIndex?: number;
  weight?: ArrayLike<number>;
  unit?: Unit;
  grad?: boolean;
  out?: FloatArray;
  inPlace?: boolean;
}

export interface NllLossResult<
  L extends number | Float64Array = number | Float64Array,
  G extends FloatArray = FloatArray,
> {
  loss: L;
  /** d loss / d logProbs, [N, V]. */
  grad?: G;
  unit: Unit;
}

/** Unchecked kernel: returns the reduced loss; fills lossOut (for 'none') and gradOut when given. */
export function nllLossUnchecked(
  lp: FloatArray,
  n: number,
  v: number,
  target: Int32Array,
  weight: Float64Array | null,
  ignoreIndex: number,
  reduction: Reduction,
  scale: number,
  lossOut: Float64Array | null,
  gradOut: FloatArray | null,
): number {
  const sum = new NeumaierSum();
  const den = new NeumaierSum();
  for (let i = 0; i < n; i++) {
    const y = target[i] as number;
    if (y === ignoreIndex) {
      if (lossOut !== null) lossOut[i] = 0;
      continue;
    }
    const w = weight === null ? 1 : (weight[y] as number);
    const li = -w * (lp[i * v + y] as number);
    sum.add(li);
    den.add(w);
    if (lossOut !== null) lossOut[i] = scale * li;
  }
  const d = den.value;
  const c = reduction === 'mean' ? scale / d : scale;
  if (gradOut !== null) {
    for (let i = 0; i < n; i++) {
      const off = i * v;
      for (let j = off; j < off + v; j++) gradOut[j] = 0;
      const y = target[i] as number;
      if (y !== ignoreIndex) gradOut[off + y] = -c * (weight === null ? 1 : (weight[y] as number));
    }
  }
  if (reduction === 'none') return scale * sum.value;
  return reduction === 'mean' ? (scale * sum.value) / d : scale * sum.value;
}

export function nllLoss<A extends FloatArray>(
  logProbs: Matrix<A>,
  target: Int32Array,
  options: NllLossOptions & { reduction: 'none' },
): NllLossResult<Float64Array, A>;
export function nllLoss<A extends FloatArray>(
  logProbs: Matrix<A>,
  target: Int32Array,
  options?: NllLossOptions & { reduction?: 'mean' | 'sum' },
): NllLossResult<number, A>;
export function nllLoss<A extends FloatArray>(
  logProbs: Matrix<A>,
  target: Int32Array,
  options?: NllLossOptions,
): NllLossResult<number | Float64Array, A>;
export function nllLoss(logProbs: Matrix, target: Int32Array, options?: NllLossOptions): NllLossResult {
  const o = checkOptions(OP, options) as NllLossOptions;
  const [n, v] = checkClassMatrix(OP, 'logProbs', logProbs);
  checkImplementationOptions(OP, o);
  const reduction = checkReduction(OP, o.reduction, REDUCTIONS, 'mean');
  const unit = checkUnit(OP, o.unit);
  const ignoreIndex = checkInteger(OP, 'ignoreIndex', o.ignoreIndex, -100);
  const weight =
    o.weight === undefined ? null : checkVector(OP, 'weight', o.weight, v, `logProbs have V = ${v} classes`);
  const wantGrad = checkBoolean(OP, 'grad', o.grad, false);
  const dest = checkGradDestination(OP, o.out, o.inPlace, logProbs.data, 'logProbs');
  checkIndexTarget(OP, target, n, v, ignoreIndex);
  checkLogits(OP, 'logProbs', logProbs.data, v);
  const lossOut = reduction === 'none' ? new Float64Array(n) : null;
  const gradOut = dest ?? (wantGrad ? allocLike(logProbs.data, n * v) : null);
  // With inPlace the forward must read logProbs before the gradient overwrites them:
  // the kernel finishes the loss loop before it writes any gradient.
  const loss = nllLossUnchecked(
    logProbs.data,
    n,
    v,
    target,
    weight,
    ignoreIndex,
    reduction,
    unitScale(unit),
    lossOut,
    gradOut,
  );
  const r: NllLossResult = { loss: lossOut ?? loss, unit };
  if (gradOut !== null) r.grad = gradOut;
  return r;
}
