/**
 * Knowledge-distillation loss for TensorFlow.js (Hinton, Vinyals & Dean 2015):
 *   loss = T² · KL_batchmean(softmax(teacher/T) ‖ softmax(student/T))      (no labels)
 *   loss = α · that + (1 − α) · CE(student, labels)                          (with labels)
 * Shapes: student and teacher logits [N, V] or [B, T, V] (flattened to N rows, so
 * 'batchmean' is per token); labels [N] / [B, T] class indices.
 *
 * Forward and gradient w.r.t. the student logits come from xent's loss library
 * (src/loss/distillation.ts) via dataSync, through tf.customGrad. The teacher
 * logits and labels are constants (as a teacher run under torch.no_grad()):
 * no gradient reaches the teacher model.
 */
import type * as tf from '@tensorflow/tfjs';
import { XentError } from '../core/errors.js';
import type { DistillationOptions } from '../loss/distillation.js';
import { distillationLoss as distill } from '../loss/distillation.js';
import { asOp, gradientsWanted, readClassIndices, readOptions, readRows, readSameShape } from './tensors.js';

export interface TfDistillationOptions extends Omit<DistillationOptions, 'grad' | 'target'> {
  /** Hard class-index labels for the (1 − α)·CE term ([N] / [B, T], int32 or whole float32, or an Int32Array). */
  labels?: tf.Tensor | Int32Array;
}

/** Distillation loss of `studentLogits` against `teacherLogits` (same shape). Returns a scalar. */
export function distillationLoss(
  studentLogits: tf.Tensor,
  teacherLogits: tf.Tensor,
  options: TfDistillationOptions = {},
): tf.Tensor {
  const op = 'distillationLoss';
  const o = readOptions(op, options);
  if ('target' in o) {
    throw new XentError(
      'invalid_argument',
      op,
      `pass hard labels as options.labels (a tensor or Int32Array), not options.target`,
      { arg: 'target' },
    );
  }
  if (o.alpha !== undefined && o.labels === undefined) {
    throw new XentError('invalid_argument', op, `alpha = ${o.alpha} needs options.labels for the (1 − alpha)·CE term`, {
      arg: 'alpha',
      value: o.alpha,
    });
  }
  const s = readRows(op, 'studentLogits', studentLogits);
  const t = readSameShape(op, 'teacherLogits', teacherLogits, studentLogits.shape, 'logits');
  const { labels, ...rest } = o;
  const libOptions: DistillationOptions = { ...rest, grad: gradientsWanted() };
  if (labels !== undefined) libOptions.target = readClassIndices(op, 'labels', labels, s.lead);
  const r = distill(s.matrix, { data: t, shape: [s.n, s.v] }, libOptions);
  return asOp(studentLogits, r.loss, [], r.grad);
}
