/**
 * Model comparison: bits per byte of each model with its 95% confidence interval
 * (a dot-and-whisker chart, best model on top), and the paired differences a − b
 * with their intervals against a zero line (a forest plot): an interval that
 * excludes 0 means the ranking of that pair is not down to chance at 95%.
 */

import type { CompareResult } from '../../results/schema.js';
import { fmt } from '../format.js';
import { chart, legend, type Mark } from '../svg.js';

function span(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const pad = Math.max((hi - lo) * 0.12, Math.abs(hi) * 0.01, 1e-3);
  lo -= pad;
  hi += pad;
  return [lo, hi];
}

function catAxis(names: string[]): {
  label: string;
  min: number;
  max: number;
  ticks: number[];
  format: (v: number) => string;
} {
  const short = names.map((n) => (n.length > 44 ? `…${n.slice(-43)}` : n));
  return {
    label: '',
    min: -0.6,
    max: names.length - 0.4,
    ticks: names.map((_, i) => i),
    format: (v) => short[Math.round(v)] ?? '',
  };
}

function leftMargin(names: string[]): number {
  return Math.min(320, 24 + 6.6 * Math.max(...names.map((n) => Math.min(44, n.length))));
}

export function compareChart(r: CompareResult): string {
  const models = [...r.models].sort((a, b) => b.bits_per_byte - a.bits_per_byte); // best (lowest) ends up on top
  const names = models.map((m) => m.model);
  const [lo, hi] = span(
    models.flatMap((m) => [
      m.bits_per_byte,
      m.bits_per_byte_ci95_lo ?? m.bits_per_byte,
      m.bits_per_byte_ci95_hi ?? m.bits_per_byte,
    ]),
  );
  const tip = (i: number): string => {
    const m = models[i]!;
    const ci =
      m.bits_per_byte_ci95_lo !== undefined
        ? ` (95% CI ${fmt(m.bits_per_byte_ci95_lo)} to ${fmt(m.bits_per_byte_ci95_hi!)})`
        : ' (no interval)';
    return `${m.model}: ${fmt(m.bits_per_byte)} bits/byte${ci}`;
  };
  const marks: Mark[] = [
    {
      type: 'errorbars',
      items: models.map((m, i) => ({
        y: i,
        x: m.bits_per_byte,
        lo: m.bits_per_byte_ci95_lo ?? m.bits_per_byte,
        hi: m.bits_per_byte_ci95_hi ?? m.bits_per_byte,
        tip: tip(i),
      })),
      cls: 's0',
    },
  ];
  const svg = chart({
    title: 'Bits per byte of each model with 95% confidence intervals',
    width: 720,
    height: 70 + 44 * models.length,
    x: { label: 'cross-entropy (bits per byte, lower is better)', min: lo, max: hi },
    y: catAxis(names),
    marks,
    marginLeft: leftMargin(names),
  });
  return svg + legend([{ cls: 's0', label: 'bits per byte, whiskers: 95% confidence interval', kind: 'point' }]);
}

export function pairsChart(r: CompareResult): string {
  const pairs = r.pairs ?? [];
  if (pairs.length === 0) return '';
  const names = pairs.map((p) => `${p.a} − ${p.b}`);
  const [lo0, hi0] = span(pairs.flatMap((p) => [p.diff_ci95_lo, p.diff_ci95_hi, 0]));
  const svg = chart({
    title: 'Paired differences in bits per byte with 95% confidence intervals',
    width: 720,
    height: 70 + 40 * pairs.length,
    x: { label: 'difference a − b (bits per byte; < 0: a is better)', min: lo0, max: hi0 },
    y: catAxis(names),
    marks: [
      { type: 'rule', x: 0, cls: 'muted' },
      {
        type: 'errorbars',
        items: pairs.map((p, i) => ({
          y: i,
          x: p.diff_bits_per_byte,
          lo: p.diff_ci95_lo,
          hi: p.diff_ci95_hi,
          tip: `${p.a} − ${p.b}: ${fmt(p.diff_bits_per_byte)} bits/byte (95% CI ${fmt(p.diff_ci95_lo)} to ${fmt(p.diff_ci95_hi)})${p.diff_ci95_lo > 0 || p.diff_ci95_hi < 0 ? ', excludes 0' : ', includes 0'}`,
        })),
        cls: 's3',
      },
    ],
    marginLeft: leftMargin(names),
  });
  return svg + legend([{ cls: 's3', label: 'paired difference, whiskers: 95% confidence interval', kind: 'point' }]);
}
