/**
 * xent/tfjs — PyTorch-exact cross-entropy for TensorFlow.js models.
 * TensorFlow.js (`@tensorflow/tfjs` ≥ 4) is an optional peer dependency: only this
 * subpath imports it; `import … from 'xent'` never does.
 *
 * Every op takes the prediction first (logits; log-probabilities for
 * klDivergence) and the target second, like PyTorch, and is differentiable with
 * respect to the prediction (tf.grad, optimizer.minimize, model.fit). Use
 * `layersLoss(op, options)` for `model.compile({ loss })`.
 */

export type { TfBinaryCrossEntropyOptions } from './binary-cross-entropy.js';
export { binaryCrossEntropyWithLogits } from './binary-cross-entropy.js';
export type { TfCrossEntropyOptions } from './cross-entropy.js';
export { softmaxCrossEntropy, sparseSoftmaxCrossEntropy } from './cross-entropy.js';
export type { TfDistillationOptions } from './distillation.js';
export { distillationLoss } from './distillation.js';
export type { TfKlDivergenceOptions } from './kl-divergence.js';
export { klDivergence } from './kl-divergence.js';
export type { LayersLossFn } from './layers-loss.js';
export { layersLoss } from './layers-loss.js';
