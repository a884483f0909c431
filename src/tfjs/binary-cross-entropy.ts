/**
 * Binary cross-entropy from logits for TensorFlow.js, with PyTorch's semantics
 * (torch.nn.functional.binary_cross_entropy_with_logits): elementwise over logits
 * of any shape, targets of the same shape (0/1 or soft, in [0, 1]), `weight`
 * and `posWeight` broadcast over the last axis (a number, a vector of the last
 * axis's length, or one per element), reduction 'mean' over all elements.
 *
 * Forward and gradient come from xent's loss library (src/loss/binary-cross-
 * entropy-with-logits.ts: softplus form, stable for any finite logit) via
 * dataSync, handed back through tf.customGrad. tfjs's sigmoidCrossEntropy has no
 * posWeight and a different default reduction; this op matches PyTorch.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BinaryCrossEntropyWithLogitsOptions } from '../loss/binary-cross-entropy-with-logits.js';
import { binaryCrossEntropyWithLogits as bceWithLogits } from '../loss/binary-cross-entropy-with-logits.js';
import { asOp, gradientsWanted, readFloat, readOptions, readSameShape, weightValues } from './tensors.js';

export interface TfBinaryCrossEntropyOptions
  extends Omit<BinaryCrossEntropyWithLogitsOptions, 'grad' | 'out' | 'inPlace' | 'weight' | 'posWeight'> {
  /** Per-element weight: a number, a vector over the last axis, one per element, or a tensor of those. */
  weight?: number | ArrayLike<number> | tf.Tensor;
  /** Weight of positive examples (PyTorch's pos_weight): a number, a vector over the last axis, or a tensor. */
  posWeight?: number | ArrayLike<number> | tf.Tensor;
}

/** Binary cross-entropy of `logits` (any shape) against `targets` of the same shape. */
export function binaryCrossEntropyWithLogits(
  logits: tf.Tensor,
  targets: tf.Tensor,
  options: TfBinaryCrossEntropyOptions = {},
): tf.Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const x = readFloat(op, 'logits', logits);
  const t = readSameShape(op, 'targets', targets, x.shape, '0/1 or soft labels');
  const { weight, posWeight, ...rest } = readOptions(op, options);
  const libOptions: BinaryCrossEntropyWithLogitsOptions = { ...rest, grad: gradientsWanted() };
  if (weight !== undefined) libOptions.weight = weightValues(weight);
  if (posWeight !== undefined) libOptions.posWeight = weightValues(posWeight);
  const r = bceWithLogits(x, { data: t, shape: x.shape }, libOptions);
  return asOp(logits, r.loss, x.shape, r.grad);
}
