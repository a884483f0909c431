/**
 * The fused output layer + cross-entropy of the language model, reference version:
 * logits = hs · W_outᵀ + b_out, loss = Σ_n CE(logits[n], target[n]), and when
 * gradients are requested dW_out, db_out and dhs — computed R rows at a time so the
 * full [N, V] logits are never held (only an [R, V] block).
 *
 * Cross-entropy follows torch.nn.functional.cross_entropy with label_smoothing ε:
 *   loss_n = (1 − ε)·(lse − z_y) + ε·(lse − mean_v z_v)
 *   ∂loss_n/∂z_v = softmax(z)_v − (1 − ε)·[v = y] − ε/V
 * Targets equal to `ignoreIndex` contribute neither loss nor gradient. The caller
 * scales: `gradScale` multiplies every gradient (1/count for a mean loss).
 */
import type { Floats } from '../../core/matmul.js';
import { matmulAB, matmulABt, matmulAtB } from '../../core/matmul.js';

export interface OutputCeOptions {
  labelSmoothing?: number;
  ignoreIndex?: number;
  /** Rows per block (default 64). */
  rowsPerChunk?: number;
}

export interface OutputCeGrads {
  dW: Floats; // [V, H], accumulated
  db: Floats; // [V], accumulated
  dhs: Floats; // [N, H], accumulated
  /** Multiplies every gradient (e.g. 1/count for a mean). */
  scale: number;
}

export interface OutputCeResult {
  /** Σ_n loss_n over non-ignored rows, nats (float64). */
  sumNats: number;
  /** Σ_n (lse − z_y) without smoothing: the plain cross-entropy, nats (for reporting). */
  sumCeNats: number;
  /** Non-ignored rows. */
  count: number;
}

export function outputCrossEntropyRef(
  hs: Floats,
  N: number,
  H: number,
  wOut: Floats,
  bOut: Floats,
  V: number,
  targets: Int32Array,
  opts: OutputCeOptions = {},
  grads?: OutputCeGrads,
): OutputCeResult {
  const eps = opts.labelSmoothing ?? 0;
  const ignore = opts.ignoreIndex ?? -100;
  const R = Math.max(1, Math.min(N, opts.rowsPerChunk ?? 64));
  const block = hs instanceof Float64Array ? new Float64Array(R * V) : new Float32Array(R * V);
  let sumNats = 0;
  let sumCeNats = 0;
  let count = 0;
  for (let r0 = 0; r0 < N; r0 += R) {
    const rows = Math.min(R, N - r0);
    const hsBlock = hs.subarray(r0 * H, (r0 + rows) * H);
    matmulABt(block, hsBlock, wOut, rows, H, V, bOut);
    for (let r = 0; r < rows; r++) {
      const y = targets[r0 + r]!;
      const o = r * V;
      if (y === ignore) {
        block.fill(0, o, o + V);
        continue;
      }
      let mx = -Infinity;
      let zsum = 0;
      for (let v = 0; v < V; v++) {
        const z = block[o + v]!;
        if (z > mx) mx = z;
        zsum += z;
      }
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(block[o + v]! - mx);
      const lse = mx + Math.log(s);
      const ce = lse - block[o + y]!;
      sumCeNats += ce;
      sumNats += (1 - eps) * ce + eps * (lse - zsum / V);
      count++;
      if (grads) {
        const sc = grads.scale;
        for (let v = 0; v < V; v++) block[o + v] = sc * (Math.exp(block[o + v]! - lse) - eps / V);
        block[o + y] = block[o + y]! - sc * (1 - eps);
      }
    }
    if (grads) {
      // db += Σ_r dz[r];  dW += dzᵀ · hs;  dhs += dz · W
      for (let r = 0; r < rows; r++) for (let v = 0; v < V; v++) grads.db[v] = grads.db[v]! + block[r * V + v]!;
      matmulAtB(grads.dW, block, hsBlock, rows, V, H);
      matmulAB(grads.dhs.subarray(r0 * H, (r0 + rows) * H), block, wOut, rows, V, H);
    }
  }
  return { sumNats, sumCeNats, count };
}
