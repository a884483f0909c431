/**
 * Training and validation loss against step. Left axis nats per token; right axes
 * the same values in bits per token and as perplexity (e^nats, log-spaced ticks).
 * Validation points carry all three in their tips; the best checkpoint (lowest
 * validation loss, or `best_step`) is marked with a rule and a diamond.
 */

import type { CurvePoint, TrainCurves } from '../../results/schema.js';
import { fmt, fmtInt } from '../format.js';
import { chart, legend, type Mark } from '../svg.js';
import { BITS_AXIS } from './basics.js';

/** At most `max` points: means over equal buckets of steps, keeping the last point. */
export function downsample(points: readonly CurvePoint[], max: number): Array<[number, number]> {
  if (points.length <= max) return points.map((p) => [p.step, p.nats_per_token]);
  const out: Array<[number, number]> = [];
  const per = points.length / max;
  for (let b = 0; b < max; b++) {
    const lo = Math.floor(b * per);
    const hi = Math.min(points.length, Math.floor((b + 1) * per));
    let s = 0;
    let st = 0;
    for (let i = lo; i < hi; i++) {
      s += points[i]!.nats_per_token;
      st += points[i]!.step;
    }
    if (hi > lo) out.push([st / (hi - lo), s / (hi - lo)]);
  }
  return out;
}

/** The best validation point: `best_step` when given, else the lowest loss (first on ties). */
export function bestPoint(c: TrainCurves): CurvePoint | undefined {
  if (c.best_step !== undefined) return c.val.find((p) => p.step === c.best_step);
  let best: CurvePoint | undefined;
  for (const p of c.val) if (!best || p.nats_per_token < best.nats_per_token) best = p;
  return best;
}

export function describePoint(p: CurvePoint, what: string): string {
  const n = p.nats_per_token;
  return `${what} at step ${fmtInt(p.step)}: ${fmt(n)} nats = ${fmt(n / Math.LN2)} bits per token, perplexity ${fmt(Math.exp(n))}${p.bits_per_byte !== undefined ? `, ${fmt(p.bits_per_byte)} bits/byte` : ''}`;
}

export function trainChart(c: TrainCurves): string {
  const all = [...c.train, ...c.val];
  const steps = all.map((p) => p.step);
  const ys = all.map((p) => p.nats_per_token);
  const x0 = Math.min(...steps);
  const x1 = Math.max(...steps, x0 + 1);
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  const pad = Math.max(0.05, (hi - lo) * 0.06);
  lo = Math.max(0, lo - pad);
  hi = hi + pad;
  const best = bestPoint(c);
  const marks: Mark[] = [];
  if (c.train.length) marks.push({ type: 'line', points: downsample(c.train, 800), cls: 's0' });
  if (c.val.length) {
    marks.push({ type: 'line', points: c.val.map((p) => [p.step, p.nats_per_token] as const), cls: 's1' });
    marks.push({
      type: 'points',
      points: c.val.slice(-400).map((p) => ({ x: p.step, y: p.nats_per_token, tip: describePoint(p, 'validation') })),
      cls: 's1',
      r: c.val.length > 60 ? 2.2 : 3.2,
    });
  }
  if (best) {
    marks.push({ type: 'rule', x: best.step, cls: 'accent', label: `best: step ${fmtInt(best.step)}` });
    marks.push({
      type: 'points',
      points: [{ x: best.step, y: best.nats_per_token, tip: describePoint(best, 'best checkpoint') }],
      cls: 'accent',
      r: 5.5,
      shape: 'diamond',
    });
  }
  const svg = chart({
    title: 'Training and validation loss',
    width: 960,
    height: 380,
    x: { label: 'step', min: x0, max: x1 },
    y: { label: 'cross-entropy (nats per token)', min: lo, max: hi },
    y2: [
      { ...BITS_AXIS, label: 'bits per token' },
      { label: 'perplexity', from: (y) => Math.exp(y), to: (v) => Math.log(v), log: true },
    ],
    marks,
  });
  const items: Array<{ cls: string; label: string; kind?: 'line' | 'diamond' }> = [];
  if (c.train.length) items.push({ cls: 's0', label: 'training loss' });
  if (c.val.length) items.push({ cls: 's1', label: 'validation loss' });
  if (best) items.push({ cls: 'accent', label: 'best checkpoint', kind: 'diamond' });
  return svg + legend(items);
}
