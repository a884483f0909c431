/**
 * Precision, recall and F-beta per class and averaged, as scikit-learn 1.2
 * `precision_recall_fscore_support` / `precision_score` / `recall_score` / `f1_score` /
 * `fbeta_score` for binary and multiclass targets (not multilabel, not 'samples').
 *
 * Per label ℓ (sums weighted by sampleWeight when given):
 *   tp_ℓ = #{i : yTrue_i = ℓ ∧ yPred_i = ℓ},  pred_ℓ = #{i : yPred_i = ℓ},  true_ℓ = #{i : yTrue_i = ℓ}
 *   precision_ℓ = tp_ℓ / pred_ℓ,   recall_ℓ = tp_ℓ / true_ℓ   (0/0 → zeroDivision)
 *   F_ℓ = (1 + β²)·P·R / (β²·P + R)   with a zero denominator replaced by 1 (so F = 0),
 *         exactly scikit-learn 1.2's formula. With zeroDivision = NaN (added in
 *         scikit-learn 1.3) F_ℓ = (1 + β²)·tp / (β²·true + pred), NaN when tp = pred = true = 0,
 *         and averages skip NaN entries (1.3's _nanaverage).
 * average: 'binary' (default, as scikit-learn: only the class posLabel, default 1; refused
 *          for more than two labels), 'micro' (pool tp/pred/true over labels first),
 *          'macro' (unweighted mean over labels), 'weighted' (mean weighted by true_ℓ),
 *          'none' (per-class arrays, scikit-learn's average=None).
 * labels:  which labels to report, in this order (may include labels absent from both
 *          yTrue and yPred); by default the sorted union of yTrue and yPred.
 * zeroDivision: 'warn' (default: 0 and a warning), 0, 1 or NaN.
 * Warnings are returned (`warnings`) and passed to `onWarning`; nothing is printed.
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { describe } from '../core/tensor.js';
import type { Label } from './check.js';
import { checkLabels, checkNumbers, checkSameLength, uniqueLabels } from './check.js';

export type Average = 'binary' | 'micro' | 'macro' | 'weighted' | 'none';
/** 'warn' → 0 with a warning; 0; 1; NaN. */
export type ZeroDivision = 'warn' | number;

export interface PrecisionRecallOptions {
  average?: Average;
  labels?: readonly Label[];
  posLabel?: Label;
  zeroDivision?: ZeroDivision;
  /** F-beta's β (default 1: F1); +Infinity gives recall. */
  beta?: number;
  sampleWeight?: ArrayLike<number>;
  /** Called with each warning scikit-learn would issue (ill-defined scores, ignored posLabel). */
  onWarning?: (message: string) => void;
}

export interface PrecisionRecallAveraged {
  average: Exclude<Average, 'none'>;
  precision: number;
  recall: number;
  fScore: number;
  support: null;
  warnings: string[];
}

export interface PrecisionRecallPerClass {
  average: 'none';
  labels: Label[];
  precision: number[];
  recall: number[];
  fScore: number[];
  /** true_ℓ: (weighted) number of rows whose true label is ℓ. */
  support: number[];
  warnings: string[];
}

export type PrecisionRecallResult = PrecisionRecallAveraged | PrecisionRecallPerClass;

type WarnFor = ReadonlySet<'precision' | 'recall' | 'f-score'>;
const ALL: WarnFor = new Set(['precision', 'recall', 'f-score']);
const AVERAGES: readonly Average[] = ['binary', 'micro', 'macro', 'weighted', 'none'];

function checkZeroDivision(op: string, z: unknown): ZeroDivision {
  if (z === undefined) return 'warn';
  if (z === 'warn' || z === 0 || z === 1 || (typeof z === 'number' && Number.isNaN(z))) return z as ZeroDivision;
  throw new XentError('invalid_argument', op, `zeroDivision must be 'warn', 0, 1 or NaN, got ${describe(z)}`, {
    arg: 'zeroDivision',
    value: z,
  });
}

/** scikit-learn's _warn_prf message. */
function prfMessage(what: string, modifier: string, resultSize: number): string {
  const where = resultSize === 1 ? 'due to' : 'in labels with';
  return `${what} ill-defined and being set to 0.0 ${where} no ${modifier} samples. Use \`zeroDivision\` parameter to control this behavior.`;
}

