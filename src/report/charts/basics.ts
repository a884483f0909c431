/**
 * The classic pair, for reading every other number in the report:
 * - cross-entropy of one prediction, −ln p, against the probability p the model gave
 *   the true class (nats on the left axis, bits = nats / ln 2 on the right);
 * - binary cross-entropy, −[y ln p + (1 − y) ln(1 − p)], for true label y = 1 and y = 0,
 *   p from 0.01 to 0.99.
 * When an evaluation is given, its mean cross-entropy is marked on the first chart at
 * p = 1 / perplexity: the geometric-mean probability the model gave the true tokens.
 */
import { fmt } from '../format.js';
import { chart, legend, type Mark, type SecondaryAxis } from '../svg.js';

export const BITS_AXIS: SecondaryAxis = { label: 'bits', from: (y) => y / Math.LN2, to: (b) => b * Math.LN2 };

/** p values from lo to hi, denser near 0 where −ln p is steep. */
function grid(lo: number, hi: number, n = 160): number[] {
  const out: number[] = [];
  for (let i = 0; i <= n; i++) {
    const u = i / n;
    out.push(lo + (hi - lo) * u * u);
  }
  return out;
}

function tipCE(p: number): string {
  const nats = -Math.log(p);
  return `p = ${fmt(p, 3)}: loss ${fmt(nats, 4)} nats = ${fmt(nats / Math.LN2, 4)} bits`;
}

/** `model` marks a mean cross-entropy (nats per token) on the curve. */
export function crossEntropyChart(model?: { label: string; natsPerToken: number }): string {
  const ps = grid(0.01, 1);
  const marks: Mark[] = [
    { type: 'line', points: ps.map((p) => [p, -Math.log(p)] as const), cls: 's0' },
    { type: 'points', points: [0.05, 0.1, 0.25, 0.5, 0.75, 0.9].map((p) => ({ x: p, y: -Math.log(p), tip: tipCE(p) })), cls: 's0', r: 3 },
    { type: 'label', x: 0.5, y: Math.LN2, text: 'p = ½: 1 bit', dx: 8, dy: -8 },
  ];
  if (model && Number.isFinite(model.natsPerToken)) {
    const p = Math.exp(-model.natsPerToken);
    const y = Math.min(model.natsPerToken, 4.7);
    marks.push({ type: 'rule', y, cls: 'accent' });
    marks.push({
      type: 'points',
      points: [{ x: Math.max(0.01, p), y, tip: `${model.label}: ${fmt(model.natsPerToken)} nats = ${fmt(model.natsPerToken / Math.LN2)} bits per token; geometric-mean p(true token) = 1/perplexity = ${fmt(p, 3)}` }],
      cls: 'accent',
      r: 5,
      shape: 'diamond',
    });
    marks.push({ type: 'label', x: Math.max(0.01, p), y, text: model.label, cls: 'accent', dx: 10, dy: -8 });
  }
  const svg = chart({
    title: 'Cross-entropy loss against the probability of the true class',
    width: 500,
    height: 300,
    x: { label: 'p(true class)', min: 0, max: 1 },
    y: { label: 'loss −ln p (nats)', min: 0, max: 4.7 },
    y2: [BITS_AXIS],
    marks,
  });
  const items = [{ cls: 's0', label: 'cross-entropy −ln p' }];
  if (model) items.push({ cls: 'accent', label: `${model.label} (mean)` });
  return svg + legend(items);
}

export function binaryCrossEntropyChart(): string {
  const ps = grid(0.01, 0.99).map((u) => u);
  const mirrored = ps.map((p) => 1 - p).reverse();
  const tip = (p: number, y: 0 | 1): string => {
    const nats = y === 1 ? -Math.log(p) : -Math.log(1 - p);
    return `true label ${y}, predicted p(1) = ${fmt(p, 3)}: ${fmt(nats, 4)} nats = ${fmt(nats / Math.LN2, 4)} bits`;
  };
  const at = [0.1, 0.3, 0.5, 0.7, 0.9];
  const svg = chart({
    title: 'Binary cross-entropy for true label 1 and true label 0',
    width: 500,
    height: 300,
    x: { label: 'predicted p(label = 1)', min: 0, max: 1 },
    y: { label: 'loss (nats)', min: 0, max: 4.7 },
    y2: [BITS_AXIS],
    marks: [
      { type: 'line', points: ps.map((p) => [p, -Math.log(p)] as const), cls: 's0' },
      { type: 'line', points: mirrored.map((p) => [p, -Math.log(1 - p)] as const), cls: 's1', dashed: true },
      { type: 'points', points: at.map((p) => ({ x: p, y: -Math.log(p), tip: tip(p, 1) })), cls: 's0', r: 3 },
      { type: 'points', points: at.map((p) => ({ x: p, y: -Math.log(1 - p), tip: tip(p, 0) })), cls: 's1', r: 3 },
    ],
  });
  return svg + legend([
    { cls: 's0', label: 'true label 1: −ln p' },
    { cls: 's1', label: 'true label 0: −ln(1 − p)', kind: 'dashed' },
  ]);
}
