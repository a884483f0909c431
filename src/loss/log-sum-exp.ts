/**
 * Row-wise log-sum-exp over a row-major [N, V] matrix:
 *   lse(x) = log Σ_v exp(x_v) = m + log Σ_v exp(x_v − m),  m = max_v x_v,
 * the max shift keeping every exp in (0, 1] so nothing overflows (±1e4 logits are fine).
 * Sums are float64 with Neumaier compensation. A row of all −Infinity has lse −Infinity
 * (log 0), as torch.logsumexp gives.
 */

import { checkOptions } from '../core/check-options.js';
import type { FloatArray, Matrix } from '../core/tensor.js';
import { chooseKernel, nonFiniteRowError } from '../kernels/dispatch.js';
import { logSumExpWasm } from '../kernels/log-softmax.js';
import type { ImplementationOptions } from './backend.js';
import { checkImplementationOptions } from './backend.js';
import { checkClassMatrix, checkLogits } from './validate.js';

const OP = 'logSumExp';

/** max of data[off .. off+v). NaN entries are skipped here (they poison the sum instead). */
export function rowMaxUnchecked(data: ArrayLike<number>, off: number, v: number): number {
  let m = -Infinity;
  for (let j = off, end = off + v; j < end; j++) {
    const x = data[j] as number;
    if (x > m) m = x;
  }
  return m;
}

/** Compensated Σ exp(data[j] − shift) over data[off .. off+v). */
export function rowSumExpUnchecked(data: ArrayLike<number>, off: number, v: number, shift: number): number {
  let s = 0;
  let c = 0;
  for (let j = off, end = off + v; j < end; j++) {
    const e = Math.exp((data[j] as number) - shift);
    const t = s + e;
    // e ≥ 0 and s ≥ 0, so |s| ≥ |e| ⇔ s ≥ e.
    if (s >= e) c += s - t + e;
    else c += e - t + s;
    s = t;
  }
  return s + c;
}

/** log Σ exp(data[off .. off+v)); −Infinity for a row of all −Infinity. */
export function logSumExpRowUnchecked(data: ArrayLike<number>, off: number, v: number): number {
  const m = rowMaxUnchecked(data, off, v);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(rowSumExpUnchecked(data, off, v, m));
}

/** Row-wise log-sum-exp of an [N, V] matrix into `out` (length N). */
export function logSumExpUnchecked(data: FloatArray, n: number, v: number, out: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) out[i] = logSumExpRowUnchecked(data, i * v, v);
  return out;
}

/**
 * Row-wise log-sum-exp: returns a Float64Array of N values (in nats, i.e. natural log).
 * `x` is `{ data, shape: [N, V] }` with V ≥ 1, entries finite or −Infinity.
 */
export function logSumExp(x: Matrix, options?: ImplementationOptions): Float64Array {
  const impl = checkImplementationOptions(OP, checkOptions(OP, options));
  const [n, v] = checkClassMatrix(OP, 'x', x);
  // WebAssembly kernels for large float32 input (src/kernels/dispatch.ts); they detect NaN/+Infinity themselves.
  const k = chooseKernel(OP, impl.backend, impl.threads, n * v, x.data instanceof Float32Array);
  if (k.wasm) {
    return logSumExpWasm(x.data as Float32Array, n, v, new Float64Array(n), k.threads, (row) => {
      throw nonFiniteRowError(OP, 'x', x.data, v, row);
    });
  }
  checkLogits(OP, 'x', x.data, v);
  return logSumExpUnchecked(x.data, n, v, new Float64Array(n));
}
