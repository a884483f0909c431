/**
 * logSumExp, logSoftmax and softmax on the WebAssembly kernels for float32 [N, V] input:
 * one online pass per row for m = max and logS = ln Σ e^(x − m) (lse = m + logS, in float64),
 * then, for (log-)softmax, a pass writing (x − m) − logS or its exponential (float32).
 * NaN or +Infinity in a row makes its logS NaN; `onNonFinite(row)` is then called (it throws
 * the validator's error), so the JS pre-scan of the input is not needed.
 */

import { lseRows, softmaxRows, sumRows } from './ce-kernels.js';
import { stageBytesNow } from './cross-entropy.js';
import { isKernelResident, kernelRuntime, Scratch } from './runtime.js';

function checkRows(st: Float64Array, n: number, onNonFinite: (row: number) => never): void {
  for (let i = 0; i < n; i++) if (Number.isNaN(st[4 * i + 1])) onNonFinite(i);
}

/** Rows per block when an array must be staged through wasm memory (see cross-entropy.ts). */
function blockRows(n: number, v: number, staged: boolean): number {
  return staged ? Math.max(1, Math.floor(stageBytesNow() / (v * 4))) : Math.max(n, 1);
}

/** Row-wise log-sum-exp into out (length N, float64). */
export function logSumExpWasm(
  x: Float32Array,
  n: number,
  v: number,
  out: Float64Array,
  threads: number,
  onNonFinite: (row: number) => never,
): Float64Array {
  const rt = kernelRuntime();
  const sc = new Scratch(rt);
  try {
    const xRes = isKernelResident(x);
    const rows = blockRows(n, v, !xRes);
    const xs = xRes ? x.byteOffset : sc.alloc(Math.min(n, rows) * v * 4);
    const stP = sc.alloc(n * 32);
    for (let r0 = 0; r0 < n; r0 += rows) {
      const r1 = Math.min(n, r0 + rows);
      if (!xRes) rt.f32(xs, (r1 - r0) * v).set(x.subarray(r0 * v, r1 * v));
      const xp = xRes ? xs : (xs - r0 * v * 4) | 0; // rows addressed absolutely (wraps like wasm32)
      lseRows({ x: xp, V: v, r0, r1, stats: stP }, threads);
    }
    const st = rt.f64(stP, 4 * n);
    checkRows(st, n, onNonFinite);
    for (let i = 0; i < n; i++) {
      const m = st[4 * i] as number;
      // An all −inf row: lse = −inf (log 0), as torch.logsumexp and the JS path give.
      out[i] = m === -Infinity ? -Infinity : m + (st[4 * i + 1] as number);
    }
    return out;
  } finally {
    sc.release();
  }
}

/**
 * Row-wise log-softmax (log = true) or softmax into out (float32, may be x itself). Arrays that
 * are not wasm-resident are staged through bounded buffers a block of rows at a time.
 */
export function softmaxWasm(
  x: Float32Array,
  n: number,
  v: number,
  out: Float32Array,
  log: boolean,
  threads: number,
  onNonFinite: (row: number) => never,
): Float32Array {
  const rt = kernelRuntime();
  const sc = new Scratch(rt);
  try {
    const xRes = isKernelResident(x);
    const inPlace = out === x;
    const oRes = inPlace ? xRes : isKernelResident(out);
    const rows = blockRows(n, v, !xRes || !oRes);
    const xs = xRes ? x.byteOffset : sc.alloc(Math.min(n, rows) * v * 4);
    const os = inPlace ? xs : oRes ? out.byteOffset : sc.alloc(Math.min(n, rows) * v * 4);
    const stP = sc.alloc(n * 32);
    for (let r0 = 0; r0 < n; r0 += rows) {
      const r1 = Math.min(n, r0 + rows);
      const len = (r1 - r0) * v;
      if (!xRes) rt.f32(xs, len).set(x.subarray(r0 * v, r1 * v));
      const xp = xRes ? xs : (xs - r0 * v * 4) | 0;
      const op = oRes ? os : (os - r0 * v * 4) | 0;
      softmaxRows({ x: xp, out: op, V: v, r0, r1, stats: stP, log }, threads);
      if (!oRes) out.set(rt.f32(os, len), r0 * v);
    }
    checkRows(rt.f64(stP, 4 * n), n, onNonFinite);
    return out;
  } finally {
    sc.release();
  }
}

/** Row sums of float32 [N, V] input into out (float64): one plain read, the bandwidth floor for benchmarks. */
export function rowSumsWasm(x: Float32Array, n: number, v: number, out: Float64Array, threads: number): Float64Array {
  const rt = kernelRuntime();
  const sc = new Scratch(rt);
  try {
    const xp = sc.f32(x);
    const op = sc.alloc(n * 8);
    sumRows({ x: xp, V: v, r0: 0, r1: n, out: op }, threads);
    out.set(rt.f64(op, n));
    return out;
  } finally {
    sc.release();
  }
}
