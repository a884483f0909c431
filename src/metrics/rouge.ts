/**
 * ROUGE-N, ROUGE-L and ROUGE-Lsum (Lin 2004) exactly as Google's `rouge-score` package
 * (google-research/rouge: rouge_scorer.py, tokenize.py) computes them for one
 * target (reference) and one prediction:
 *
 *  - tokenizer: lowercase; every run of characters outside [a-z0-9] becomes a space
 *    (so all non-ASCII letters are dropped); split on whitespace; with useStemmer, tokens
 *    longer than 3 characters are Porter-stemmed (NLTK's PorterStemmer, default
 *    NLTK_EXTENSIONS mode: src/metrics/porter-stemmer.ts); empty tokens dropped;
 *  - rougeN: clipped n-gram overlap; P = overlap / max(#pred n-grams, 1),
 *    R = overlap / max(#target n-grams, 1), F = 2PR/(P+R) (0 when P+R = 0);
 *  - rougeL: sentence-level LCS of the whole token sequences (newlines ignored);
 *    P = LCS/|pred|, R = LCS/|target|; 0 when either side has no token;
 *  - rougeLsum: summary-level LCS (section 3.2 of the ROUGE paper): sentences are the
 *    non-empty lines; for each target sentence the union of its LCS with every predicted
 *    sentence (one LCS per pair, read back as rouge-score does), hits counted without
 *    double-counting tokens (as ROUGE-1.5.5); P = hits/|pred tokens|, R = hits/|target tokens|.
 *
 * `rouge-score` is not multilingual: text with no ASCII letters or digits scores 0.
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { describe } from '../core/tensor.js';
import { PorterStemmer } from './porter-stemmer.js';
import { pyLower } from './text.js';

export type RougeType = `rouge${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9}` | 'rougeL' | 'rougeLsum';

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

export interface RougeOptions {
  /** Which scores (default rouge1, rouge2, rougeL, rougeLsum). */
  rougeTypes?: readonly RougeType[];
  /** Porter-stem tokens longer than 3 characters (rouge-score's use_stemmer, default false). */
  useStemmer?: boolean;
}

const STEMMER = new PorterStemmer('NLTK_EXTENSIONS');
const DEFAULT_TYPES: readonly RougeType[] = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'];

/** rouge-score's tokenize.tokenize. */
export function rougeTokenize(text: string, useStemmer = false): string[] {
  const cleaned = pyLower(text).replace(/[^a-z0-9]+/g, ' ');
  const out: string[] = [];
  for (const raw of cleaned.split(/\s+/)) {
    const tok = useStemmer && raw.length > 3 ? STEMMER.stem(raw) : raw;
    if (/^[a-z0-9]+$/.test(tok)) out.push(tok);
  }
  return out;
}

function fmeasure(p: number, r: number): number {
  return p + r > 0 ? (2 * p * r) / (p + r) : 0;
}

function score(p: number, r: number): RougeScore {
  return { precision: p, recall: r, fmeasure: fmeasure(p, r) };
}

function ngrams(tokens: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const k = tokens.slice(i, i + n).join(' ');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

function scoreNgrams(target: Map<string, number>, pred: Map<string, number>): RougeScore {
  let overlap = 0;
  for (const [g, c] of target) overlap += Math.min(c, pred.get(g) ?? 0);
  let nt = 0;
  let np = 0;
  for (const c of target.values()) nt += c;
  for (const c of pred.values()) np += c;
  return score(overlap / Math.max(np, 1), overlap / Math.max(nt, 1));
}

/** (rows+1)×(cols+1) LCS table, row-major. */
function lcsTable(ref: readonly string[], can: readonly string[]): Int32Array {
  const cols = can.length + 1;
  const t = new Int32Array((ref.length + 1) * cols);
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      t[i * cols + j] =
        ref[i - 1] === can[j - 1]
          ? (t[(i - 1) * cols + j - 1] as number) + 1
          : Math.max(t[(i - 1) * cols + j] as number, t[i * cols + j - 1] as number);
    }
  }
  return t;
}

/** Indices into `ref` of one LCS, read back exactly as rouge-score's _backtrack_norec (ties go up). */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const t = lcsTable(ref, can);
  const cols = can.length + 1;
  let i = ref.length;
  let j = can.length;
  const out: number[] = [];
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if ((t[i * cols + j - 1] as number) > (t[(i - 1) * cols + j] as number)) j--;
    else i--;
  }
  return out.reverse();
}

function scoreLcs(target: readonly string[], pred: readonly string[]): RougeScore {
  if (target.length === 0 || pred.length === 0) return score(0, 0);
  const lcs = lcsTable(target, pred)[(target.length + 1) * (pred.length + 1) - 1] as number;
  return score(lcs / pred.length, lcs / target.length);
}

function summaryLevelLcs(refSents: readonly string[][], canSents: readonly string[][]): RougeScore {
  if (refSents.length === 0 || canSents.length === 0) return score(0, 0);
  const m = refSents.reduce((a, s) => a + s.length, 0);
  const n = canSents.reduce((a, s) => a + s.length, 0);
  if (m === 0 || n === 0) return score(0, 0);
  const cntR = new Map<string, number>();
  const cntC = new Map<string, number>();
  for (const s of refSents) for (const t of s) cntR.set(t, (cntR.get(t) ?? 0) + 1);
  for (const s of canSents) for (const t of s) cntC.set(t, (cntC.get(t) ?? 0) + 1);
  let hits = 0;
  for (const r of refSents) {
    const union = new Set<number>();
    for (const c of canSents) for (const i of lcsIndices(r, c)) union.add(i);
    for (const i of [...union].sort((a, b) => a - b)) {
      const t = r[i] as string;
      const cc = cntC.get(t) ?? 0;
      const cr = cntR.get(t) ?? 0;
      if (cc > 0 && cr > 0) {
        hits++;
        cntC.set(t, cc - 1);
        cntR.set(t, cr - 1);
      }
    }
  }
  return score(hits / n, hits / m);
}

