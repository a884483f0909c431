/**
 * Moving tfjs tensors in and out of xent's loss library, shared by every op in
 * `xent/tfjs`.
 *
 * Shapes: logits are [..., V] (usually [N, V] or [B, T, V]); every leading axis is
 * flattened into N rows (N = B·T), exactly as PyTorch users write
 * `F.cross_entropy(logits.view(-1, V), target.view(-1))`. Per-row results
 * (reduction 'none') come back in the leading shape ([N] or [B, T]).
 *
 * Reading values: `dataSync()` on the CPU backend returns the tensor's own storage
 * without copying (it is only read, never written); on WebGL/WebGPU it is a
 * synchronous download. See the README section "xent/tfjs" for the cost.
 */
import * as tf from '@tensorflow/tfjs';
import { XentError } from '../core/errors.js';
import type { Matrix } from '../core/tensor.js';

/** A float32 tfjs tensor viewed as the row-major [N, V] matrix xent's library takes. */
export interface RowsView {
  /** [N, V] with N = product of the leading axes. */
  matrix: Matrix<Float32Array>;
  n: number;
  v: number;
  /** The leading axes of the input (its shape without the last axis), e.g. [B, T]. */
  lead: number[];
}

/** Options must be a plain object or absent; returns {} when absent. */
export function readOptions<T extends object>(op: string, options: T | undefined): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || options instanceof tf.Tensor) {
    throw new XentError('invalid_argument', op, `options must be an object, got ${typeName(options)}`, {
      arg: 'options',
    });
  }
  return options;
}

/** Checks `x` is a float32 tensor of rank ≥ 2 and reads it as [N, V]. */
export function readRows(op: string, arg: string, x: unknown): RowsView {
  if (!(x instanceof tf.Tensor)) {
    throw new XentError('invalid_argument', op, `${arg} must be a tf.Tensor of shape [..., V], got ${typeName(x)}`, {
      arg,
    });
  }
  if (x.dtype !== 'float32') {
    throw new XentError('invalid_argument', op, `${arg} must be float32, got dtype ${x.dtype}`, {
      arg,
      value: x.dtype,
    });
  }
  if (x.rank < 2) {
    throw new XentError(
      'shape_mismatch',
      op,
      `${arg} must have rank ≥ 2 ([N, V] or [B, T, V]), got shape [${x.shape.join(', ')}]`,
      {
        arg,
        actual: x.shape,
      },
    );
  }
  const v = x.shape[x.rank - 1]!;
  const lead: number[] = (x.shape as number[]).slice(0, -1);
  const n = lead.reduce((a, b) => a * b, 1);
  return { matrix: { data: float32Data(x), shape: [n, v] }, n, v, lead };
}

/** Checks `x` is a float32 tensor of rank ≥ 1 and reads its values (elementwise losses: any shape). */
export function readFloat(op: string, arg: string, x: unknown): { data: Float32Array; shape: number[] } {
  if (!(x instanceof tf.Tensor)) {
    throw new XentError('invalid_argument', op, `${arg} must be a tf.Tensor, got ${typeName(x)}`, { arg });
  }
  if (x.dtype !== 'float32') {
    throw new XentError('invalid_argument', op, `${arg} must be float32, got dtype ${x.dtype}`, {
      arg,
      value: x.dtype,
    });
  }
  if (x.rank < 1) {
    throw new XentError('shape_mismatch', op, `${arg} must have rank ≥ 1, got a scalar`, { arg, actual: x.shape });
  }
  return { data: float32Data(x), shape: [...(x.shape as number[])] };
}

/** A weight given as a number, an array or a tf.Tensor, as the library takes it (tensors are read as float64). */
export function weightValues(w: number | ArrayLike<number> | tf.Tensor): number | ArrayLike<number> {
  return w instanceof tf.Tensor ? Float64Array.from(w.dataSync() as Float32Array) : w;
}

/**
 * Reads class-index targets for logits with leading shape `lead` ([N] or [B, T]).
 * Accepted: an int32 tensor, or a float32 one holding whole numbers (tfjs-layers
 * hands `model.fit` targets over as float32), of shape `lead` or `[...lead, 1]`
 * (the Keras sparse convention), or an Int32Array of N entries. Range checks
 * (and `ignoreIndex`) are left to xent's loss library, which names the row.
 */
export function readClassIndices(op: string, arg: string, target: unknown, lead: readonly number[]): Int32Array {
  const n = lead.reduce((a, b) => a * b, 1);
  if (target instanceof Int32Array) {
    if (target.length !== n) {
      throw new XentError(
        'shape_mismatch',
        op,
        `${arg} has ${target.length} entries but logits have ${n} rows ([${lead.join(', ')}])`,
        {
          arg,
          expected: n,
          actual: target.length,
        },
      );
    }
    return target;
  }
  if (!(target instanceof tf.Tensor)) {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg} must be a tf.Tensor or Int32Array of class indices, got ${typeName(target)}`,
      { arg },
    );
  }
  const shape = target.shape;
  const matches =
    sameShape(shape, lead) ||
    (shape.length === lead.length + 1 && shape[shape.length - 1] === 1 && sameShape(shape.slice(0, -1), lead));
  if (!matches) {
    throw new XentError(
      'shape_mismatch',
      op,
      `${arg} must have shape [${lead.join(', ')}] (or [${[...lead, 1].join(', ')}]) to match logits [${[...lead, 'V'].join(', ')}], got [${shape.join(', ')}]`,
      { arg, expected: lead, actual: shape },
    );
  }
  if (target.dtype === 'int32') return Int32Array.from(target.dataSync() as Int32Array);
  if (target.dtype !== 'float32') {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg} must be int32 or float32 class indices, got dtype ${target.dtype}`,
      { arg, value: target.dtype },
    );
  }
  const values = target.dataSync() as Float32Array;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = values[i]!;
    if (!Number.isInteger(y)) {
      throw new XentError('invalid_argument', op, `${arg}[${i}] = ${y} is not a class index (a whole number)`, {
        arg,
        row: i,
        value: y,
      });
    }
    out[i] = y;
  }
  return out;
}

