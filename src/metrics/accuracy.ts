/**
 * Accuracy and top-k accuracy, as scikit-learn 1.2 `accuracy_score` and
 * `top_k_accuracy_score` (multiclass case, `labels = range(V)`).
 *
 *   accuracy(yTrue, yPred)          = Σ_i w_i·[yTrue_i = yPred_i] / Σ_i w_i   (normalize, default)
 *                                   = Σ_i w_i·[yTrue_i = yPred_i]             (normalize: false)
 *   topKAccuracy(target, scores, k) : row i is a hit when target_i is among the k largest
 *                                     scores of row i.
 *
 * Ties in top-k follow scikit-learn, which ranks a row with a stable ascending argsort
 * (`kind="mergesort"`) and reverses it: among equal scores the HIGHER class index ranks
 * first. So class c is in the top k iff #{j : s_j > s_c} + #{j > c : s_j = s_c} < k.
 * k ≥ V makes every row a hit (scikit-learn warns that the score is then meaningless;
 * the result's `meaningless` flag says so here).
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { NeumaierSum } from '../core/sum.js';
import type { Matrix } from '../core/tensor.js';
import { checkMatrix, describe } from '../core/tensor.js';
import type { Label } from './check.js';
import { checkLabels, checkNumbers, checkSameLength, isArrayLike } from './check.js';

export interface AccuracyOptions {
  /** true (default): fraction of correct rows; false: (weighted) count of correct rows. */
  normalize?: boolean;
  /** One non-negative weight per row (scikit-learn's sample_weight). */
  sampleWeight?: ArrayLike<number>;
}

function checkWeights(op: string, w: unknown, n: number): Float64Array | null {
  if (w === undefined || w === null) return null;
  const a = checkNumbers(op, 'sampleWeight', w, { allowEmpty: true, min: 0 });
  checkSameLength(op, 'sampleWeight', a.length, 'yTrue', n);
  return a;
}

function checkNormalize(op: string, x: unknown): boolean {
  if (x === undefined) return true;
  if (typeof x !== 'boolean')
    throw new XentError('invalid_argument', op, `normalize must be a boolean, got ${describe(x)}`, {
      arg: 'normalize',
      value: x,
    });
  return x;
}

/** Weighted mean (or weighted sum) of 0/1 hits; a zero total weight is an error as in numpy. */
function reduceHits(op: string, hits: Uint8Array, w: Float64Array | null, normalize: boolean): number {
  const num = new NeumaierSum();
  const den = new NeumaierSum();
  for (let i = 0; i < hits.length; i++) {
    const wi = w === null ? 1 : (w[i] as number);
    if (hits[i]) num.add(wi);
    den.add(wi);
  }
  if (!normalize) return num.value;
  if (!(den.value > 0)) {
    throw new XentError('invalid_argument', op, 'sampleWeight sums to 0; the weighted accuracy is undefined', {
      arg: 'sampleWeight',
    });
  }
  return num.value / den.value;
}

/** Fraction (or count) of rows whose predicted label equals the true label. */
export function accuracy(
  yTrue: readonly Label[] | ArrayLike<number>,
  yPred: readonly Label[] | ArrayLike<number>,
  options?: AccuracyOptions,
): number {
  const op = 'accuracy';
  const o = checkOptions(op, options);
  const t = checkLabels(op, 'yTrue', yTrue);
  const p = checkLabels(op, 'yPred', yPred);
  checkSameLength(op, 'yPred', p.length, 'yTrue', t.length);
  if (typeof t[0] !== typeof p[0]) {
    throw new XentError(
      'invalid_argument',
      op,
      `yTrue holds ${typeof t[0]}s but yPred holds ${typeof p[0]}s; labels must be of one type`,
      { arg: 'yPred' },
    );
  }
  const w = checkWeights(op, o.sampleWeight, t.length);
  const hits = new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) hits[i] = t[i] === p[i] ? 1 : 0;
  return reduceHits(op, hits, w, checkNormalize(op, o.normalize));
}

export interface TopKAccuracyOptions extends AccuracyOptions {
  /** How many of the highest-scoring classes count as a hit (default 2, as scikit-learn). */
  k?: number;
}

/**
 * Whether each row's target is among its k highest scores. `scores` is [N, V] (logits,
 * log-probabilities or probabilities: only the order within a row matters);
 * `target` holds N class indices in [0, V). NaN scores are refused.
 */
export function topKHits(target: ArrayLike<number>, scores: Matrix, k: number, op = 'topKHits'): Uint8Array {
  const [n, v] = checkMatrix(op, 'scores', scores);
  if (!isArrayLike(target))
    throw new XentError('invalid_argument', op, `target must be an array of class indices, got ${describe(target)}`, {
      arg: 'target',
    });
  checkSameLength(op, 'target', target.length, 'scores rows', n);
  if (!Number.isInteger(k) || k < 1)
    throw new XentError('invalid_argument', op, `k must be an integer ≥ 1, got ${describe(k)}`, { arg: 'k', value: k });
  const d = scores.data;
  const hits = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = target[i];
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= v) {
      throw new XentError('index_out_of_range', op, `target[${i}] = ${String(c)} is out of range [0, ${v})`, {
        arg: 'target',
        row: i,
        value: c,
      });
    }
    const base = i * v;
    const sc = d[base + c] as number;
    if (Number.isNaN(sc))
      throw new XentError('non_finite', op, `scores[${i}, ${c}] is NaN`, {
        arg: 'scores',
        row: i,
        column: c,
        value: sc,
      });
    let ahead = 0;
    for (let j = 0; j < v && ahead < k; j++) {
      const s = d[base + j] as number;
      if (Number.isNaN(s))
        throw new XentError('non_finite', op, `scores[${i}, ${j}] is NaN`, {
          arg: 'scores',
          row: i,
          column: j,
          value: s,
        });
      if (s > sc || (s === sc && j > c)) ahead++;
    }
    hits[i] = ahead < k ? 1 : 0;
  }
  return hits;
}

export interface TopKAccuracyResult {
  /** Fraction (normalize) or weighted count of rows whose target is in the top k. */
  value: number;
  k: number;
  /** true when k ≥ V: every row is a hit (scikit-learn's UndefinedMetricWarning). */
  meaningless: boolean;
}

/** Top-k accuracy of [N, V] scores against N class indices (scikit-learn top_k_accuracy_score). */
export function topKAccuracy(
  target: ArrayLike<number>,
  scores: Matrix,
  options?: TopKAccuracyOptions,
): TopKAccuracyResult {
  const op = 'topKAccuracy';
  const o = checkOptions(op, options);
  const k = o.k ?? 2;
  const hits = topKHits(target, scores, k, op);
  if (hits.length === 0) throw new XentError('empty_input', op, 'scores has no rows', { arg: 'scores' });
  const w = checkWeights(op, o.sampleWeight, hits.length);
  return { value: reduceHits(op, hits, w, checkNormalize(op, o.normalize)), k, meaningless: k >= scores.shape[1] };
}