/** num/den elementwise; den = 0 → zeroDivision value (scikit-learn _prf_divide). Reports whether any was 0/0. */
function prfDivide(num: Float64Array, den: Float64Array, zd: ZeroDivision): { out: Float64Array; anyZero: boolean } {
  const out = new Float64Array(num.length);
  let anyZero = false;
  const fill = zd === 'warn' ? 0 : zd;
  for (let i = 0; i < num.length; i++) {
    const d = den[i] as number;
    if (d === 0) {
      anyZero = true;
      out[i] = fill;
    } else out[i] = (num[i] as number) / d;
  }
  return { out, anyZero };
}

/** numpy.average (weights summing to 0 → caller handles) or, in NaN mode, scikit-learn 1.3's _nanaverage. */
function average(x: Float64Array, w: Float64Array | null, nanMode: boolean): number {
  let sx = 0;
  let sw = 0;
  let count = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (nanMode && Number.isNaN(v)) continue;
    const wi = w === null ? 1 : (w[i] as number);
    sx += v * wi;
    sw += wi;
    count++;
  }
  if (nanMode) {
    if (count === 0) return NaN;
    if (sw === 0) return average(x, null, true); // all weights zero: unweighted (1.3's ZeroDivisionError fallback)
  }
  return sx / sw;
}

/** Per-class and averaged precision, recall, F-beta and support. */
export function precisionRecallFscoreSupport(
  yTrue: readonly Label[] | ArrayLike<number>,
  yPred: readonly Label[] | ArrayLike<number>,
  options: PrecisionRecallOptions & { average: 'none' },
): PrecisionRecallPerClass;
export function precisionRecallFscoreSupport(
  yTrue: readonly Label[] | ArrayLike<number>,
  yPred: readonly Label[] | ArrayLike<number>,
  options?: PrecisionRecallOptions & { average?: Exclude<Average, 'none'> },
): PrecisionRecallAveraged;
export function precisionRecallFscoreSupport(
  yTrue: readonly Label[] | ArrayLike<number>,
  yPred: readonly Label[] | ArrayLike<number>,
  options?: PrecisionRecallOptions,
): PrecisionRecallResult;
export function precisionRecallFscoreSupport(
  yTrue: readonly Label[] | ArrayLike<number>,
  yPred: readonly Label[] | ArrayLike<number>,
  options?: PrecisionRecallOptions,
): PrecisionRecallResult {
  return prfImpl('precisionRecallFscoreSupport', yTrue, yPred, options, ALL);
}

