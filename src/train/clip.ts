/**
 * Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_ (1.13):
 *   norm = ‖g‖₂ over all parameters; coef = min(1, maxNorm / (norm + 1e-6)); g ← g·coef.
 * Returns the norm before clipping (NaN/Infinity are returned, not hidden, so the
 * training loop can stop on them).
 */
import { XentError } from '../core/errors.js';
import type { Floats } from '../core/matmul.js';

export function gradNorm(grads: Floats): number {
  let s = 0;
  for (let i = 0; i < grads.length; i++) s += grads[i]! * grads[i]!;
  return Math.sqrt(s);
}

export function clipGradNorm(grads: Floats, maxNorm: number): number {
  if (!(maxNorm > 0))
    throw new XentError('invalid_argument', 'clipGradNorm', `maxNorm must be positive, got ${maxNorm}`, {
      arg: 'maxNorm',
      value: maxNorm,
    });
  const norm = gradNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! * coef;
  return norm;
}
