/**
 * The distribution of per-token KL divergence KL(base ‖ model), in nats.
 * With a histogram (`kld_histogram`) it is drawn as bars (log-spaced x axis when
 * the bins span more than two decades, as KLD is heavy-tailed); otherwise the
 * percentiles llama.cpp prints are drawn as a quantile curve.
 */

import type { KldResult } from '../../results/schema.js';
import { fmt, fmtInt } from '../format.js';
import { chart, legend, type Mark } from '../svg.js';

const PERCENTILES: ReadonlyArray<[keyof KldResult, number]> = [
  ['kld_min', 0],
  ['kld_p01', 1],
  ['kld_p05', 5],
  ['kld_p10', 10],
  ['kld_median', 50],
  ['kld_p90', 90],
  ['kld_p95', 95],
  ['kld_p99', 99],
  ['kld_p999', 99.9],
  ['kld_max', 100],
];

export function kldChart(r: KldResult): string {
  const h = r.kld_histogram;
  if (h) {
    const e = h.edges_nats;
    const total = h.counts.reduce((a, b) => a + b, 0);
    const log = e[0]! > 0 && e[e.length - 1]! / e[0]! > 100;
    const ymax = Math.max(1, ...h.counts) * 1.08;
    const marks: Mark[] = [
      {
        type: 'bars',
        bars: h.counts.map((c, i) => ({
          x0: e[i]!,
          x1: e[i + 1]!,
          y1: c,
          tip: `KLD in [${fmt(e[i]!, 3)}, ${fmt(e[i + 1]!, 3)}) nats: ${fmtInt(c)} tokens (${fmt((100 * c) / Math.max(1, total), 3)}%)`,
        })),
        cls: 's2',
      },
      { type: 'rule', x: r.kld_mean, cls: 'accent', label: `mean ${fmt(r.kld_mean, 3)}` },
    ];
    if (r.kld_median !== undefined && (!log || r.kld_median > 0))
      marks.push({ type: 'rule', x: r.kld_median, cls: 's3', label: '' });
    const svg = chart({
      title: 'Distribution of per-token KL divergence',
      width: 720,
      height: 300,
      x: { label: 'KL divergence per token (nats)', min: e[0]!, max: e[e.length - 1]!, log },
      y: { label: 'tokens', min: 0, max: ymax, format: (v) => fmtInt(v) },
      marks,
    });
    const items: Array<{ cls: string; label: string; kind?: 'bar' | 'dashed' }> = [
      { cls: 's2', label: 'tokens per bin', kind: 'bar' },
      { cls: 'accent', label: `mean KLD ${fmt(r.kld_mean)} nats`, kind: 'dashed' },
    ];
    if (r.kld_median !== undefined)
      items.push({ cls: 's3', label: `median ${fmt(r.kld_median)} nats`, kind: 'dashed' });
    return svg + legend(items);
  }
  const pts = PERCENTILES.filter(([k]) => typeof r[k] === 'number').map(([k, q]) => ({ q, v: r[k] as number }));
  if (pts.length < 2) return '';
  const pos = pts.filter((p) => p.v > 0);
  const log = pos.length === pts.length && pts[pts.length - 1]!.v / pts[0]!.v > 100;
  const vals = pts.map((p) => p.v);
  const lo = log ? Math.min(...vals) / 1.5 : Math.min(0, ...vals);
  const hi = log ? Math.max(...vals) * 1.5 : Math.max(...vals) * 1.08 || 1;
  const svg = chart({
    title: 'Percentiles of per-token KL divergence',
    width: 720,
    height: 300,
    x: { label: 'percentile of tokens', min: 0, max: 100, ticks: [0, 10, 25, 50, 75, 90, 100] },
    y: { label: 'KL divergence (nats)', min: lo, max: hi, log },
    marks: [
      { type: 'line', points: pts.map((p) => [p.q, p.v] as const), cls: 's2' },
      {
        type: 'points',
        points: pts.map((p) => ({
          x: p.q,
          y: p.v,
          tip: `${p.q === 0 ? 'minimum' : p.q === 100 ? 'maximum' : `${p.q}th percentile`}: ${fmt(p.v)} nats`,
        })),
        cls: 's2',
      },
      { type: 'rule', y: r.kld_mean, cls: 'accent', label: `mean ${fmt(r.kld_mean, 3)} nats` },
    ],
  });
  return (
    svg +
    legend([
      { cls: 's2', label: 'KLD percentiles', kind: 'line' },
      { cls: 'accent', label: 'mean KLD', kind: 'line' },
    ])
  );
}
