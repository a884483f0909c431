/**
 * The float64 JavaScript reference kernel for cross-entropy (forward and backward).
 * It trusts its arguments: `crossEntropy` in cross-entropy.ts validates them first.
 * Alternative kernels (WebAssembly, src/kernels/) take the same `CrossEntropyArgs` and must
 * give the same results.
 *
 * Shapes: logits [N, V] row-major; hard targets [N] (Int32Array); soft targets [N, V].
 *
 * Math, per row i with log-probabilities lp_ic = (x_ic − m_i) − log Σ_c exp(x_ic − m_i),
 * lse_i = m_i + log Σ_c exp(x_ic − m_i), p_ic = exp(lp_ic), class weights w_c (1 if none),
 * smoothing ε, z-loss coefficient z (PyTorch 1.13 semantics, aten/src/ATen/native/LossNLL.cpp):
 *   hard target y_i (rows with y_i = ignoreIndex contribute nothing):
 *     nll_i    = −w_{y_i} · lp_{i,y_i}
 *     smooth_i = −Σ_c w_c · lp_ic                    (only when ε > 0)
 *     mean:  L = (1−ε)·Σ nll_i / D + (ε/V)·Σ smooth_i / D,  D = Σ_{kept i} w_{y_i}
 *            (D = number of kept rows without weights)
 *     sum:   L = (1−ε)·Σ nll_i + (ε/V)·Σ smooth_i;   none: L_i = (1−ε)·nll_i + (ε/V)·smooth_i
 *   soft target t_ic, smoothed t'_ic = (1−ε)·t_ic + ε/V:
 *     L_i = −Σ_c lp_ic · t'_ic · w_c;   mean divides Σ L_i by N (never by weights)
 *   z-loss (PaLM, Chowdhery et al. 2022, §5): z · lse_i² is added for every kept row,
 *     never class-weighted; 'mean' divides its sum by the number of kept rows (N for soft
 *     targets), 'sum' sums it, 'none' adds it to each kept row.
 * Gradient, per kept row (c_N, c_S, c_Z: the coefficients above after reduction):
 *   hard: dL/dx_ij = p_ij·(c_N·w_y + c_S·Σ_c w_c + 2·c_Z·lse_i) − c_N·w_y·[j = y] − c_S·w_j
 *   soft: dL/dx_ij = c·(p_ij·Σ_c w_c t'_ic − w_j t'_ij) + 2·c_Z·lse_i·p_ij
 * Everything (loss and gradient) is multiplied by `scale` (1/ln 2 for bits).
 */
import {
  type CrossEntropyArgs,
  crossEntropyCoefficients,
  crossEntropyDenominators,
  reduceCrossEntropy,
} from '../core/cross-entropy-coefficients.js';
import { NeumaierSum } from '../core/sum.js';
import type { FloatArray } from '../core/tensor.js';
import { rowMaxUnchecked, rowSumExpUnchecked } from './log-sum-exp.js';

