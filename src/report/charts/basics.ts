/**
 * The classic pair, for reading every other number in the report:
 * - cross-entropy of one prediction, −ln p, against the probability p the model gave
 *   the true class (nats on the left axis, bits = nats / ln 2 on the right);
 * - binary cross-entropy, −[y ln p + (1 − y) ln(1 − p)], for true label y = 1 and y = 0,
 *   p from 0.01 to 0.99.
 * When an evaluation is given, its mean cross-entropy is marked on the first chart at
 * p = 1 / perplexity: the geometric-mean probability the model gave the true tokens.
 * When a loss table is given (`xent demo`'s rows, computed by the library's
 * crossEntropy / binaryCrossEntropy, not the closed forms), its rows are drawn as
 * square points on the curves, so the chart shows what the functions returned.
 */
import { fmt } from '../format.js';
import { chart, legend, type Mark, type SecondaryAxis } from '../svg.js';

/** One row of a loss table: p(true class) and the losses the library computed for it, in nats. */
export interface LossTableRow {
  p: number;
  ce_nats: number;
  bce_label1_nats?: number;
  bce_label0_nats?: number;
}

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

const Y_MAX = 4.7;

function tablePoints(
  rows: readonly LossTableRow[],
  y: (r: LossTableRow) => number | undefined,
  what: string,
): Array<{ x: number; y: number; tip: string }> {
  const out: Array<{ x: number; y: number; tip: string }> = [];
  for (const r of rows) {
    const v = y(r);
    if (v === undefined || v > Y_MAX) continue; // off the chart: the tip would point at the clipped edge
    out.push({
      x: r.p,
      y: v,
      tip: `table row p = ${fmt(r.p, 3)}: ${what} ${fmt(v, 5)} nats = ${fmt(v / Math.LN2, 5)} bits`,
    });
  }
  return out;
}

/** `model` marks a mean cross-entropy (nats per token) on the curve; `table` adds computed rows as squares. */
export function crossEntropyChart(
  model?: { label: string; natsPerToken: number },
  table?: readonly LossTableRow[],
): string {
  const ps = grid(0.01, 1);
  const marks: Mark[] = [
    { type: 'line', points: ps.map((p) => [p, -Math.log(p)] as const), cls: 's0' },
    {
      type: 'points',
      points: [0.05, 0.1, 0.25, 0.5, 0.75, 0.9].map((p) => ({ x: p, y: -Math.log(p), tip: tipCE(p) })),
      cls: 's0',
      r: 3,
    },
    { type: 'label', x: 0.5, y: Math.LN2, text: 'p = ½: 1 bit', dx: 8, dy: -8 },
  ];
  if (model && Number.isFinite(model.natsPerToken)) {
    const p = Math.exp(-model.natsPerToken);
    const y = Math.min(model.natsPerToken, Y_MAX);
    marks.push({ type: 'rule', y, cls: 'accent' });
    marks.push({
      type: 'points',
      points: [
        {
          x: Math.max(0.01, p),
          y,
          tip: `${model.label}: ${fmt(model.natsPerToken)} nats = ${fmt(model.natsPerToken / Math.LN2)} bits per token; geometric-mean p(true token) = 1/perplexity = ${fmt(p, 3)}`,
        },
      ],
      cls: 'accent',
      r: 5,
      shape: 'diamond',
    });
    marks.push({ type: 'label', x: Math.max(0.01, p), y, text: model.label, cls: 'accent', dx: 10, dy: -8 });
  }
  if (table?.length)
    marks.push({
      type: 'points',
      points: tablePoints(table, (r) => r.ce_nats, 'crossEntropy'),
      cls: 's3',
      r: 4,
      shape: 'square',
    });
  const svg = chart({
    title: 'Cross-entropy loss against the probability of the true class',
    width: 500,
    height: 300,
    x: { label: 'p(true class)', min: 0, max: 1 },
    y: { label: 'loss −ln p (nats)', min: 0, max: Y_MAX },
    y2: [BITS_AXIS],
    marks,
  });
  const items: Array<{ cls: string; label: string; kind?: 'square' }> = [{ cls: 's0', label: 'cross-entropy −ln p' }];
  if (model) items.push({ cls: 'accent', label: `${model.label} (mean)` });
  if (table?.length) items.push({ cls: 's3', label: 'loss table rows (computed by crossEntropy)', kind: 'square' });
  return svg + legend(items);
}

export function binaryCrossEntropyChart(table?: readonly LossTableRow[]): string {
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
    y: { label: 'loss (nats)', min: 0, max: Y_MAX },
    y2: [BITS_AXIS],
    marks: [
      { type: 'line', points: ps.map((p) => [p, -Math.log(p)] as const), cls: 's0' },
      { type: 'line', points: mirrored.map((p) => [p, -Math.log(1 - p)] as const), cls: 's1', dashed: true },
      { type: 'points', points: at.map((p) => ({ x: p, y: -Math.log(p), tip: tip(p, 1) })), cls: 's0', r: 3 },
      { type: 'points', points: at.map((p) => ({ x: p, y: -Math.log(1 - p), tip: tip(p, 0) })), cls: 's1', r: 3 },
      ...(table?.length
        ? [
            {
              type: 'points' as const,
              points: tablePoints(table, (r) => r.bce_label1_nats, 'binaryCrossEntropy, label 1:'),
              cls: 's3',
              r: 4,
              shape: 'square' as const,
            },
            {
              type: 'points' as const,
              points: tablePoints(table, (r) => r.bce_label0_nats, 'binaryCrossEntropy, label 0:'),
              cls: 's4',
              r: 4,
              shape: 'square' as const,
            },
          ]
        : []),
    ],
  });
  const items: Array<{ cls: string; label: string; kind?: 'dashed' | 'square' }> = [
    { cls: 's0', label: 'true label 1: −ln p' },
    { cls: 's1', label: 'true label 0: −ln(1 − p)', kind: 'dashed' },
  ];
  if (table?.length) {
    items.push({ cls: 's3', label: 'table rows, label 1 (computed)', kind: 'square' });
    items.push({ cls: 's4', label: 'table rows, label 0 (computed)', kind: 'square' });
  }
  return svg + legend(items);
}

/** The loss table itself, every figure with its unit (the squares on the charts are its rows). */
export function lossTableHtml(rows: readonly LossTableRow[]): string {
  const cell = (v: number | undefined): string => `<td class="num">${v === undefined ? '' : fmt(v, 5)}</td>`;
  const body = rows
    .map(
      (r) =>
        `<tr>${cell(r.p)}${cell(r.ce_nats)}${cell(r.ce_nats / Math.LN2)}${cell(r.bce_label1_nats)}${cell(r.bce_label0_nats)}</tr>`,
    )
    .join('');
  return (
    '<div class="wrap"><table class="loss-table"><thead><tr><th class="num">p(true class)</th><th class="num">cross-entropy (nats)</th><th class="num">cross-entropy (bits)</th>' +
    `<th class="num">BCE, label 1 (nats)</th><th class="num">BCE, label 0 (nats)</th></tr></thead><tbody>${body}</tbody></table></div>`
  );
}
