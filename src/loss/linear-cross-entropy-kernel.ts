/**
 * The float64 JavaScript reference of linearCrossEntropy (linear-cross-entropy.ts): the
 * cross-entropy of the logits Z = hidden · weightᵀ + bias, computed one block of Vb vocabulary
 * rows at a time so that the [N, V] logits never exist. The WebAssembly
 * (src/kernels/linear-cross-entropy.ts) and native (src/kernels/native-train.ts) backends are
 * checked against it. Trusts its arguments: the public op validates them.
 *
 * Shapes: hidden [N, H], weight [V, H] (PyTorch's Linear.weight), bias [V], target [N];
 * a block Z_b [N, Vb] holds columns v0 … v0 + Vb − 1 of Z.
 *
 * Two passes over the vocabulary, as Cut Cross-Entropy (Wijmans et al. 2024, §3) does:
 *  1. statistics: per row an online log-sum-exp (running max m and Σ exp(z − m), rescaled by
 *     exp(m_old − m_new) when a block raises the max; Milakov & Gimelshein 2018), the target's
 *     logit z_y and Σ_v w_v·z_v (label smoothing). From them crossEntropyFromStats
 *     (src/kernels/native-train.ts, the reduction arithmetic every cross-entropy kernel shares)
 *     gives the loss and, per row, α, β, γ with dL/dZ_nv = α_n·softmax(Z)_nv − γ_n·w_v − β_n·[v = y_n].
 *  2. gradients (only when asked): Z_b again, dZ_b from α, β, γ, then
 *     dHidden += dZ_b · W_b, dWeight_b = dZ_bᵀ · hidden, dBias_b = Σ_n dZ_b.
 * Every product and sum is a plain float64 loop (no compensation: the products have H terms;
 * the loss's row sums are compensated in crossEntropyFromStats).
 */
import type { LinearCrossEntropyArgs, LinearCrossEntropyBackend } from '../kernels/linear-cross-entropy.js';

/** Z_b [N, nb] = hidden · W[v0 … v0+nb)ᵀ + bias[v0 …] in float64. */
function blockLogits(a: LinearCrossEntropyArgs, v0: number, nb: number, z: Float64Array): void {
  const { hidden, weight, bias, n, h } = a;
  for (let i = 0; i < n; i++) {
    const ho = i * h;
    const zo = i * nb;
    for (let j = 0; j < nb; j++) {
      const wo = (v0 + j) * h;
      let s = bias === null ? 0 : (bias[v0 + j] as number);
      for (let k = 0; k < h; k++) s += (hidden[ho + k] as number) * (weight[wo + k] as number);
      z[zo + j] = s;
    }
  }
}

export const linearCrossEntropyJs: LinearCrossEntropyBackend = (a, stats, coefficients) => {
  const { n, h, v, target, classWeight, ignoreIndex } = a;
  const vb = Math.min(a.vocabBlock, v);
  const z = new Float64Array(n * vb);
  let workspace = z.byteLength;

  // Pass 1: per-row online statistics (stats[4i + 1] holds Σ exp(z − m) until the end).
  stats.fill(0);
  for (let i = 0; i < n; i++) stats[4 * i] = -Infinity;
  for (let v0 = 0; v0 < v; v0 += vb) {
    const nb = Math.min(vb, v - v0);
    blockLogits(a, v0, nb, z);
    for (let i = 0; i < n; i++) {
      const y = target[i] as number;
      if (y === ignoreIndex) continue;
      const zo = i * nb;
      let bm = -Infinity;
      for (let j = 0; j < nb; j++) bm = Math.max(bm, z[zo + j] as number);
      let m = stats[4 * i] as number;
      let s = stats[4 * i + 1] as number;
      if (bm > m) {
        s *= Math.exp(m - bm);
        m = bm;
      }
      let wz = 0;
      for (let j = 0; j < nb; j++) {
        const x = z[zo + j] as number;
        s += Math.exp(x - m);
        if (classWeight !== null) wz += (classWeight[v0 + j] as number) * x;
        else wz += x;
      }
      stats[4 * i] = m;
      stats[4 * i + 1] = s;
      if (y >= v0 && y < v0 + nb) stats[4 * i + 2] = z[zo + y - v0] as number;
      stats[4 * i + 3] = (stats[4 * i + 3] as number) + wz;
    }
  }
  for (let i = 0; i < n; i++) {
    if ((target[i] as number) === ignoreIndex) stats[4 * i] = 0;
    else stats[4 * i + 1] = Math.log(stats[4 * i + 1] as number);
  }

  const co = coefficients(stats);
  if (co === null) return workspace;

  // Pass 2: dZ block by block, through the layer.
  const { dHidden, dWeight, dBias, hidden, weight } = a;
  const dh = dHidden === null ? null : new Float64Array(n * h);
  if (dh !== null) workspace += dh.byteLength;
  for (let v0 = 0; v0 < v; v0 += vb) {
    const nb = Math.min(vb, v - v0);
    blockLogits(a, v0, nb, z);
    for (let i = 0; i < n; i++) {
      const zo = i * nb;
      const y = target[i] as number;
      if (y === ignoreIndex) {
        z.fill(0, zo, zo + nb);
        continue;
      }
      const lse = (stats[4 * i] as number) + (stats[4 * i + 1] as number);
      const al = co.alpha[i] as number;
      const be = co.beta[i] as number;
      const ga = co.gamma[i] as number;
      for (let j = 0; j < nb; j++) {
        let g = al * Math.exp((z[zo + j] as number) - lse);
        if (ga !== 0) g -= ga * (classWeight === null ? 1 : (classWeight[v0 + j] as number));
        if (v0 + j === y) g -= be;
        z[zo + j] = g;
      }
    }
    if (dh !== null) {
      for (let i = 0; i < n; i++) {
        const zo = i * nb;
        const ho = i * h;
        for (let j = 0; j < nb; j++) {
          const g = z[zo + j] as number;
          if (g === 0) continue;
          const wo = (v0 + j) * h;
          for (let k = 0; k < h; k++) dh[ho + k] = (dh[ho + k] as number) + g * (weight[wo + k] as number);
        }
      }
    }
    if (dWeight !== null) {
      const acc = new Float64Array(h);
      for (let j = 0; j < nb; j++) {
        acc.fill(0);
        for (let i = 0; i < n; i++) {
          const g = z[i * nb + j] as number;
          if (g === 0) continue;
          const ho = i * h;
          for (let k = 0; k < h; k++) acc[k] = (acc[k] as number) + g * (hidden[ho + k] as number);
        }
        dWeight.set(acc, (v0 + j) * h);
      }
    }
    if (dBias !== null) {
      for (let j = 0; j < nb; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += z[i * nb + j] as number;
        dBias[v0 + j] = s;
      }
    }
  }
  if (dh !== null && dHidden !== null) dHidden.set(dh);
  return workspace;
};
