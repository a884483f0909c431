/**
 * Calibration of per-token (or per-example) top-1 confidences: expected calibration error
 * (Naeini et al. 2015; Guo et al. 2017) in torchmetrics' binning, and the data of a
 * reliability diagram.
 *
 * Binning (torchmetrics 1.x `_binning_bucketize`, checked against torchmetrics 1.9.0):
 *   boundaries b_i = i/n, i = 0..n (torch.linspace(0, 1, n + 1); n = nBins, default 15;
 *   see binBoundaries for the last-ulp caveat);
 *   confidence c goes to bin i with b_i ≤ c < b_{i+1} (torch.bucketize(right=True) − 1),
 *   and c = 1 exactly goes to an extra bin n — so intervals are [lo, hi).
 *   `intervals: 'right-closed'` gives (lo, hi] instead (torchmetrics ≤ 0.10 and Guo et al.'s
 *   code), where c = 0 falls in no bin and is ignored, as there.
 * Per bin: acc_i = mean correctness, conf_i = mean confidence, prop_i = count_i / N.
 *   L1  (ECE) = Σ_i prop_i·|acc_i − conf_i|
 *   L2        = √(Σ_i prop_i·(acc_i − conf_i)²)
 *   max (MCE) = max_i |acc_i − conf_i| over all bins (empty bins contribute 0).
 * Confidences must lie in [0, 1]; correctness is 0/1 (or boolean).
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import type { Matrix } from '../core/tensor.js';
import { checkMatrix, describe } from '../core/tensor.js';
import { checkNumbers, checkSameLength, isArrayLike } from './check.js';

export type CalibrationNorm = 'l1' | 'l2' | 'max';

export interface CalibrationOptions {
  nBins?: number;
  /** 'left-closed' [lo, hi) (torchmetrics 1.x, default) or 'right-closed' (lo, hi]. */
  intervals?: 'left-closed' | 'right-closed';
}

export interface ReliabilityBin {
  /** Bin edges. */
  lo: number;
  hi: number;
  count: number;
  /** Mean confidence and accuracy of the bin (0 for an empty bin, as torchmetrics' nan_to_num). */
  meanConfidence: number;
  accuracy: number;
}

export interface ReliabilityDiagram {
  bins: ReliabilityBin[];
  /** Items binned (all of them, except c = 0 under 'right-closed'). */
  total: number;
  ece: number;
  l2: number;
  mce: number;
  /** Mean confidence and mean accuracy over all binned items. */
  meanConfidence: number;
  accuracy: number;
}

/**
 * The bin boundaries i/n, i = 0..n, correctly rounded. torch.linspace(0, 1, n + 1) agrees
 * with them to 1 ulp, but its float64 values depend on the CPU's vector width (its kernel
 * adds multiples of the step to per-vector bases), so a confidence lying EXACTLY on an
 * interior boundary may fall in the neighbouring bin in a given torch build.
 */
export function binBoundaries(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) out[i] = i / n;
  return out;
}

function checkCorrect(op: string, x: unknown, n: number): Float64Array {
  if (!isArrayLike(x))
    throw new XentError('invalid_argument', op, `correct must be an array of 0/1 or booleans, got ${describe(x)}`, {
      arg: 'correct',
    });
  checkSameLength(op, 'correct', x.length, 'confidences', n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (v === true || v === 1) out[i] = 1;
    else if (v === false || v === 0) out[i] = 0;
    else
      throw new XentError('invalid_argument', op, `correct[${i}] must be 0, 1 or a boolean, got ${describe(v)}`, {
        arg: 'correct',
        row: i,
        value: v,
      });
  }
  return out;
}

