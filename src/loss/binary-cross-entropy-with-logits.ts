/**
 * binaryCrossEntropyWithLogits — torch.nn.functional.binary_cross_entropy_with_logits
 * (PyTorch 1.13) on logits of any shape, stable for any finite logit:
 *   l = w·[(1−y)·x + (1 + (pw−1)·y)·softplus(−x)],  softplus(−x) = max(−x, 0) + log1p(e^{−|x|})
 * which equals −w·[pw·y·log σ(x) + (1−y)·log(1−σ(x))] without ever forming σ(x).
 * (PyTorch writes log(e^{−m} + e^{−x−m}) + m, which rounds e.g. softplus(−40) = 4e−18
 * to 0; log1p keeps it — the results differ by less than 1e−15 absolute.)
 * Gradient (PyTorch's backward): dl/dx = w·[(pw·y + 1 − y)·σ(x) − pw·y].
 * 'mean' divides by the number of elements; `weight` and `posWeight` broadcast over the
 * last dimension (a number, a vector of the last dimension's length, or one per element).
 * Logits must be finite (±Infinity would give 0·∞); targets finite (soft targets in
 * [0, 1] are the usual case; PyTorch does not check the range and neither does xent).
 * Empty input: 0 elements → 'mean' NaN, 'sum' 0.
 */

import { checkOptions } from '../core/check-options.js';
import { NeumaierSum } from '../core/sum.js';
import type { FloatArray, Reduction, Unit } from '../core/tensor.js';
import { chooseKernel } from '../kernels/dispatch.js';
import { bceWithLogitsKernel } from '../kernels/elementwise.js';
import type { ImplementationOptions } from './backend.js';
import { checkImplementationOptions } from './backend.js';
import type { ElementwiseLossResult } from './binary-cross-entropy.js';
import type { TensorLike } from './validate.js';
import {
  allocLike,
  checkBoolean,
  checkBroadcastWeight,
  checkGradDestination,
  checkReduction,
  checkSameShape,
  checkTensor,
  checkTensorFinite,
  checkUnit,
  REDUCTIONS,
  unitScale,
} from './validate.js';

const OP = 'binaryCrossEntropyWithLogits';

export interface BinaryCrossEntropyWithLogitsOptions extends ImplementationOptions {
  reduction?: Reduction;
  /** A number, a vector over the last dimension, or one weight per element. */
  weight?: number | ArrayLike<number>;
  /** Weight of positive examples (PyTorch's pos_weight): a number or a vector over the last dimension. */
  posWeight?: number | ArrayLike<number>;
  unit?: Unit;
  grad?: boolean;
  out?: FloatArray;
  inPlace?: boolean;
}

/** σ(x) without overflow for any finite x. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Unchecked kernel. `w` / `pw` repeat with periods `wp` / `pwp` over the flat elements. */
export function binaryCrossEntropyWithLogitsUnchecked(
  x: FloatArray,
  y: FloatArray,
  w: Float64Array | null,
  wp: number,
  pw: Float64Array | null,
  pwp: number,
  reduction: Reduction,
  scale: number,
  lossOut: Float64Array | null,
  gradOut: FloatArray | null,
): number {
  const n = x.length;
  const sum = new NeumaierSum();
  for (let i = 0; i < n; i++) {
    const xi = x[i] as number;
    const yi = y[i] as number;
    const softplusNeg = Math.max(-xi, 0) + Math.log1p(Math.exp(-Math.abs(xi)));
    const logWeight = pw === null ? 1 : ((pw[i % pwp] as number) - 1) * yi + 1;
    let l = (1 - yi) * xi + logWeight * softplusNeg;
    if (w !== null) l *= w[i % wp] as number;
    sum.add(l);
    if (lossOut !== null) lossOut[i] = scale * l;
  }
  if (gradOut !== null) {
    const c = reduction === 'mean' ? scale / n : scale;
    for (let i = 0; i < n; i++) {
      const xi = x[i] as number;
      const yi = y[i] as number;
      const s = sigmoid(xi);
      let g: number;
      if (pw === null) g = s - yi;
      else {
        const t = (pw[i % pwp] as number) * yi;
        g = (t + 1 - yi) * s - t;
      }
      g *= c;
      if (w !== null) g *= w[i % wp] as number;
      gradOut[i] = g;
    }
  }
  return reduction === 'mean' ? (scale * sum.value) / n : scale * sum.value;
}

export function binaryCrossEntropyWithLogits<A extends FloatArray>(
  logits: { data: A; shape: readonly number[] } | A,
  target: TensorLike,
  options: BinaryCrossEntropyWithLogitsOptions & { reduction: 'none' },
): ElementwiseLossResult<Float64Array, A>;
export function binaryCrossEntropyWithLogits<A extends FloatArray>(
  logits: { data: A; shape: readonly number[] } | A,
  target: TensorLike,
  options?: BinaryCrossEntropyWithLogitsOptions & { reduction?: 'mean' | 'sum' },
): ElementwiseLossResult<number, A>;
export function binaryCrossEntropyWithLogits<A extends FloatArray>(
  logits: { data: A; shape: readonly number[] } | A,
  target: TensorLike,
  options?: BinaryCrossEntropyWithLogitsOptions,
): ElementwiseLossResult<number | Float64Array, A>;
export function binaryCrossEntropyWithLogits(
  logits: TensorLike,
  target: TensorLike,
  options?: BinaryCrossEntropyWithLogitsOptions,
): ElementwiseLossResult {
  const o = checkOptions(OP, options) as BinaryCrossEntropyWithLogitsOptions;
  const x = checkTensor(OP, 'logits', logits);
  const t = checkTensor(OP, 'target', target);
  checkSameShape(OP, 'target', t.shape, 'logits', x.shape);
  const impl = checkImplementationOptions(OP, o);
  const reduction = checkReduction(OP, o.reduction, REDUCTIONS, 'mean');
  const unit = checkUnit(OP, o.unit);
  const w = o.weight === undefined ? null : checkBroadcastWeight(OP, 'weight', o.weight, x.shape);
  const pw = o.posWeight === undefined ? null : checkBroadcastWeight(OP, 'posWeight', o.posWeight, x.shape);
  const wantGrad = checkBoolean(OP, 'grad', o.grad, false);
  const dest = checkGradDestination(OP, o.out, o.inPlace, x.data, 'logits');
  checkTensorFinite(OP, 'logits', x.data, x.shape, false);
  checkTensorFinite(OP, 'target', t.data, t.shape, false);
  const lossOut = reduction === 'none' ? new Float64Array(x.data.length) : null;
  const gradOut = dest ?? (wantGrad ? allocLike(x.data, x.data.length) : null);
  // WebAssembly kernels for large float32 input (src/kernels/dispatch.ts), else the JS reference kernel.
  const k = chooseKernel(
    OP,
    impl.backend,
    impl.threads,
    x.data.length,
    x.data instanceof Float32Array && t.data instanceof Float32Array,
  );
  const loss = (k.wasm ? bceWithLogitsKernel(k.threads) : binaryCrossEntropyWithLogitsUnchecked)(
    x.data,
    t.data,
    w?.values ?? null,
    w?.period ?? 1,
    pw?.values ?? null,
    pw?.period ?? 1,
    reduction,
    unitScale(unit),
    lossOut,
    gradOut,
  );
  const r: ElementwiseLossResult = { loss: lossOut ?? loss, unit };
  if (gradOut !== null) r.grad = gradOut;
  return r;
}
