/**
 * Row-wise softmax of an [N, V] matrix, p_v = exp(x_v − m) / Σ exp(x_j − m), computed in
 * float64 (compensated sum) and returned in the input's float type. A row of all
 * −Infinity gives NaN (0/0), as torch.softmax does.
 */

import { checkOptions } from '../core/check-options.js';
import type { FloatArray, Matrix } from '../core/tensor.js';
import { chooseKernel, nonFiniteRowError } from '../kernels/dispatch.js';
import { softmaxWasm } from '../kernels/log-softmax.js';
import type { ImplementationOptions } from './backend.js';
import { checkImplementationOptions } from './backend.js';
import { rowMaxUnchecked, rowSumExpUnchecked } from './log-sum-exp.js';
import { allocLike, checkClassMatrix, checkLogits } from './validate.js';

/** softmax of each row of `data` into `out` (may alias `data`). */
export function softmaxUnchecked(data: FloatArray, n: number, v: number, out: FloatArray): FloatArray {
  for (let i = 0; i < n; i++) {
    const off = i * v;
    const m = rowMaxUnchecked(data, off, v);
    const logSum = Math.log(rowSumExpUnchecked(data, off, v, m));
    // exp(x − m − log S) rather than exp(x − m) / S: one rounding fewer, and it is
    // exactly exp(logSoftmax), so softmax and logSoftmax agree to the last bit.
    for (let j = off, end = off + v; j < end; j++) out[j] = Math.exp((data[j] as number) - m - logSum);
  }
  return out;
}

/** Row-wise softmax; the result has the input's shape and float type. */
export function softmax<A extends FloatArray>(x: Matrix<A>, options?: ImplementationOptions): Matrix<A> {
  const op = 'softmax';
  const impl = checkImplementationOptions(op, checkOptions(op, options));
  const [n, v] = checkClassMatrix(op, 'x', x);
  // WebAssembly kernels for large float32 input (src/kernels/dispatch.ts); they detect NaN/+Infinity themselves.
  const k = chooseKernel(op, impl.backend, impl.threads, n * v, x.data instanceof Float32Array);
  if (k.wasm) {
    const data = softmaxWasm(x.data as Float32Array, n, v, new Float32Array(n * v), false, k.threads, (row) => {
      throw nonFiniteRowError(op, 'x', x.data, v, row);
    });
    return { data: data as A, shape: [n, v] };
  }
  checkLogits(op, 'x', x.data, v);
  const out = allocLike(x.data, n * v) as A;
  return { data: softmaxUnchecked(x.data, n, v, out) as A, shape: [n, v] };
}
