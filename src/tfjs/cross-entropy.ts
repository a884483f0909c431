/**
 * Softmax cross-entropy from logits for TensorFlow.js, with PyTorch's semantics
 * (torch.nn.functional.cross_entropy): class-index ("sparse") targets or
 * probability ("dense") targets, reduction, ignoreIndex, labelSmoothing, class
 * weight, PaLM's zLoss and the unit (nats or bits).
 *
 * Shapes: logits [N, V] or [B, T, V] (leading axes flattened to N rows); class
 * indices [N] / [B, T] (or with a trailing 1); probabilities like the logits.
 * Result: a scalar, or for reduction 'none' the per-row losses in the leading
 * shape ([N] / [B, T]).
 *
 * Forward and gradient come from xent's loss library (src/loss/cross-entropy.ts)
 * in one pass: the logits are read with dataSync, the loss and d loss/d logits
 * computed together (the library's WebAssembly kernels where available, else its
 * float64 JS path; `backend`/`threads` pass through), and the gradient handed back
 * through tf.customGrad, multiplied by the upstream dy. Why not a tfjs
 * expression: the library has PyTorch's exact semantics (weight normalisation,
 * smoothing with weights and ignored rows, −Infinity logits) that tfjs has no ops
 * for, and on the CPU backend it is far faster than tfjs's own ops, which
 * allocate several N×V intermediates and broadcast slowly: forward+backward at
 * 512×1000, 7.9 ms against 364 ms for tf.losses.softmaxCrossEntropy (bench/tfjs.ts).
 * On WebGL/WebGPU, dataSync is a synchronous download of the logits and the
 * gradient an upload: the price of exactness there.
 */
import type * as tf from '@tensorflow/tfjs';
import type { CrossEntropyOptions } from '../loss/cross-entropy.js';
import { crossEntropy } from '../loss/cross-entropy.js';
import {
  asOp,
  gradientsWanted,
  readClassIndices,
  readOptions,
  readRows,
  readSameShape,
  readVector,
} from './tensors.js';

/** Options of the tfjs cross-entropy ops: the library's, with `weight` also accepted as a tensor. */
export interface TfCrossEntropyOptions extends Omit<CrossEntropyOptions, 'grad' | 'out' | 'inPlace' | 'weight'> {
  /** Per-class weights, length V (PyTorch's `weight`). */
  weight?: ArrayLike<number> | tf.Tensor;
}

/**
 * Cross-entropy of `logits` [..., V] against class indices `labels` [...]
 * (int32, or float32 whole numbers, or an Int32Array of N). Rows whose label is
 * `ignoreIndex` (default −100) contribute neither loss nor gradient.
 */
export function sparseSoftmaxCrossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor | Int32Array,
  options: TfCrossEntropyOptions = {},
): tf.Tensor {
  const op = 'sparseSoftmaxCrossEntropy';
  const rows = readRows(op, 'logits', logits);
  const target = readClassIndices(op, 'labels', labels, rows.lead);
  return run(logits, rows, target, options, op);
}

/**
 * Cross-entropy of `logits` [..., V] against probability targets of the same
 * shape (one-hot or soft labels): −Σ_v t_v · log softmax(logits)_v per row.
 */
export function softmaxCrossEntropy(
  logits: tf.Tensor,
  targets: tf.Tensor,
  options: TfCrossEntropyOptions = {},
): tf.Tensor {
  const op = 'softmaxCrossEntropy';
  const rows = readRows(op, 'logits', logits);
  const soft = readSameShape(op, 'targets', targets, logits.shape, 'probabilities');
  return run(logits, rows, { data: soft, shape: [rows.n, rows.v] }, options, op);
}

function run(
  logits: tf.Tensor,
  rows: ReturnType<typeof readRows>,
  target: Parameters<typeof crossEntropy>[1],
  options: TfCrossEntropyOptions,
  op: string,
): tf.Tensor {
  const { weight, ...rest } = readOptions(op, options);
  const libOptions: CrossEntropyOptions = { ...rest, grad: gradientsWanted() };
  if (weight !== undefined) libOptions.weight = readVector(op, 'weight', weight, rows.v);
  const r = crossEntropy(rows.matrix, target, libOptions);
  return asOp(logits, r.loss, rows.lead, r.grad);
}
