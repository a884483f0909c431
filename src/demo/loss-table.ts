/**
 * Demonstration 3: loss against the predicted probability p of the true class.
 * Cross-entropy is −ln p; binary cross-entropy is −ln p for label 1 and −ln(1 − p)
 * for label 0. Computed through the library (not the closed forms) so the table
 * shows what the functions return.
 */
import { binaryCrossEntropy } from '../loss/binary-cross-entropy.js';
import { crossEntropy } from '../loss/cross-entropy.js';
import type { DemoSection } from './section.js';

export const TABLE_PROBABILITIES = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

export interface LossTableRow {
  p: number;
  ce_nats: number;
  ce_bits: number;
  bce_label1_nats: number;
  bce_label0_nats: number;
}

export function lossTableRows(ps: readonly number[] = TABLE_PROBABILITIES): LossTableRow[] {
  const n = ps.length;
  // Cross-entropy of a two-class row whose softmax is [p, 1 − p], target class 0.
  const logits = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    logits[2 * i] = Math.log(ps[i]!);
    logits[2 * i + 1] = Math.log1p(-ps[i]!);
  }
  const m = { data: logits, shape: [n, 2] as const };
  const target = new Int32Array(n);
  const ceNats = crossEntropy(m, target, { reduction: 'none' }).loss;
  const ceBits = crossEntropy(m, target, { reduction: 'none', unit: 'bit' }).loss;
  const probs = { data: Float64Array.from(ps), shape: [n] };
  const bce1 = binaryCrossEntropy(probs, { data: new Float64Array(n).fill(1), shape: [n] }, { reduction: 'none' })
    .loss as Float64Array;
  const bce0 = binaryCrossEntropy(probs, { data: new Float64Array(n), shape: [n] }, { reduction: 'none' })
    .loss as Float64Array;
  return ps.map((p, i) => ({
    p,
    ce_nats: ceNats[i]!,
    ce_bits: ceBits[i]!,
    bce_label1_nats: bce1[i]!,
    bce_label0_nats: bce0[i]!,
  }));
}

export function lossTableSection(): DemoSection {
  const rows = lossTableRows();
  const lines = [
    '  p(true)   CE (nats)   CE (bits)   BCE y=1 (nats)   BCE y=0 (nats)',
    ...rows.map(
      (r) =>
        `  ${r.p.toFixed(2).padStart(7)}   ${r.ce_nats.toFixed(4).padStart(9)}   ${r.ce_bits.toFixed(4).padStart(9)}   ${r.bce_label1_nats
          .toFixed(4)
          .padStart(14)}   ${r.bce_label0_nats.toFixed(4).padStart(14)}`,
    ),
    '  (confident and right costs little; confident and wrong costs without bound)',
  ];
  return {
    key: 'loss_table',
    title: '3. Loss against the predicted probability of the true class',
    lines,
    data: { rows },
  };
}