function checkTypes(op: string, types: unknown): RougeType[] {
  if (types === undefined) return [...DEFAULT_TYPES];
  if (!Array.isArray(types) || types.length === 0) {
    throw new XentError(
      'invalid_argument',
      op,
      `rougeTypes must be a non-empty array such as ['rouge1', 'rougeL'], got ${describe(types)}`,
      { arg: 'rougeTypes' },
    );
  }
  for (const t of types) {
    if (typeof t !== 'string' || !/^rouge([1-9]|L|Lsum)$/.test(t)) {
      throw new XentError(
        'invalid_argument',
        op,
        `invalid ROUGE type ${JSON.stringify(t)}; use rouge1…rouge9, rougeL or rougeLsum`,
        { arg: 'rougeTypes', value: t },
      );
    }
  }
  return types as RougeType[];
}

/** ROUGE scores of `prediction` against `target` (rouge-score RougeScorer(...).score(target, prediction)). */
export function rougeScore(
  target: string,
  prediction: string,
  options?: RougeOptions,
): Partial<Record<RougeType, RougeScore>> {
  const op = 'rougeScore';
  const o = checkOptions(op, options);
  if (typeof target !== 'string')
    throw new XentError('invalid_argument', op, `target must be a string, got ${describe(target)}`, { arg: 'target' });
  if (typeof prediction !== 'string')
    throw new XentError('invalid_argument', op, `prediction must be a string, got ${describe(prediction)}`, {
      arg: 'prediction',
    });
  const types = checkTypes(op, o.rougeTypes);
  const stem = o.useStemmer ?? false;
  if (typeof stem !== 'boolean')
    throw new XentError('invalid_argument', op, `useStemmer must be a boolean, got ${describe(stem)}`, {
      arg: 'useStemmer',
    });
  const tt = rougeTokenize(target, stem);
  const pt = rougeTokenize(prediction, stem);
  const out: Partial<Record<RougeType, RougeScore>> = {};
  for (const type of types) {
    if (type === 'rougeL') out[type] = scoreLcs(tt, pt);
    else if (type === 'rougeLsum') {
      const sents = (s: string): string[][] =>
        s
          .split('\n')
          .filter((x) => x.length > 0)
          .map((x) => rougeTokenize(x, stem));
      out[type] = summaryLevelLcs(sents(target), sents(prediction));
    } else {
      const n = Number(type.slice(5));
      out[type] = scoreNgrams(ngrams(tt, n), ngrams(pt, n));
    }
  }
  return out;
}

/**
 * Corpus ROUGE: the plain mean of the per-segment precision, recall and F. (rouge-score's
 * BootstrapAggregator reports a resampled estimate of this same mean with a confidence
 * interval; its "mid" differs from the plain mean by the bootstrap noise.) With several
 * references per segment each type takes, per segment, the reference with the highest F,
 * first on ties (rouge-score's score_multi).
 */
export function corpusRouge(
  predictions: readonly string[],
  references: readonly (readonly (string | null | undefined)[])[],
  options?: RougeOptions,
): Partial<Record<RougeType, RougeScore>> {
  const op = 'corpusRouge';
  const o = checkOptions(op, options);
  const types = checkTypes(op, o.rougeTypes);
  if (!Array.isArray(predictions) || predictions.length === 0) {
    throw new XentError(
      'empty_input',
      op,
      `predictions must be a non-empty array of strings, got ${describe(predictions)}`,
      { arg: 'predictions' },
    );
  }
  const sums = new Map<RougeType, RougeScore>(types.map((t) => [t, { precision: 0, recall: 0, fmeasure: 0 }]));
  predictions.forEach((p, i) => {
    const refs: string[] = [];
    references.forEach((stream, k) => {
      if (!Array.isArray(stream) || stream.length !== predictions.length) {
        throw new XentError(
          'shape_mismatch',
          op,
          `references[${k}] has ${Array.isArray(stream) ? stream.length : describe(stream)} lines but predictions has ${predictions.length}`,
          {
            arg: `references[${k}]`,
            expected: predictions.length,
          },
        );
      }
      const r = stream[i];
      if (typeof r === 'string') refs.push(r);
    });
    if (refs.length === 0)
      throw new XentError('invalid_argument', op, `segment ${i} has no reference`, { arg: 'references', row: i });
    const per = refs.map((r) => rougeScore(r, p, { ...o, rougeTypes: types }));
    for (const t of types) {
      let best = per[0]?.[t] as RougeScore;
      for (const s of per) if ((s[t] as RougeScore).fmeasure > best.fmeasure) best = s[t] as RougeScore;
      const acc = sums.get(t) as RougeScore;
      acc.precision += best.precision;
      acc.recall += best.recall;
      acc.fmeasure += best.fmeasure;
    }
  });
  const out: Partial<Record<RougeType, RougeScore>> = {};
  const n = predictions.length;
  for (const [t, s] of sums) out[t] = { precision: s.precision / n, recall: s.recall / n, fmeasure: s.fmeasure / n };
  return out;
}