/** Reads a float32 tensor that must have exactly `shape` (soft targets, BCE targets, teacher logits). */
export function readSameShape(
  op: string,
  arg: string,
  x: unknown,
  shape: readonly number[],
  what: string,
): Float32Array {
  if (!(x instanceof tf.Tensor)) {
    throw new XentError('invalid_argument', op, `${arg} must be a tf.Tensor (${what}), got ${typeName(x)}`, { arg });
  }
  if (!sameShape(x.shape, shape)) {
    throw new XentError(
      'shape_mismatch',
      op,
      `${arg} must have the logits' shape [${shape.join(', ')}], got [${x.shape.join(', ')}]`,
      {
        arg,
        expected: shape,
        actual: x.shape,
      },
    );
  }
  if (x.dtype !== 'float32') {
    throw new XentError('invalid_argument', op, `${arg} must be float32 (${what}), got dtype ${x.dtype}`, {
      arg,
      value: x.dtype,
    });
  }
  return float32Data(x);
}

/**
 * A float32 tensor's values as a Float32Array. The CPU backend's cast from int32
 * may keep the int32 storage under a float32 dtype, so dataSync is not always a
 * Float32Array: copy in that case only.
 */
function float32Data(x: tf.Tensor): Float32Array {
  const d = x.dataSync();
  return d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>);
}

/** A per-class or per-element weight given as a tensor, array or typed array, as float64. */
export function readVector(op: string, arg: string, w: unknown, length: number): Float64Array {
  let values: ArrayLike<number>;
  if (w instanceof tf.Tensor) values = w.dataSync() as Float32Array;
  else if (Array.isArray(w) || w instanceof Float32Array || w instanceof Float64Array) values = w as ArrayLike<number>;
  else
    throw new XentError(
      'invalid_argument',
      op,
      `${arg} must be a number[], Float32Array, Float64Array or tf.Tensor, got ${typeName(w)}`,
      { arg },
    );
  if (values.length !== length) {
    throw new XentError('shape_mismatch', op, `${arg} has ${values.length} entries, expected ${length}`, {
      arg,
      expected: length,
      actual: values.length,
    });
  }
  return Float64Array.from(values);
}

/**
 * The loss as a tensor: a scalar for 'mean'/'sum' (and 'batchmean'), else the
 * per-row or per-element values reshaped to `shape`.
 */
export function lossTensor(loss: number | ArrayLike<number>, shape: readonly number[]): tf.Tensor {
  if (typeof loss === 'number') return tf.scalar(loss, 'float32');
  return tf.tensor(Float32Array.from(loss), [...shape], 'float32');
}

/**
 * d(total)/d(input) = dy · d(loss)/d(input). `grad` is the gradient of the loss
 * (of the sum of the per-row losses for 'none', where each row's loss depends only
 * on its own row, so row r's gradient is scaled by dy[r]). `dy` is a scalar for
 * reduced losses, the loss's shape otherwise. The scaling is done in JS on the
 * values: tfjs's CPU backend multiplies with broadcasting through a per-element
 * index conversion, ~50× slower than this loop (bench/tfjs.ts).
 */
export function scaleGrad(grad: ArrayLike<number>, shape: readonly number[], dy: tf.Tensor): tf.Tensor {
  const d = dy.dataSync() as Float32Array;
  const size = grad.length;
  let out: Float32Array;
  if (d.length === 1) {
    const s = d[0]!;
    if (s === 1 && grad instanceof Float32Array) {
      out = grad; // never written to: tfjs tensors are immutable
    } else {
      out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = grad[i]! * s;
    }
  } else {
    // One dy per row (or per element when the loss is elementwise).
    const per = size / d.length;
    out = new Float32Array(size);
    for (let r = 0, i = 0; r < d.length; r++) {
      const s = d[r]!;
      for (let k = 0; k < per; k++, i++) out[i] = grad[i]! * s;
    }
  }
  return tf.tensor(out, [...shape], 'float32');
}

/**
 * True when a gradient tape is recording (inside tf.grad, tf.variableGrads,
 * optimizer.minimize, model.fit). Outside one, the ops compute the loss only and
 * skip the gradient (evaluation, model.evaluate, plain calls).
 */
export function gradientsWanted(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function typeName(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return `an Array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`;
  return `${typeof x} ${String(x)}`;
}

/**
 * Wraps an already computed loss (and its gradient w.r.t. `input`) as a tfjs op.
 * With a gradient it is a `tf.customGrad` whose backward is dy · grad (see
 * `scaleGrad`); `input` is its only differentiable input: targets, weights and
 * teacher logits are constants to xent's ops (PyTorch's `.detach()`), so tf.grad
 * with respect to them fails loudly instead of returning made-up zeros.
 * Without a gradient (no tape recording) it is a plain tensor.
 */
export function asOp(
  input: tf.Tensor,
  loss: number | ArrayLike<number>,
  lossShape: readonly number[],
  grad: ArrayLike<number> | undefined,
): tf.Tensor {
  if (grad === undefined) return lossTensor(loss, lossShape);
  const shape = input.shape;
  const op = tf.customGrad((x) => {
    void x; // the value was computed from x's data before the call
    return { value: lossTensor(loss, lossShape), gradFunc: (dy: tf.Tensor) => scaleGrad(grad, shape, dy) };
  });
  return op(input);
}
