/**
 * binaryCrossEntropy — torch.nn.functional.binary_cross_entropy (PyTorch 1.13) on
 * probabilities of any shape:
 *   l = −w·[y·max(log p, −100) + (1−y)·max(log(1−p), −100)]
 * (the −100 clamp is PyTorch's: p = 0 with y = 1 costs 100 nats, not Infinity).
 * 'mean' divides by the number of elements (weights never normalise), 'sum' sums,
 * 'none' returns every element's loss (row-major, the input's shape).
 * Gradient (PyTorch's backward, including its clamp): dl/dp = w·(p − y) / max(p·(1−p), ε),
 * ε = float32(1e-12) = 9.99999996e-13, so p = 0, y = 1 gives −1e12 rather than −Infinity.
 * `weight` broadcasts: a number, a vector over the last dimension, or one per element.
 * probs and target must lie in [0, 1] (PyTorch checks the same).
 * Empty input: 0 elements → 'mean' NaN, 'sum' 0.
 */

import { checkOptions } from '../core/check-options.js';
import { NeumaierSum } from '../core/sum.js';
import type { FloatArray, Reduction, Unit } from '../core/tensor.js';
import type { ImplementationOptions } from './backend.js';
import { checkImplementationOptions } from './backend.js';
import type { TensorLike } from './validate.js';
import {
  allocLike,
  checkAllInRange,
  checkBoolean,
  checkBroadcastWeight,
  checkGradDestination,
  checkReduction,
  checkSameShape,
  checkTensor,
  checkUnit,
  REDUCTIONS,
  unitScale,
} from './validate.js';

const OP = 'binaryCrossEntropy';
/** PyTorch's clamp on p·(1−p) in the backward: the float literal 1e-12f widened to double. */
export const BCE_GRAD_EPSILON = Math.fround(1e-12);

export interface BinaryCrossEntropyOptions extends ImplementationOptions {
  reduction?: Reduction;
  /** A number, a vector over the last dimension, or one weight per element. */
  weight?: number | ArrayLike<number>;
  unit?: Unit;
  grad?: boolean;
  out?: FloatArray;
  inPlace?: boolean;
}

export interface ElementwiseLossResult<
  L extends number | Float64Array = number | Float64Array,
  G extends FloatArray = FloatArray,
> {
  /** A number, or (reduction 'none') one loss per element in row-major order. */
  loss: L;
  /** d loss / d input, the input's shape and float type. */
  grad?: G;
  unit: Unit;
}

/** Unchecked kernel. `w` repeats with period `wp` over the flat elements. */
export function binaryCrossEntropyUnchecked(
  p: FloatArray,
  y: FloatArray,
  w: Float64Array | null,
  wp: number,
  reduction: Reduction,
  scale: number,
  lossOut: Float64Array | null,
  gradOut: FloatArray | null,
): number {
  const n = p.length;
  const sum = new NeumaierSum();
  for (let i = 0; i < n; i++) {
    const pi = p[i] as number;
    const yi = y[i] as number;
    let l = (yi - 1) * Math.max(Math.log1p(-pi), -100) - yi * Math.max(Math.log(pi), -100);
    if (w !== null) l *= w[i % wp] as number;
    sum.add(l);
    if (lossOut !== null) lossOut[i] = scale * l;
  }
  if (gradOut !== null) {
    const c = reduction === 'mean' ? scale / n : scale;
    for (let i = 0; i < n; i++) {
      const pi = p[i] as number;
      const yi = y[i] as number;
      let g = ((pi - yi) / Math.max((1 - pi) * pi, BCE_GRAD_EPSILON)) * c;
      if (w !== null) g *= w[i % wp] as number;
      gradOut[i] = g;
    }
  }
  return reduction === 'mean' ? (scale * sum.value) / n : scale * sum.value;
}

export function binaryCrossEntropy<A extends FloatArray>(
  probs: { data: A; shape: readonly number[] } | A,
  target: TensorLike,
  options: BinaryCrossEntropyOptions & { reduction: 'none' },
): ElementwiseLossResult<Float64Array, A>;
export function binaryCrossEntropy<A extends FloatArray>(
  probs: { data: A; shape: readonly number[] } | A,
  target: TensorLike,
  options?: BinaryCrossEntropyOptions & { reduction?: 'mean' | 'sum' },
): ElementwiseLossResult<number, A>;
export function binaryCrossEntropy<A extends FloatArray>(
  probs: { data: A; shape: readonly number[] } | A,
  target: TensorLike,
  options?: BinaryCrossEntropyOptions,
): ElementwiseLossResult<number | Float64Array, A>;
export function binaryCrossEntropy(
  probs: TensorLike,
  target: TensorLike,
  options?: BinaryCrossEntropyOptions,
): ElementwiseLossResult {
  const o = checkOptions(OP, options) as BinaryCrossEntropyOptions;
  const p = checkTensor(OP, 'probs', probs);
  const t = checkTensor(OP, 'target', target);
  checkSameShape(OP, 'target', t.shape, 'probs', p.shape);
  checkImplementationOptions(OP, o);
  const reduction = checkReduction(OP, o.reduction, REDUCTIONS, 'mean');
  const unit = checkUnit(OP, o.unit);
  const w = o.weight === undefined ? null : checkBroadcastWeight(OP, 'weight', o.weight, p.shape);
  const wantGrad = checkBoolean(OP, 'grad', o.grad, false);
  const dest = checkGradDestination(OP, o.out, o.inPlace, p.data, 'probs');
  checkAllInRange(OP, 'probs', p.data, p.shape, 0, 1);
  checkAllInRange(OP, 'target', t.data, t.shape, 0, 1);
  const lossOut = reduction === 'none' ? new Float64Array(p.data.length) : null;
  const gradOut = dest ?? (wantGrad ? allocLike(p.data, p.data.length) : null);
  // inPlace: the forward loop reads every p before the gradient loop overwrites them.
  const loss = binaryCrossEntropyUnchecked(
    p.data,
    t.data,
    w?.values ?? null,
    w?.period ?? 1,
    reduction,
    unitScale(unit),
    lossOut,
    gradOut,
  );
  const r: ElementwiseLossResult = { loss: lossOut ?? loss, unit };
  if (gradOut !== null) r.grad = gradOut;
  return r;
}
