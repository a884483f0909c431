/**
 * The arguments and reduction arithmetic of cross-entropy that every kernel shares: the
 * float64 JavaScript kernel (src/loss/cross-entropy-kernel.ts) and the WebAssembly one
 * (src/kernels/cross-entropy.ts) take the same `CrossEntropyArgs`, compute the same 'mean'
 * denominators and coefficients from the targets alone, and reduce their row sums the same
 * way, so the backend never changes the result beyond float32 rounding of per-element work.
 * The formulas are in the header of src/loss/cross-entropy-kernel.ts.
 *
 * Shapes: logits [N, V] row-major; hard targets [N]; soft targets [N, V].
 */
import { NeumaierSum } from './sum.js';
import type { FloatArray, Reduction } from './tensor.js';

export interface CrossEntropyArgs {
  logits: FloatArray;
  n: number;
  v: number;
  /** Class indices, length N; exactly one of target / softTarget is set. */
  target: Int32Array | null;
  /** Probabilities, [N, V]. */
  softTarget: FloatArray | null;
  /** Per-class weights, length V, or null for all ones. */
  weight: Float64Array | null;
  ignoreIndex: number;
  labelSmoothing: number;
  zLoss: number;
  reduction: Reduction;
  /** 1 for nats, 1/ln 2 for bits. */
  scale: number;
  /** Where to write dL/dlogits ([N, V]); may be `logits` itself. null: no gradient. */
  gradOut: FloatArray | null;
  /** Per-row losses for reduction 'none' (length N). */
  lossOut: Float64Array | null;
}

/** The 'mean' denominators, from the targets alone (so gradients can be written row by row). */
export interface CrossEntropyDenominators {
  /** Rows not ignored. */
  kept: number;
  /** Σ over kept rows of w[y] (hard targets), or N (soft). */
  weightDen: number;
  /** Σ_c w_c (V without weights). */
  weightTotal: number;
}

export function crossEntropyDenominators(a: CrossEntropyArgs): CrossEntropyDenominators {
  const { n, v, target, softTarget, weight, ignoreIndex } = a;
  let weightTotal = v;
  if (weight !== null) {
    const s = new NeumaierSum();
    for (let c = 0; c < v; c++) s.add(weight[c] as number);
    weightTotal = s.value;
  }
  if (softTarget !== null) return { kept: n, weightDen: n, weightTotal };
  let kept = 0;
  const s = new NeumaierSum();
  for (let i = 0; i < n; i++) {
    const y = (target as Int32Array)[i] as number;
    if (y === ignoreIndex) continue;
    kept++;
    s.add(weight === null ? 1 : (weight[y] as number));
  }
  return { kept, weightDen: s.value, weightTotal };
}

/** L = cMain·Σ main + cSmooth·Σ smooth + cZ·Σ z_i (also the gradient's row coefficients). */
export interface CrossEntropyCoefficients {
  mainFactor: number;
  epsOverV: number;
  cMain: number;
  cSmooth: number;
  cZ: number;
}

export function crossEntropyCoefficients(a: CrossEntropyArgs, d: CrossEntropyDenominators): CrossEntropyCoefficients {
  const { scale, reduction } = a;
  const eps = a.labelSmoothing;
  const z = a.zLoss;
  const mainFactor = a.softTarget !== null ? 1 : 1 - eps;
  const epsOverV = eps / a.v;
  if (reduction === 'mean') {
    return {
      mainFactor,
      epsOverV,
      cMain: (scale * mainFactor) / d.weightDen,
      cSmooth: (scale * epsOverV) / d.weightDen,
      cZ: (scale * z) / d.kept,
    };
  }
  return { mainFactor, epsOverV, cMain: scale * mainFactor, cSmooth: scale * epsOverV, cZ: scale * z };
}

/** The reduced loss from the row sums (or, for 'none', the sum of the per-row losses). */
export function reduceCrossEntropy(
  a: CrossEntropyArgs,
  d: CrossEntropyDenominators,
  c: CrossEntropyCoefficients,
  sums: { main: number; smooth: number; z: number },
): number {
  const { reduction, scale, n } = a;
  const eps = a.labelSmoothing;
  const z = a.zLoss;
  if (reduction === 'none') {
    const s = new NeumaierSum();
    for (let i = 0; i < n; i++) s.add((a.lossOut as Float64Array)[i] as number);
    return s.value;
  }
  // PyTorch computes the mean as (Σ nll) / D, then multiplies by (1 − ε); same value to rounding.
  let loss = reduction === 'mean' ? (scale * c.mainFactor * sums.main) / d.weightDen : c.cMain * sums.main;
  if (eps > 0 && a.softTarget === null)
    loss += reduction === 'mean' ? (scale * c.epsOverV * sums.smooth) / d.weightDen : c.cSmooth * sums.smooth;
  if (z > 0) loss += reduction === 'mean' ? (scale * z * sums.z) / d.kept : c.cZ * sums.z;
  return loss;
}
