/**
 * KL divergence for TensorFlow.js with PyTorch's semantics
 * (torch.nn.functional.kl_div): `input` holds log-probabilities log q (e.g.
 * tf.logSoftmax(studentLogits)), `target` probabilities p (or log p with
 * logTarget), any shape. Reductions: 'batchmean' (default; Σ / shape[0], the true
 * KL(p‖q) per example), 'mean' (Σ / number of elements: PyTorch's default, not a
 * KL), 'sum', 'none' (elementwise, the input's shape).
 *
 * Forward and gradient (−p·c w.r.t. input) come from xent's loss library
 * (src/loss/kl-divergence.ts) via dataSync, through tf.customGrad. The target is
 * a constant (PyTorch: detached); gradients flow to `input` only.
 */
import type * as tf from '@tensorflow/tfjs';
import type { KlDivergenceOptions } from '../loss/kl-divergence.js';
import { klDivergence as klDiv } from '../loss/kl-divergence.js';
import { asOp, gradientsWanted, readFloat, readOptions, readSameShape } from './tensors.js';

export type TfKlDivergenceOptions = Omit<KlDivergenceOptions, 'grad' | 'out' | 'inPlace'>;

/** KL(target ‖ exp(input)) with `input` = log-probabilities, `target` of the same shape. */
export function klDivergence(input: tf.Tensor, target: tf.Tensor, options: TfKlDivergenceOptions = {}): tf.Tensor {
  const op = 'klDivergence';
  const o = readOptions(op, options);
  const x = readFloat(op, 'input', input);
  const t = readSameShape(op, 'target', target, x.shape, o.logTarget ? 'log-probabilities' : 'probabilities');
  const r = klDiv(x, { data: t, shape: x.shape }, { ...o, grad: gradientsWanted() });
  return asOp(input, r.loss, x.shape, r.grad);
}
