/**
 * Histogram of per-token surprisal in 1-bit bins, each bar coloured like the
 * token view's surprisal classes so the chart doubles as that palette's key.
 */

import type { TokenRecord } from '../../results/schema.js';
import { fmt, fmtInt } from '../format.js';
import { chart } from '../svg.js';

/** Upper edges (bits) of the token view's surprisal classes t0…t6; t7 is ≥ 15 bits. */
export const SURPRISAL_EDGES_BITS: readonly number[] = [1, 2, 4, 6, 8, 11, 15];

/** The surprisal class (0…7) of a token with `bits` of surprisal. */
export function surprisalClass(bits: number): number {
  let b = 0;
  while (b < SURPRISAL_EDGES_BITS.length && bits >= SURPRISAL_EDGES_BITS[b]!) b++;
  return b;
}

export function surprisalHistogram(records: readonly TokenRecord[]): string {
  let top = 0;
  for (const r of records) if (r.bits > top) top = r.bits; // a loop: spreading 10⁶ records would overflow the stack
  const maxBits = Math.min(24, Math.max(1, Math.ceil(top + 1e-9)));
  const counts = new Array<number>(maxBits).fill(0);
  for (const r of records) counts[Math.min(maxBits - 1, Math.max(0, Math.floor(r.bits)))]!++;
  const n = records.length;
  const bars = counts.map((c, i) => ({
    x0: i,
    x1: i + 1,
    y1: c,
    tip: `${i}–${i + 1}${i === maxBits - 1 && maxBits === 24 ? '+' : ''} bits: ${fmtInt(c)} tokens (${fmt((100 * c) / n, 3)}%)`,
  }));
  // One mark per colour class, so each bar carries its class's fill.
  const byClass = new Map<number, typeof bars>();
  bars.forEach((b) => {
    const k = surprisalClass(b.x0 + 0.5);
    byClass.set(k, [...(byClass.get(k) ?? []), b]);
  });
  return chart({
    title: 'Distribution of per-token surprisal',
    width: 500,
    height: 280,
    x: { label: 'surprisal −log₂ p (bits)', min: 0, max: maxBits },
    y: { label: 'tokens', min: 0, max: Math.max(1, ...counts) * 1.08, format: (v) => fmtInt(v) },
    marks: [...byClass.entries()].map(([k, b]) => ({ type: 'bars' as const, bars: b, cls: `tb${k}` })),
  });
}
