/**
 * A reliability diagram for next-token prediction (Guo et al., "On Calibration of
 * Modern Neural Networks", ICML 2017, §2): scored positions are binned by the
 * model's confidence in its top token (top1_p); per bin, accuracy is the fraction
 * of positions where that top token was the true one. A calibrated model lies on
 * the diagonal. ECE = Σ_b (n_b / N) |accuracy_b − confidence_b|.
 */

import type { TokenRecord } from '../../results/schema.js';
import { fmt, fmtInt } from '../format.js';
import { chart, legend } from '../svg.js';

export interface ReliabilityBin {
  /** Confidence interval of the bin: [lo, hi) (the last bin includes 1). */
  lo: number;
  hi: number;
  count: number;
  /** Mean top1_p of the bin's positions. */
  confidence: number;
  /** Fraction of the bin's positions where top1 === token. */
  accuracy: number;
}

export interface Reliability {
  bins: ReliabilityBin[];
  /** Expected calibration error, a fraction in [0, 1]. */
  ece: number;
  /** Positions with a top1_p (the others are not counted). */
  n: number;
}

/** Equal-width confidence bins over [0, 1]; undefined when no record has top1_p. */
export function reliability(records: readonly TokenRecord[], nBins = 10): Reliability | undefined {
  const count = new Float64Array(nBins);
  const conf = new Float64Array(nBins);
  const hits = new Float64Array(nBins);
  let n = 0;
  for (const r of records) {
    if (r.top1_p === undefined) continue;
    const b = Math.min(nBins - 1, Math.floor(r.top1_p * nBins));
    count[b]!++;
    conf[b]! += r.top1_p;
    if (r.top1 === r.token) hits[b]!++;
    n++;
  }
  if (n === 0) return undefined;
  const bins: ReliabilityBin[] = [];
  let ece = 0;
  for (let b = 0; b < nBins; b++) {
    const c = count[b]!;
    if (c === 0) continue;
    const bin = { lo: b / nBins, hi: (b + 1) / nBins, count: c, confidence: conf[b]! / c, accuracy: hits[b]! / c };
    ece += (c / n) * Math.abs(bin.accuracy - bin.confidence);
    bins.push(bin);
  }
  return { bins, ece, n };
}

export function calibrationChart(rel: Reliability): string {
  const svg = chart({
    title: 'Calibration: confidence of the top token against how often it was right',
    width: 460,
    height: 320,
    x: { label: "model's confidence in its top token", min: 0, max: 1 },
    y: { label: 'accuracy (top token = true token)', min: 0, max: 1 },
    marks: [
      {
        type: 'bars',
        bars: rel.bins.map((b) => ({
          x0: b.lo,
          x1: b.hi,
          y1: b.accuracy,
          tip: `confidence ${fmt(b.lo, 2)}–${fmt(b.hi, 2)}: ${fmtInt(b.count)} positions, mean confidence ${fmt(b.confidence, 3)}, accuracy ${fmt(b.accuracy, 3)}`,
        })),
        cls: 's0',
      },
      {
        type: 'line',
        points: [
          [0, 0],
          [1, 1],
        ],
        cls: 'muted',
        dashed: true,
      },
      { type: 'points', points: rel.bins.map((b) => ({ x: b.confidence, y: b.confidence })), cls: 'accent', r: 2.5 },
    ],
  });
  return (
    svg +
    legend([
      { cls: 's0', label: 'accuracy per confidence bin', kind: 'bar' },
      { cls: 'muted', label: 'perfect calibration', kind: 'dashed' },
      { cls: 'accent', label: 'mean confidence of the bin', kind: 'point' },
    ])
  );
}