function prfImpl(
  op: string,
  yTrue: unknown,
  yPred: unknown,
  options: PrecisionRecallOptions | undefined,
  warnFor: WarnFor,
): PrecisionRecallResult {
  const o = checkOptions(op, options);
  const avg = o.average ?? 'binary';
  if (!AVERAGES.includes(avg)) {
    throw new XentError(
      'invalid_argument',
      op,
      `average must be one of ${AVERAGES.map((a) => `'${a}'`).join(', ')}, got ${describe(avg)}`,
      {
        arg: 'average',
        value: avg,
      },
    );
  }
  const zd = checkZeroDivision(op, o.zeroDivision);
  const nanMode = typeof zd === 'number' && Number.isNaN(zd);
  const beta = o.beta ?? 1;
  if (typeof beta !== 'number' || Number.isNaN(beta) || beta < 0) {
    throw new XentError('invalid_argument', op, `beta must be ≥ 0, got ${describe(beta)}`, {
      arg: 'beta',
      value: beta,
    });
  }
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    o.onWarning?.(m);
  };

  const t = checkLabels(op, 'yTrue', yTrue);
  const p = checkLabels(op, 'yPred', yPred);
  checkSameLength(op, 'yPred', p.length, 'yTrue', t.length);
  for (const [arg, arr] of [
    ['yTrue', t],
    ['yPred', p],
  ] as const) {
    for (let i = 0; i < arr.length; i++) {
      const e = arr[i];
      if (typeof e === 'number' && !Number.isInteger(e)) {
        throw new XentError(
          'invalid_argument',
          op,
          `${arg}[${i}] = ${e} is not an integer; classification labels are integers or strings (scikit-learn: continuous targets are refused)`,
          {
            arg,
            column: i,
            value: e,
          },
        );
      }
    }
  }
  const present = uniqueLabels(op, t, p);
  const sw =
    o.sampleWeight === undefined
      ? null
      : checkNumbers(op, 'sampleWeight', o.sampleWeight, { allowEmpty: true, min: 0 });
  if (sw !== null) checkSameLength(op, 'sampleWeight', sw.length, 'yTrue', t.length);

  // Which labels are reported (scikit-learn _check_set_wise_labels).
  let labels: Label[] | undefined = o.labels === undefined ? undefined : checkLabels(op, 'labels', o.labels);
  const posLabel = o.posLabel ?? 1;
  if (avg === 'binary') {
    if (present.length > 2) {
      throw new XentError(
        'invalid_argument',
        op,
        `target is multiclass (${present.length} labels) but average='binary'; choose 'micro', 'macro', 'weighted' or 'none'`,
        {
          arg: 'average',
          value: avg,
        },
      );
    }
    if (!present.includes(posLabel) && present.length >= 2) {
      throw new XentError(
        'invalid_argument',
        op,
        `posLabel=${JSON.stringify(posLabel)} is not a valid label; it should be one of ${JSON.stringify(present)}`,
        {
          arg: 'posLabel',
          value: posLabel,
        },
      );
    }
    labels = [posLabel];
  } else if (o.posLabel !== undefined && o.posLabel !== 1) {
    warn(
      `Note that posLabel (set to ${JSON.stringify(o.posLabel)}) is ignored when average != 'binary' (got '${avg}'). You may use labels=[posLabel] to specify a single positive class.`,
    );
  }
  if (labels !== undefined && present.length > 0 && labels.length > 0 && typeof labels[0] !== typeof present[0]) {
    throw new XentError(
      'invalid_argument',
      op,
      `labels holds ${typeof labels[0]}s but yTrue/yPred hold ${typeof present[0]}s`,
      { arg: 'labels' },
    );
  }
  const reported = labels ?? present;
  if (reported.length === 0)
    throw new XentError('empty_input', op, 'labels is empty; at least one label is needed', { arg: 'labels' });

  // Per-label sums over the rows (multilabel_confusion_matrix restricted to `reported`).
  const index = new Map<Label, number>();
  reported.forEach((l, i) => {
    if (!index.has(l)) index.set(l, i);
  });
  const L = reported.length;
  let tp: Float64Array = new Float64Array(L);
  let predSum: Float64Array = new Float64Array(L);
  let trueSum: Float64Array = new Float64Array(L);
  for (let i = 0; i < t.length; i++) {
    const w = sw === null ? 1 : (sw[i] as number);
    const ti = index.get(t[i] as Label);
    const pi = index.get(p[i] as Label);
    if (ti !== undefined) trueSum[ti] = (trueSum[ti] as number) + w;
    if (pi !== undefined) predSum[pi] = (predSum[pi] as number) + w;
    if (ti !== undefined && t[i] === p[i]) tp[ti] = (tp[ti] as number) + w;
  }
  // Duplicated labels repeat the first one's counts (numpy fancy indexing).
  for (let i = 0; i < L; i++) {
    const j = index.get(reported[i] as Label) as number;
    if (j !== i) {
      tp[i] = tp[j] as number;
      predSum[i] = predSum[j] as number;
      trueSum[i] = trueSum[j] as number;
    }
  }
  if (avg === 'micro') {
    const s = (a: Float64Array): Float64Array => Float64Array.of(a.reduce((x, y) => x + y, 0));
    tp = s(tp);
    predSum = s(predSum);
    trueSum = s(trueSum);
  }
  const size = tp.length;
  const P = prfDivide(tp, predSum, zd);
  const R = prfDivide(tp, trueSum, zd);
  if (zd === 'warn') {
    if (P.anyZero && warnFor.has('precision')) warn(prfMessage('Precision is', 'predicted', size));
    if (R.anyZero && warnFor.has('recall')) warn(prfMessage('Recall is', 'true', size));
  }
  const b2 = beta * beta;
  let F: Float64Array;
  if (beta === Infinity) F = R.out;
  else if (nanMode) {
    const num = tp.map((x) => (1 + b2) * x);
    const den = new Float64Array(size);
    for (let i = 0; i < size; i++) den[i] = b2 * (trueSum[i] as number) + (predSum[i] as number);
    F = prfDivide(num, den, zd).out;
  } else {
    if (zd === 'warn' && warnFor.size === 1 && warnFor.has('f-score')) {
      let ill = false;
      for (let i = 0; i < size; i++) if (trueSum[i] === 0 && predSum[i] === 0) ill = true;
      if (ill) warn(prfMessage('F-score is', 'true nor predicted', size));
    }
    F = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const pr = P.out[i] as number;
      const rc = R.out[i] as number;
      let den = b2 * pr + rc;
      if (den === 0) den = 1;
      F[i] = ((1 + b2) * pr * rc) / den;
    }
  }

  if (avg === 'none') {
    return {
      average: 'none',
      labels: [...reported],
      precision: Array.from(P.out),
      recall: Array.from(R.out),
      fScore: Array.from(F),
      support: Array.from(trueSum),
      warnings,
    };
  }
  let weights: Float64Array | null = null;
  if (avg === 'weighted') {
    weights = trueSum;
    const totalTrue = trueSum.reduce((x, y) => x + y, 0);
    if (totalTrue === 0 && !nanMode) {
      // scikit-learn 1.2: no true samples of any reported label.
      const zv = zd === 1 ? 1 : 0;
      const totalPred = predSum.reduce((x, y) => x + y, 0);
      if (totalPred === 0) return { average: avg, precision: zv, recall: zv, fScore: zv, support: null, warnings };
      return { average: avg, precision: 0, recall: zv, fScore: 0, support: null, warnings };
    }
  }
  return {
    average: avg,
    precision: average(P.out, weights, nanMode),
    recall: average(R.out, weights, nanMode),
    fScore: average(F, weights, nanMode),
    support: null,
    warnings,
  };
}

