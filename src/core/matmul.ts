/**
 * Plain TypeScript matrix products for the LSTM language model: the readable
 * reference the WebAssembly SIMD kernels (src/kernels/assembly/train-kernels.ts)
 * are validated against, and the fallback when WebAssembly is unavailable.
 * Weights follow PyTorch's [out, in] layout, so the three products a linear layer
 * y = x Wᵀ + b needs are:
 *   forward        y[M, N]  = x[M, K] · W[N, K]ᵀ        matmulABt
 *   input grad    dx[M, K] += dy[M, N] · W[N, K]        matmulAB
 *   weight grad   dW[N, K] += dy[M, N]ᵀ · x[M, K]       matmulAtB
 * All arrays are row-major; `aOff` etc. are element offsets so callers can work on
 * slices of a larger buffer without copying.
 */

/** Float32Array or Float64Array: the float64 path is used for finite-difference checks. */
export type Floats = Float32Array | Float64Array;

/** out[m, n] = (accumulate ? out[m, n] : 0) + bias[n] + Σ_k a[m, k] · w[n, k]. */
export function matmulABt(
  out: Floats,
  a: Floats,
  w: Floats,
  M: number,
  K: number,
  N: number,
  bias: Floats | null = null,
  accumulate = false,
): void {
  let m = 0;
  // Four rows at a time: each weight element is loaded once for four products.
  for (; m + 4 <= M; m += 4) {
    const a0 = m * K,
      a1 = a0 + K,
      a2 = a1 + K,
      a3 = a2 + K;
    for (let n = 0; n < N; n++) {
      const wo = n * K;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let k = 0; k < K; k++) {
        const wk = w[wo + k]!;
        s0 += a[a0 + k]! * wk;
        s1 += a[a1 + k]! * wk;
        s2 += a[a2 + k]! * wk;
        s3 += a[a3 + k]! * wk;
      }
      const b = bias === null ? 0 : bias[n]!;
      const o = m * N + n;
      if (accumulate) {
        out[o] = out[o]! + s0 + b;
        out[o + N] = out[o + N]! + s1 + b;
        out[o + 2 * N] = out[o + 2 * N]! + s2 + b;
        out[o + 3 * N] = out[o + 3 * N]! + s3 + b;
      } else {
        out[o] = s0 + b;
        out[o + N] = s1 + b;
        out[o + 2 * N] = s2 + b;
        out[o + 3 * N] = s3 + b;
      }
    }
  }
  for (; m < M; m++) {
    const ao = m * K;
    for (let n = 0; n < N; n++) {
      const wo = n * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ao + k]! * w[wo + k]!;
      const o = m * N + n;
      out[o] = (accumulate ? out[o]! : 0) + s + (bias === null ? 0 : bias[n]!);
    }
  }
}

/** out[m, k] += Σ_n a[m, n] · w[n, k]   (a: [M, N], w: [N, K], out: [M, K]). */
export function matmulAB(out: Floats, a: Floats, w: Floats, M: number, N: number, K: number): void {
  for (let m = 0; m < M; m++) {
    const oo = m * K;
    for (let n = 0; n < N; n++) {
      const s = a[m * N + n]!;
      if (s === 0) continue;
      const wo = n * K;
      for (let k = 0; k < K; k++) out[oo + k] = out[oo + k]! + s * w[wo + k]!;
    }
  }
}

/** out[n, k] += Σ_m a[m, n] · x[m, k]   (a: [M, N], x: [M, K], out: [N, K]). */
export function matmulAtB(out: Floats, a: Floats, x: Floats, M: number, N: number, K: number): void {
  for (let m = 0; m < M; m++) {
    const xo = m * K;
    for (let n = 0; n < N; n++) {
      const s = a[m * N + n]!;
      if (s === 0) continue;
      const oo = n * K;
      for (let k = 0; k < K; k++) out[oo + k] = out[oo + k]! + s * x[xo + k]!;
    }
  }
}
