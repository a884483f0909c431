/**
 * klDivergence — torch.nn.functional.kl_div (PyTorch 1.13). `input` holds
 * log-probabilities log q (any shape); `target` holds probabilities p (or log p with
 * logTarget). Pointwise:
 *   logTarget false: l = xlogy(p, p) − p·log q    (0·log 0 := 0, so p = 0 costs nothing)
 *   logTarget true:  l = e^{log p}·(log p − log q)
 * Reductions: 'batchmean' (default here) = Σ l / shape[0] — the true KL(p‖q) per row;
 * 'mean' = Σ l / numel (PyTorch's default, which it warns about: not a KL); 'sum'; 'none'.
 * NOTE: PyTorch's default reduction is 'mean'; xent defaults to 'batchmean' because
 * that is the divergence. Pass reduction: 'mean' to reproduce a bare F.kl_div call.
 * Gradient w.r.t. input: −p·c (c = 1/shape[0], 1/numel or 1), as PyTorch's backward.
 * Empty input: 0 elements → 'batchmean'/'mean' NaN, 'sum' 0.
 */

import { checkOptions } from '../core/check-options.js';
import { NeumaierSum } from '../core/sum.js';
import type { FloatArray, Unit } from '../core/tensor.js';
import { chooseKernel } from '../kernels/dispatch.js';
import { klDivergenceKernel } from '../kernels/elementwise.js';
import type { ImplementationOptions } from './backend.js';
import { checkImplementationOptions } from './backend.js';
import type { ElementwiseLossResult } from './binary-cross-entropy.js';
import type { TensorLike } from './validate.js';
import {
  allocLike,
  checkBoolean,
  checkGradDestination,
  checkReduction,
  checkSameShape,
  checkTensor,
  checkTensorFinite,
  checkUnit,
  unitScale,
} from './validate.js';

const OP = 'klDivergence';

export type KlReduction = 'batchmean' | 'mean' | 'sum' | 'none';

export interface KlDivergenceOptions extends ImplementationOptions {
  /** 'batchmean' (default), 'mean', 'sum' or 'none'. */
  reduction?: KlReduction;
  /** target holds log-probabilities (default false: probabilities). */
  logTarget?: boolean;
  unit?: Unit;
  grad?: boolean;
  out?: FloatArray;
  inPlace?: boolean;
}

/** Unchecked kernel; `batch` is shape[0] (the 'batchmean' divisor). */
export function klDivergenceUnchecked(
  input: FloatArray,
  target: FloatArray,
  logTarget: boolean,
  reduction: KlReduction,
  batch: number,
  scale: number,
  lossOut: Float64Array | null,
  gradOut: FloatArray | null,
): number {
  const n = input.length;
  const sum = new NeumaierSum();
  for (let i = 0; i < n; i++) {
    const q = input[i] as number;
    const t = target[i] as number;
    let l: number;
    if (logTarget) l = Math.exp(t) * (t - q);
    else l = (t === 0 ? 0 : t * Math.log(t)) - t * q;
    sum.add(l);
    if (lossOut !== null) lossOut[i] = scale * l;
  }
  const div = reduction === 'batchmean' ? batch : reduction === 'mean' ? n : 1;
  if (gradOut !== null) {
    const c = scale / div;
    for (let i = 0; i < n; i++) {
      const t = target[i] as number;
      gradOut[i] = -(logTarget ? Math.exp(t) : t) * c;
    }
  }
  return (scale * sum.value) / div;
}

export function klDivergence<A extends FloatArray>(
  input: { data: A; shape: readonly number[] } | A,
  target: TensorLike,
  options: KlDivergenceOptions & { reduction: 'none' },
): ElementwiseLossResult<Float64Array, A>;
export function klDivergence<A extends FloatArray>(
  input: { data: A; shape: readonly number[] } | A,
  target: TensorLike,
  options?: KlDivergenceOptions & { reduction?: 'batchmean' | 'mean' | 'sum' },
): ElementwiseLossResult<number, A>;
export function klDivergence<A extends FloatArray>(
  input: { data: A; shape: readonly number[] } | A,
  target: TensorLike,
  options?: KlDivergenceOptions,
): ElementwiseLossResult<number | Float64Array, A>;
export function klDivergence(
  input: TensorLike,
  target: TensorLike,
  options?: KlDivergenceOptions,
): ElementwiseLossResult {
  const o = checkOptions(OP, options) as KlDivergenceOptions;
  const x = checkTensor(OP, 'input', input);
  const t = checkTensor(OP, 'target', target);
  checkSameShape(OP, 'target', t.shape, 'input', x.shape);
  const impl = checkImplementationOptions(OP, o);
  const reduction = checkReduction<KlReduction>(OP, o.reduction, ['batchmean', 'mean', 'sum', 'none'], 'batchmean');
  const logTarget = checkBoolean(OP, 'logTarget', o.logTarget, false);
  const unit = checkUnit(OP, o.unit);
  const wantGrad = checkBoolean(OP, 'grad', o.grad, false);
  const dest = checkGradDestination(OP, o.out, o.inPlace, x.data, 'input');
  // log-probabilities may be −Infinity (probability 0), never NaN or +Infinity.
  checkTensorFinite(OP, 'input', x.data, x.shape, true);
  checkTensorFinite(OP, 'target', t.data, t.shape, logTarget);
  const batch = x.shape.length === 0 ? 1 : (x.shape[0] as number);
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
  const loss = (k.wasm ? klDivergenceKernel(k.threads) : klDivergenceUnchecked)(
    x.data,
    t.data,
    logTarget,
    reduction,
    batch,
    unitScale(unit),
    lossOut,
    gradOut,
  );
  const r: ElementwiseLossResult = { loss: lossOut ?? loss, unit };
  if (gradOut !== null) r.grad = gradOut;
  return r;
}