/** Reliability-diagram data and the three calibration errors. */
export function reliabilityDiagram(
  confidences: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  options?: CalibrationOptions,
): ReliabilityDiagram {
  const op = 'reliabilityDiagram';
  const o = checkOptions(op, options);
  const nBins = o.nBins ?? 15;
  if (!Number.isInteger(nBins) || nBins < 1)
    throw new XentError('invalid_argument', op, `nBins must be an integer ≥ 1, got ${describe(nBins)}`, {
      arg: 'nBins',
      value: nBins,
    });
  const intervals = o.intervals ?? 'left-closed';
  if (intervals !== 'left-closed' && intervals !== 'right-closed') {
    throw new XentError(
      'invalid_argument',
      op,
      `intervals must be 'left-closed' or 'right-closed', got ${describe(intervals)}`,
      { arg: 'intervals' },
    );
  }
  const c = checkNumbers(op, 'confidences', confidences, { min: 0, max: 1 });
  const a = checkCorrect(op, correct, c.length);
  const b = binBoundaries(nBins);
  // left-closed: n + 1 bins (the last holds c = 1 exactly); right-closed: n bins.
  const nb = intervals === 'left-closed' ? nBins + 1 : nBins;
  const count = new Float64Array(nb);
  const sumConf = new Float64Array(nb);
  const sumAcc = new Float64Array(nb);
  for (let k = 0; k < c.length; k++) {
    const x = c[k] as number;
    let idx: number;
    if (intervals === 'left-closed') {
      // number of boundaries ≤ x, minus 1 (torch.bucketize(right=True) − 1)
      let lo = 0;
      let hi = b.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((b[mid] as number) <= x) lo = mid + 1;
        else hi = mid;
      }
      idx = lo - 1;
    } else {
      // bin i holds b_i < x ≤ b_{i+1}: number of boundaries < x, minus 1
      let lo = 0;
      let hi = b.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((b[mid] as number) < x) lo = mid + 1;
        else hi = mid;
      }
      idx = lo - 1;
      if (idx < 0) continue; // c = 0 lies in no (lo, hi] bin
    }
    count[idx] = (count[idx] as number) + 1;
    sumConf[idx] = (sumConf[idx] as number) + x;
    sumAcc[idx] = (sumAcc[idx] as number) + (a[k] as number);
  }
  let total = 0;
  for (const n of count) total += n;
  const bins: ReliabilityBin[] = [];
  let ece = 0;
  let l2 = 0;
  let mce = 0;
  let sc = 0;
  let sa = 0;
  for (let i = 0; i < nb; i++) {
    const n = count[i] as number;
    const conf = n > 0 ? (sumConf[i] as number) / n : 0;
    const acc = n > 0 ? (sumAcc[i] as number) / n : 0;
    const prop = total > 0 ? n / total : 0;
    const gap = Math.abs(acc - conf);
    ece += gap * prop;
    l2 += (acc - conf) ** 2 * prop;
    if (gap > mce) mce = gap;
    sc += sumConf[i] as number;
    sa += sumAcc[i] as number;
    bins.push({
      lo: b[Math.min(i, nBins)] as number,
      hi: i < nBins ? (b[i + 1] as number) : 1,
      count: n,
      meanConfidence: conf,
      accuracy: acc,
    });
  }
  if (intervals === 'right-closed')
    bins.forEach((bin, i) => {
      (bin.lo = b[i] as number), (bin.hi = b[i + 1] as number);
    });
  return {
    bins,
    total,
    ece,
    l2: l2 > 0 ? Math.sqrt(l2) : 0,
    mce,
    meanConfidence: total > 0 ? sc / total : 0,
    accuracy: total > 0 ? sa / total : 0,
  };
}

/** Calibration error in one norm: 'l1' (ECE, default), 'l2' or 'max' (MCE). */
export function calibrationError(
  confidences: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  options?: CalibrationOptions & { norm?: CalibrationNorm },
): number {
  const op = 'calibrationError';
  const o = checkOptions(op, options);
  const norm = o.norm ?? 'l1';
  if (norm !== 'l1' && norm !== 'l2' && norm !== 'max')
    throw new XentError('invalid_argument', op, `norm must be 'l1', 'l2' or 'max', got ${describe(norm)}`, {
      arg: 'norm',
    });
  const d = reliabilityDiagram(confidences, correct, o);
  return norm === 'l1' ? d.ece : norm === 'l2' ? d.l2 : d.mce;
}

/**
 * Top-1 confidences and correctness from an [N, V] matrix of probabilities (each row a
 * distribution) and N class indices, as torchmetrics' multiclass update: confidence =
 * max_v probs[n, v], correct = [argmax = target] (first maximum on ties).
 */
export function topLabelConfidences(
  probs: Matrix,
  target: ArrayLike<number>,
): { confidences: Float64Array; correct: Uint8Array } {
  const op = 'topLabelConfidences';
  const [n, v] = checkMatrix(op, 'probs', probs);
  if (!isArrayLike(target))
    throw new XentError('invalid_argument', op, `target must be an array of class indices, got ${describe(target)}`, {
      arg: 'target',
    });
  checkSameLength(op, 'target', target.length, 'probs rows', n);
  if (v === 0) throw new XentError('empty_input', op, 'probs has no columns', { arg: 'probs' });
  const confidences = new Float64Array(n);
  const correct = new Uint8Array(n);
  const d = probs.data;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let j = 0; j < v; j++) {
      const x = d[i * v + j] as number;
      if (!(x >= 0 && x <= 1))
        throw new XentError('invalid_argument', op, `probs[${i}, ${j}] = ${x} is not a probability in [0, 1]`, {
          arg: 'probs',
          row: i,
          column: j,
          value: x,
        });
      if (x > bv) (bv = x), (best = j);
    }
    const t = target[i];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= v) {
      throw new XentError('index_out_of_range', op, `target[${i}] = ${String(t)} is out of range [0, ${v})`, {
        arg: 'target',
        row: i,
        value: t,
      });
    }
    confidences[i] = bv;
    correct[i] = best === t ? 1 : 0;
  }
  return { confidences, correct };
}
