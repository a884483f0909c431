/**
 * Charts of a log-likelihood benchmark run (`xent tasks`): the running accuracy over the
 * tasks in scoring order with its Wilson 95% band (how soon the figure settles), and the
 * distribution of margins, the right choice's score minus the best wrong one's (how close
 * the decisions were).
 */
import type { TaskRecord, TasksResult } from '../../results/tasks.js';
import { fmt, fmtInt } from '../format.js';
import { chart, legend, type Mark } from '../svg.js';

/** Wilson 95% interval of k right out of n (the band of the curve). */
function wilson(k: number, n: number): [number, number] {
  const z = 1.959963984540054;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = p + (z * z) / (2 * n);
  const h = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [(c - h) / d, (c + h) / d];
}

/** At most ~600 points: every task for short runs, evenly spaced ones (and the last) for long ones. */
function sampleIndices(n: number): number[] {
  const step = Math.max(1, Math.ceil(n / 600));
  const out: number[] = [];
  for (let i = 0; i < n; i += step) out.push(i);
  if (out[out.length - 1] !== n - 1) out.push(n - 1);
  return out;
}

export function accuracyCurveChart(result: TasksResult, records: readonly TaskRecord[]): string {
  const n = records.length;
  if (n === 0) return '';
  const right: number[] = [];
  let k = 0;
  for (const r of records) right.push((k += r.correct ? 1 : 0));
  const idx = sampleIndices(n);
  const acc = idx.map((i) => [i + 1, (100 * right[i]!) / (i + 1)] as const);
  const lo = idx.map((i) => [i + 1, 100 * wilson(right[i]!, i + 1)[0]] as const);
  const hi = idx.map((i) => [i + 1, 100 * wilson(right[i]!, i + 1)[1]] as const);
  const marks: Mark[] = [
    { type: 'line', points: lo, cls: 'muted', dashed: true },
    { type: 'line', points: hi, cls: 'muted', dashed: true },
    { type: 'line', points: acc, cls: 's0' },
    {
      type: 'rule',
      y: 100 * result.random_chance,
      cls: 's3',
      label: `random chance ${fmt(100 * result.random_chance, 3)}%`,
    },
    {
      type: 'points',
      points: [
        {
          x: n,
          y: (100 * right[n - 1]!) / n,
          tip: `after ${fmtInt(n)} tasks: ${fmt((100 * right[n - 1]!) / n, 5)}% right (${fmtInt(right[n - 1]!)} of ${fmtInt(n)})`,
        },
      ],
      cls: 's0',
    },
  ];
  const svg = chart({
    title: 'Accuracy over the tasks, in scoring order',
    width: 720,
    height: 300,
    x: { label: 'tasks scored', min: 1, max: Math.max(2, n) },
    y: { label: 'accuracy (%)', min: 0, max: 100 },
    marks,
  });
  return (
    svg +
    legend([
      { cls: 's0', label: 'running accuracy', kind: 'line' },
      { cls: 'muted', label: 'Wilson 95% interval', kind: 'dashed' },
      { cls: 's3', label: 'random chance', kind: 'dashed' },
    ])
  );
}

export function marginChart(result: TasksResult, records: readonly TaskRecord[]): string {
  const margins = records.map((r) => r.margin).filter((m): m is number => m !== null);
  if (margins.length < 2) return '';
  let lo = Math.min(...margins, 0);
  let hi = Math.max(...margins, 0);
  if (lo === hi) (lo -= 1), (hi += 1);
  // About 40 bins, with 0 on a bin edge so that right and wrong tasks never share a bar.
  const w = (hi - lo) / 40;
  lo = Math.floor(lo / w) * w;
  hi = Math.ceil(hi / w) * w;
  const bins = Math.max(1, Math.round((hi - lo) / w));
  const right = new Array<number>(bins).fill(0);
  const wrong = new Array<number>(bins).fill(0);
  for (const r of records) {
    if (r.margin === null) continue;
    const b = Math.min(bins - 1, Math.floor((r.margin - lo) / w));
    (r.correct ? right : wrong)[b]!++;
  }
  const bar = (counts: number[], what: string) =>
    counts.map((c, i) => ({
      x0: lo + i * w,
      x1: lo + (i + 1) * w,
      y1: c,
      tip: `margin in [${fmt(lo + i * w, 3)}, ${fmt(lo + (i + 1) * w, 3)}): ${fmtInt(c)} ${what}`,
    }));
  const unit =
    result.normalization === 'per_token' ? 'nats/token' : result.normalization === 'per_char' ? 'nats/char' : 'nats';
  const ymax = Math.max(1, ...right, ...wrong) * 1.08;
  const svg = chart({
    title: 'Margins: best right choice minus best wrong choice',
    width: 720,
    height: 280,
    x: { label: `margin (${unit})`, min: lo, max: hi },
    y: { label: 'tasks', min: 0, max: ymax, format: (v) => fmtInt(v) },
    marks: [
      { type: 'bars', bars: bar(right, 'right tasks'), cls: 's2' },
      { type: 'bars', bars: bar(wrong, 'wrong tasks'), cls: 'accent' },
      { type: 'rule', x: 0, cls: 'muted', label: '' },
    ],
  });
  return (
    svg +
    legend([
      { cls: 's2', label: 'right (margin > 0)', kind: 'bar' },
      { cls: 'accent', label: 'wrong', kind: 'bar' },
    ])
  );
}
