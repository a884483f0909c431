/**
 * Adapting xent's tfjs ops to `model.compile({ loss })`. tfjs-layers calls a loss
 * function as fn(yTrue, yPred) and averages what it returns; xent's ops take
 * (prediction, target, options) like PyTorch. `layersLoss(op, options)` swaps the
 * arguments and fixes the options:
 *
 *   model.compile({ optimizer: 'adam', loss: layersLoss(sparseSoftmaxCrossEntropy, { ignoreIndex: 0 }) });
 *
 * yPred must be logits (no softmax/sigmoid activation on the last layer).
 * Note: `model.fit` insists that y has the output's shape for any custom loss, so
 * class-index targets ([B, T] against [B, T, V] logits) need `model.fitDataset`
 * or a custom loop (optimizer.minimize); one-hot targets work with `model.fit`.
 */
import type * as tf from '@tensorflow/tfjs';

/** The loss function type tfjs-layers' compile accepts. */
export type LayersLossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

/** Wraps an xent/tfjs op (prediction first) as a tfjs-layers loss function (yTrue first). */
export function layersLoss<O>(
  op: (prediction: tf.Tensor, target: tf.Tensor, options?: O) => tf.Tensor,
  options?: O,
): LayersLossFn {
  return (yTrue, yPred) => op(yPred, yTrue, options);
}