/** Runs the kernel; returns the reduced loss (for 'none': the sum of lossOut). */
export function crossEntropyUnchecked(a: CrossEntropyArgs): number {
  const { logits: x, n, v, target, softTarget, weight, ignoreIndex, scale, gradOut, lossOut } = a;
  const eps = a.labelSmoothing;
  const z = a.zLoss;
  const soft = softTarget !== null;

  const den = crossEntropyDenominators(a);
  const { weightTotal } = den;

  // Pass 1: row max and log Σ exp, and the row's loss terms.
  const rowMax = new Float64Array(n);
  const rowLogSum = new Float64Array(n);
  const sumMain = new NeumaierSum(); // Σ nll_i (hard) or Σ L_i (soft)
  const sumSmooth = new NeumaierSum();
  const sumZ = new NeumaierSum();
  const epsOverV = eps / v;
  for (let i = 0; i < n; i++) {
    const off = i * v;
    const y = soft ? 0 : ((target as Int32Array)[i] as number);
    if (!soft && y === ignoreIndex) {
      if (lossOut !== null) lossOut[i] = 0;
      continue;
    }
    const m = rowMaxUnchecked(x, off, v);
    const logSum = Math.log(rowSumExpUnchecked(x, off, v, m));
    rowMax[i] = m;
    rowLogSum[i] = logSum;
    let main: number;
    let smooth = 0;
    if (soft) {
      const t = softTarget as FloatArray;
      let s = 0;
      let c = 0;
      for (let j = 0; j < v; j++) {
        const lp = (x[off + j] as number) - m - logSum;
        const tj = eps > 0 ? (t[off + j] as number) * (1 - eps) + epsOverV : (t[off + j] as number);
        const term = weight === null ? lp * tj : lp * tj * (weight[j] as number);
        const u = s + term;
        if (Math.abs(s) >= Math.abs(term)) c += s - u + term;
        else c += term - u + s;
        s = u;
      }
      main = -(Number.isFinite(s) ? s + c : s);
    } else {
      const lpy = (x[off + y] as number) - m - logSum;
      main = weight === null ? -lpy : -(weight[y] as number) * lpy;
      if (eps > 0) {
        let s = 0;
        let c = 0;
        for (let j = 0; j < v; j++) {
          const lp = (x[off + j] as number) - m - logSum;
          const term = weight === null ? lp : lp * (weight[j] as number);
          const u = s + term;
          if (Math.abs(s) >= Math.abs(term)) c += s - u + term;
          else c += term - u + s;
          s = u;
        }
        smooth = -(Number.isFinite(s) ? s + c : s);
      }
    }
    const lse = m + logSum;
    const zi = z > 0 ? lse * lse : 0;
    sumMain.add(main);
    if (eps > 0 && !soft) sumSmooth.add(smooth);
    if (z > 0) sumZ.add(zi);
    if (lossOut !== null) {
      let li = soft ? main : eps > 0 ? (1 - eps) * main + epsOverV * smooth : main;
      if (z > 0) li += z * zi;
      lossOut[i] = scale * li;
    }
  }

  const co = crossEntropyCoefficients(a, den);
  const { cMain, cSmooth, cZ } = co;
  const loss = reduceCrossEntropy(a, den, co, { main: sumMain.value, smooth: sumSmooth.value, z: sumZ.value });

  // Pass 2: the gradient, row by row (each entry is read before it is overwritten, so
  // gradOut may alias the logits).
  if (gradOut !== null) {
    for (let i = 0; i < n; i++) {
      const off = i * v;
      const end = off + v;
      const y = soft ? 0 : ((target as Int32Array)[i] as number);
      if (!soft && y === ignoreIndex) {
        for (let j = off; j < end; j++) gradOut[j] = 0;
        continue;
      }
      const m = rowMax[i] as number;
      const logSum = rowLogSum[i] as number;
      const zTerm = z > 0 ? 2 * cZ * (m + logSum) : 0;
      if (soft) {
        const t = softTarget as FloatArray;
        // Σ_c w_c t'_c for this row.
        const s = new NeumaierSum();
        for (let j = 0; j < v; j++) {
          const tj = eps > 0 ? (t[off + j] as number) * (1 - eps) + epsOverV : (t[off + j] as number);
          s.add(weight === null ? tj : tj * (weight[j] as number));
        }
        const a1 = cMain * s.value + zTerm;
        for (let j = 0; j < v; j++) {
          const p = Math.exp((x[off + j] as number) - m - logSum);
          const tj = eps > 0 ? (t[off + j] as number) * (1 - eps) + epsOverV : (t[off + j] as number);
          const wt = weight === null ? tj : tj * (weight[j] as number);
          gradOut[off + j] = p * a1 - cMain * wt;
        }
      } else {
        const wy = weight === null ? 1 : (weight[y] as number);
        let a1 = cMain * wy + zTerm;
        if (eps > 0) a1 += cSmooth * weightTotal;
        for (let j = 0; j < v; j++) {
          const p = Math.exp((x[off + j] as number) - m - logSum);
          let g = p * a1;
          if (eps > 0) g -= cSmooth * (weight === null ? 1 : (weight[j] as number));
          // Subtract in float64 before the store: p·a1 − c·w_y cancels when p_y ≈ 1.
          if (j === y) g -= cMain * wy;
          gradOut[off + j] = g;
        }
      }
    }
  }
  return loss;
}
