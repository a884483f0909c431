/**
 * Seeded percentile bootstrap of ratio estimates (cross-entropy = Σ loss / Σ count over
 * units: chunks or documents), for confidence intervals of one estimate, of a paired
 * difference (two models scored on the same units: the units are resampled jointly), and
 * of an unpaired difference (two domains: each resampled on its own).
 *
 * A unit i carries num[i] (e.g. nats or bits) and den[i] (tokens or bytes); a replicate
 * draws n units with replacement and computes Σnum/Σden. The 95% interval is the 2.5% and
 * 97.5% percentiles of B replicates (linear interpolation), B = 2000 by default. The draws
 * come from the counter-based generator of src/core/rng.ts, so a seed fixes the interval.
 */
import { XentError } from './errors.js';
import { streamKey, uniformAt } from './rng.js';

export interface BootstrapOptions {
  /** Replicates (default 2000). */
  replicates?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Coverage (default 0.95). */
  level?: number;
}

export interface Interval {
  lo: number;
  hi: number;
}

function quantile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const p = q * (n - 1);
  const i = Math.floor(p);
  const f = p - i;
  return i + 1 < n ? (1 - f) * sorted[i]! + f * sorted[i + 1]! : sorted[n - 1]!;
}

function check(op: string, num: ArrayLike<number>, den: ArrayLike<number>, what: string): void {
  if (num.length !== den.length)
    throw new XentError('shape_mismatch', op, `${what}: ${num.length} numerators but ${den.length} denominators`);
  if (num.length === 0) throw new XentError('empty_input', op, `${what}: no units to resample`);
}

function sortedInterval(reps: Float64Array, level: number): Interval {
  reps.sort();
  const a = (1 - level) / 2;
  return { lo: quantile(reps, a), hi: quantile(reps, 1 - a) };
}

/** Index draws of replicate b (stream b of the seed). */
function draw(key: number, i: number, n: number): number {
  return Math.min(n - 1, Math.floor(uniformAt(key, i) * n));
}

/** CI of Σnum/Σden. */
export function bootstrapRatio(num: ArrayLike<number>, den: ArrayLike<number>, opts: BootstrapOptions = {}): Interval {
  check('bootstrap', num, den, 'ratio');
  const B = opts.replicates ?? 2000;
  const n = num.length;
  const reps = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const key = streamKey(opts.seed ?? 0, b);
    let s = 0;
    let d = 0;
    for (let i = 0; i < n; i++) {
      const j = draw(key, i, n);
      s += num[j]!;
      d += den[j]!;
    }
    reps[b] = s / d;
  }
  return sortedInterval(reps, opts.level ?? 0.95);
}

/**
 * CI of Σa/Σden − Σb/Σden' for two models scored on the same units (paired: one draw of
 * unit indices per replicate for both). denA and denB may differ (e.g. tokens) or be the
 * same array (bytes).
 */
export function bootstrapPairedDiff(
  numA: ArrayLike<number>,
  denA: ArrayLike<number>,
  numB: ArrayLike<number>,
  denB: ArrayLike<number>,
  opts: BootstrapOptions = {},
): Interval {
  check('bootstrap', numA, denA, 'model a');
  check('bootstrap', numB, denB, 'model b');
  if (numA.length !== numB.length)
    throw new XentError(
      'shape_mismatch',
      'bootstrap',
      `paired units differ in number: ${numA.length} and ${numB.length}`,
    );
  const B = opts.replicates ?? 2000;
  const n = numA.length;
  const reps = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const key = streamKey(opts.seed ?? 0, b);
    let sa = 0;
    let da = 0;
    let sb = 0;
    let db = 0;
    for (let i = 0; i < n; i++) {
      const j = draw(key, i, n);
      sa += numA[j]!;
      da += denA[j]!;
      sb += numB[j]!;
      db += denB[j]!;
    }
    reps[b] = sa / da - sb / db;
  }
  return sortedInterval(reps, opts.level ?? 0.95);
}

/** CI of Σa/Σden_a − Σb/Σden_b for independent samples (two domains): each resampled on its own. */
export function bootstrapUnpairedDiff(
  numA: ArrayLike<number>,
  denA: ArrayLike<number>,
  numB: ArrayLike<number>,
  denB: ArrayLike<number>,
  opts: BootstrapOptions = {},
): Interval {
  check('bootstrap', numA, denA, 'sample a');
  check('bootstrap', numB, denB, 'sample b');
  const B = opts.replicates ?? 2000;
  const reps = new Float64Array(B);
  const seed = opts.seed ?? 0;
  for (let b = 0; b < B; b++) {
    const ka = streamKey(seed, 2 * b);
    const kb = streamKey(seed, 2 * b + 1);
    let sa = 0;
    let da = 0;
    for (let i = 0; i < numA.length; i++) {
      const j = draw(ka, i, numA.length);
      sa += numA[j]!;
      da += denA[j]!;
    }
    let sb = 0;
    let db = 0;
    for (let i = 0; i < numB.length; i++) {
      const j = draw(kb, i, numB.length);
      sb += numB[j]!;
      db += denB[j]!;
    }
    reps[b] = sa / da - sb / db;
  }
  return sortedInterval(reps, opts.level ?? 0.95);
}