type Y = readonly Label[] | ArrayLike<number>;

function pick(r: PrecisionRecallResult, key: 'precision' | 'recall' | 'fScore'): number | number[] {
  return r[key];
}

/** Precision tp / (tp + fp) (scikit-learn precision_score). */
export function precisionScore(yTrue: Y, yPred: Y, options: PrecisionRecallOptions & { average: 'none' }): number[];
export function precisionScore(yTrue: Y, yPred: Y, options?: PrecisionRecallOptions): number;
export function precisionScore(yTrue: Y, yPred: Y, options?: PrecisionRecallOptions): number | number[] {
  return pick(prfImpl('precisionScore', yTrue, yPred, options, new Set(['precision'])), 'precision');
}

/** Recall tp / (tp + fn) (scikit-learn recall_score). */
export function recallScore(yTrue: Y, yPred: Y, options: PrecisionRecallOptions & { average: 'none' }): number[];
export function recallScore(yTrue: Y, yPred: Y, options?: PrecisionRecallOptions): number;
export function recallScore(yTrue: Y, yPred: Y, options?: PrecisionRecallOptions): number | number[] {
  return pick(prfImpl('recallScore', yTrue, yPred, options, new Set(['recall'])), 'recall');
}

/** F-beta (scikit-learn fbeta_score); `options.beta` is required. */
export function fbetaScore(
  yTrue: Y,
  yPred: Y,
  options: PrecisionRecallOptions & { beta: number; average: 'none' },
): number[];
export function fbetaScore(yTrue: Y, yPred: Y, options: PrecisionRecallOptions & { beta: number }): number;
export function fbetaScore(yTrue: Y, yPred: Y, options: PrecisionRecallOptions & { beta: number }): number | number[] {
  if (options === undefined || options === null || typeof options.beta !== 'number') {
    throw new XentError('invalid_argument', 'fbetaScore', `options.beta is required, got ${describe(options?.beta)}`, {
      arg: 'beta',
    });
  }
  return pick(prfImpl('fbetaScore', yTrue, yPred, options, new Set(['f-score'])), 'fScore');
}

/** F1 = 2·P·R / (P + R) (scikit-learn f1_score). */
export function f1Score(yTrue: Y, yPred: Y, options: PrecisionRecallOptions & { average: 'none' }): number[];
export function f1Score(yTrue: Y, yPred: Y, options?: PrecisionRecallOptions): number;
export function f1Score(yTrue: Y, yPred: Y, options?: PrecisionRecallOptions): number | number[] {
  return pick(prfImpl('f1Score', yTrue, yPred, { ...options, beta: 1 }, new Set(['f-score'])), 'fScore');
}
