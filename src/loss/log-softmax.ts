/**
 * Row-wise log-softmax of an [N, V] matrix, log p_v = (x_v − m) − log Σ exp(x_j − m),
 * computed in float64 and returned in the input's float type (as torch.log_softmax
 * keeps the dtype). Also its backward (vector–Jacobian product), used to chain
 * gradients taken w.r.t. log-probabilities (nllLoss, klDivergence) back to logits.
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import type { FloatArray, Matrix } from '../core/tensor.js';
import { checkMatrix } from '../core/tensor.js';
import { chooseKernel, nonFiniteRowError } from '../kernels/dispatch.js';
import { softmaxWasm } from '../kernels/log-softmax.js';
import type { ImplementationOptions } from './backend.js';
import { checkImplementationOptions } from './backend.js';
import { rowMaxUnchecked, rowSumExpUnchecked } from './log-sum-exp.js';
import { allocLike, checkClassMatrix, checkLogits, checkNoNaN } from './validate.js';

/** log-softmax of each row of `data` into `out` (may alias `data`). A row of all −Infinity gives NaN, as in PyTorch. */
export function logSoftmaxUnchecked(data: FloatArray, n: number, v: number, out: FloatArray): FloatArray {
  for (let i = 0; i < n; i++) {
    const off = i * v;
    const m = rowMaxUnchecked(data, off, v);
    const logSum = Math.log(rowSumExpUnchecked(data, off, v, m));
    for (let j = off, end = off + v; j < end; j++) out[j] = (data[j] as number) - m - logSum;
  }
  return out;
}

/** Row-wise log-softmax; the result has the input's shape and float type. */
export function logSoftmax<A extends FloatArray>(x: Matrix<A>, options?: ImplementationOptions): Matrix<A> {
  const op = 'logSoftmax';
  const impl = checkImplementationOptions(op, checkOptions(op, options));
  const [n, v] = checkClassMatrix(op, 'x', x);
  // WebAssembly kernels for large float32 input (src/kernels/dispatch.ts); they detect NaN/+Infinity themselves.
  const k = chooseKernel(op, impl.backend, impl.threads, n * v, x.data instanceof Float32Array);
  if (k.wasm) {
    const data = softmaxWasm(x.data as Float32Array, n, v, new Float32Array(n * v), true, k.threads, (row) => {
      throw nonFiniteRowError(op, 'x', x.data, v, row);
    });
    return { data: data as A, shape: [n, v] };
  }
  checkLogits(op, 'x', x.data, v);
  const out = allocLike(x.data, n * v) as A;
  return { data: logSoftmaxUnchecked(x.data, n, v, out) as A, shape: [n, v] };
}

/**
 * Backward of y = logSoftmax(x): given g = dL/dy and y itself, returns
 * dL/dx_v = g_v − exp(y_v) · Σ_j g_j per row (PyTorch's log_softmax_backward formula).
 */
export function logSoftmaxBackward<A extends FloatArray>(gradLogProbs: Matrix<A>, logProbs: Matrix): Matrix<A> {
  const op = 'logSoftmaxBackward';
  const [n, v] = checkMatrix(op, 'gradLogProbs', gradLogProbs);
  const [n2, v2] = checkMatrix(op, 'logProbs', logProbs);
  if (n !== n2 || v !== v2) {
    throw new XentError(
      'shape_mismatch',
      op,
      `gradLogProbs.shape [${n}, ${v}] differs from logProbs.shape [${n2}, ${v2}]`,
      {
        arg: 'gradLogProbs',
        expected: [n2, v2],
        actual: [n, v],
      },
    );
  }
  checkNoNaN(op, 'gradLogProbs', gradLogProbs.data, v);
  checkNoNaN(op, 'logProbs', logProbs.data, v);
  const g = gradLogProbs.data;
  const y = logProbs.data;
  const out = allocLike(g, n * v) as A;
  for (let i = 0; i < n; i++) {
    const off = i * v;
    let s = 0;
    let c = 0;
    for (let j = off; j < off + v; j++) {
      const x = g[j] as number;
      const t = s + x;
      if (Math.abs(s) >= Math.abs(x)) c += s - t + x;
      else c += x - t + s;
      s = t;
    }
    const sum = s + c;
    for (let j = off; j < off + v; j++) out[j] = (g[j] as number) - Math.exp(y[j] as number) * sum;
  }
  return { data: out, shape: [n, v] };
}
