/**
 * Adam and AdamW over a flat parameter vector, exactly torch.optim.Adam / AdamW
 * (PyTorch 1.13, amsgrad = false):
 *   t += 1
 *   Adam:  g ← g + λ·θ                 AdamW:  θ ← θ·(1 − lr·λ)
 *   m ← β1·m + (1 − β1)·g              v ← β2·v + (1 − β2)·g²
 *   θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 * The state (m, v, t) is what a checkpoint stores so a resumed run continues the
 * same trajectory.
 */
import { XentError } from '../core/errors.js';
import type { Floats } from '../core/matmul.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Decoupled weight decay (AdamW) instead of L2 added to the gradient (Adam). */
  decoupled?: boolean;
}

export interface AdamState {
  m: Float32Array;
  v: Float32Array;
  /** Steps taken. */
  t: number;
}

export function createAdamState(n: number): AdamState {
  return { m: new Float32Array(n), v: new Float32Array(n), t: 0 };
}

export function checkAdamOptions(op: string, o: AdamOptions): Required<AdamOptions> {
  const r = {
    lr: o.lr,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.999,
    eps: o.eps ?? 1e-8,
    weightDecay: o.weightDecay ?? 0,
    decoupled: o.decoupled ?? false,
  };
  if (!(r.lr > 0) || !Number.isFinite(r.lr))
    throw new XentError('invalid_argument', op, `lr must be a positive number, got ${o.lr}`, {
      arg: 'lr',
      value: o.lr,
    });
  for (const k of ['beta1', 'beta2'] as const) {
    if (!(r[k] >= 0 && r[k] < 1))
      throw new XentError('invalid_argument', op, `${k} must be in [0, 1), got ${r[k]}`, { arg: k, value: r[k] });
  }
  if (!(r.eps > 0))
    throw new XentError('invalid_argument', op, `eps must be positive, got ${r.eps}`, { arg: 'eps', value: r.eps });
  if (!(r.weightDecay >= 0))
    throw new XentError('invalid_argument', op, `weightDecay must be ≥ 0, got ${r.weightDecay}`, {
      arg: 'weightDecay',
      value: r.weightDecay,
    });
  return r;
}

/** One Adam(W) step in place on `params` (gradients are read, not modified). */
export function adamStep(params: Floats, grads: Floats, state: AdamState, options: AdamOptions): void {
  const o = checkAdamOptions('adamStep', options);
  if (grads.length !== params.length || state.m.length !== params.length || state.v.length !== params.length) {
    throw new XentError(
      'shape_mismatch',
      'adamStep',
      `params (${params.length}), grads (${grads.length}) and state (${state.m.length}, ${state.v.length}) must have the same length`,
      {
        expected: params.length,
      },
    );
  }
  state.t += 1;
  const { lr, beta1, beta2, eps, weightDecay, decoupled } = o;
  const stepSize = lr / (1 - beta1 ** state.t);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** state.t);
  const { m, v } = state;
  const decay = decoupled ? 1 - lr * weightDecay : 1;
  const l2 = decoupled ? 0 : weightDecay;
  for (let i = 0; i < params.length; i++) {
    let th = params[i]! * decay;
    const g = grads[i]! + l2 * th;
    const mi = beta1 * m[i]! + (1 - beta1) * g;
    const vi = beta2 * v[i]! + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    th -= (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
    params[i] = th;
  }
}
