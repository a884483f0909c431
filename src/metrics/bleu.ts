/**
 * BLEU (Papineni et al. 2002) exactly as sacrebleu 2.x computes it
 * (sacrebleu/metrics/bleu.py, metrics/base.py, metrics/helpers.py):
 *
 *  - each segment is right-stripped, optionally lowercased and tokenized ('13a' default);
 *  - n-grams n = 1..maxNgramOrder (default 4) of the space-split tokens; the hypothesis'
 *    count of an n-gram is clipped by its maximum count over that segment's references;
 *  - reference length = the reference length closest to the hypothesis length (ties → shorter);
 *  - corpus statistics are summed over segments, then
 *      BP   = 1 if c ≥ r, else exp(1 − r/c) (0 when c = 0)
 *      p_n  = 100·correct_n / total_n, smoothed when correct_n = 0:
 *               'exp'   (default; mteval-v13a "NIST" smoothing, Chen & Cherry 2014 method 3):
 *                       p_n = 100 / (2^k · total_n) for the k-th zero-match order
 *               'floor' p_n = 100·smoothValue / total_n (default 0.1)
 *               'add-k' correct_n and total_n += smoothValue for n > 1 (default 1)
 *               'none'  p_n = 0
 *      BLEU = BP · exp(mean over n of log p_n), log 0 := −9999999999 (sacrebleu's my_log);
 *    with no match at all the score is 0; a total_n of 0 ends the loop (those orders keep
 *    p_n = 0); effectiveOrder (default for sentenceBleu, as sacrebleu.sentence_bleu) averages
 *    only over the orders up to the last one with total_n > 0.
 *  - empty hypotheses are kept (they count 0 tokens), as sacrebleu does.
 * Scores are on sacrebleu's 0–100 scale.
 *
 * references: one array per reference STREAM (references[k][i] is the k-th reference of
 * segment i), as sacrebleu.corpus_bleu; a reference may be null/undefined to allow a
 * variable number of references per segment. Unlike sacrebleu (which zips silently),
 * streams of a different length than the hypotheses are refused.
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { describe } from '../core/tensor.js';
import type { BleuTokenizer } from './sacrebleu-tokenizers.js';
import { BLEU_TOKENIZERS, bleuTokenize } from './sacrebleu-tokenizers.js';
import { pyLower, pyRstrip, pySplit } from './text.js';

export type BleuSmoothing = 'exp' | 'floor' | 'add-k' | 'none';
const SMOOTH_DEFAULTS: Record<BleuSmoothing, number> = { none: 0, floor: 0.1, 'add-k': 1, exp: 0 };

export interface BleuOptions {
  tokenize?: BleuTokenizer;
  smoothMethod?: BleuSmoothing;
  /** For 'floor' (default 0.1) and 'add-k' (default 1). */
  smoothValue?: number;
  lowercase?: boolean;
  /** Average log precisions only over the orders that have n-grams (default false; true for sentenceBleu). */
  effectiveOrder?: boolean;
  maxNgramOrder?: number;
}

export interface BleuResult {
  /** BLEU on the 0–100 scale. */
  score: number;
  /** Clipped n-gram matches per order. */
  counts: number[];
  /** Hypothesis n-grams per order. */
  totals: number[];
  /** Smoothed precisions per order, in percent. */
  precisions: number[];
  /** Brevity penalty. */
  bp: number;
  /** Hypothesis length (tokens) and effective reference length. */
  sysLen: number;
  refLen: number;
  /** e.g. "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)" as sacrebleu prints it. */
  formatted: string;
}

interface Settings {
  tokenize: BleuTokenizer;
  smoothMethod: BleuSmoothing;
  smoothValue: number;
  lowercase: boolean;
  effectiveOrder: boolean;
  maxOrder: number;
}

function settings(op: string, options: BleuOptions | undefined, effectiveDefault: boolean): Settings {
  const o = checkOptions(op, options);
  const tokenize = o.tokenize ?? '13a';
  if (!BLEU_TOKENIZERS.includes(tokenize)) {
    throw new XentError(
      'invalid_argument',
      op,
      `tokenize must be one of ${BLEU_TOKENIZERS.join(', ')}, got ${describe(tokenize)}`,
      { arg: 'tokenize', value: tokenize },
    );
  }
  const smoothMethod = o.smoothMethod ?? 'exp';
  if (!(smoothMethod in SMOOTH_DEFAULTS)) {
    throw new XentError(
      'invalid_argument',
      op,
      `smoothMethod must be one of exp, floor, add-k, none, got ${describe(smoothMethod)}`,
      { arg: 'smoothMethod', value: smoothMethod },
    );
  }
  const smoothValue = o.smoothValue ?? SMOOTH_DEFAULTS[smoothMethod];
  if (typeof smoothValue !== 'number' || !Number.isFinite(smoothValue) || smoothValue < 0) {
    throw new XentError(
      'invalid_argument',
      op,
      `smoothValue must be a finite number ≥ 0, got ${describe(smoothValue)}`,
      { arg: 'smoothValue', value: smoothValue },
    );
  }
  const maxOrder = o.maxNgramOrder ?? 4;
  if (!Number.isInteger(maxOrder) || maxOrder < 1) {
    throw new XentError('invalid_argument', op, `maxNgramOrder must be an integer ≥ 1, got ${describe(maxOrder)}`, {
      arg: 'maxNgramOrder',
      value: maxOrder,
    });
  }
  for (const b of ['lowercase', 'effectiveOrder'] as const) {
    if (o[b] !== undefined && typeof o[b] !== 'boolean') {
      throw new XentError('invalid_argument', op, `${b} must be a boolean, got ${describe(o[b])}`, {
        arg: b,
        value: o[b],
      });
    }
  }
  return {
    tokenize,
    smoothMethod,
    smoothValue,
    lowercase: o.lowercase ?? false,
    effectiveOrder: o.effectiveOrder ?? effectiveDefault,
    maxOrder,
  };
}

function preprocess(s: string, st: Settings): string {
  return bleuTokenize(st.lowercase ? pyLower(pyRstrip(s)) : pyRstrip(s), st.tokenize);
}

// An n-gram is keyed by its tokens joined with a space: tokens come from pySplit, so they hold no whitespace
// and the key is unambiguous.
function ngramCounts(tokens: readonly string[], maxOrder: number): Map<string, number>[] {
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const m = new Map<string, number>();
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = tokens.slice(i, i + n).join(' ');
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    out.push(m);
  }
  return out;
}

/** Per-segment sufficient statistics: [hypLen, refLen, correct_1..N, total_1..N]. */
function segmentStats(hyp: string, refs: readonly string[], st: Settings): number[] {
  const refNgrams: Map<string, number>[] = [];
  const refLens: number[] = [];
  for (const r of refs) {
    const toks = pySplit(preprocess(r, st));
    refLens.push(toks.length);
    const counts = ngramCounts(toks, st.maxOrder);
    counts.forEach((m, n) => {
      const acc = refNgrams[n] ?? (refNgrams[n] = new Map());
      for (const [k, c] of m) acc.set(k, Math.max(acc.get(k) ?? 0, c));
    });
  }
  const htoks = pySplit(preprocess(hyp, st));
  const hypLen = htoks.length;
  // closest reference length; ties → the shorter one (sacrebleu _get_closest_ref_len)
  let closestDiff = -1;
  let refLen = -1;
  for (const rl of refLens) {
    const diff = Math.abs(hypLen - rl);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      refLen = rl;
    } else if (diff === closestDiff && rl < refLen) refLen = rl;
  }
  const correct = new Array<number>(st.maxOrder).fill(0);
  const total = new Array<number>(st.maxOrder).fill(0);
  ngramCounts(htoks, st.maxOrder).forEach((m, n) => {
    const ref = refNgrams[n];
    for (const [k, c] of m) {
      total[n] = (total[n] as number) + c;
      const rc = ref?.get(k);
      if (rc !== undefined) correct[n] = (correct[n] as number) + Math.min(c, rc);
    }
  });
  return [hypLen, refLen, ...correct, ...total];
}

const myLog = (x: number): number => (x === 0 ? -9999999999 : Math.log(x));

/** BLEU from summed statistics (sacrebleu BLEU.compute_bleu). */
export function computeBleu(
  correctIn: readonly number[],
  totalIn: readonly number[],
  sysLen: number,
  refLen: number,
  options?: Pick<BleuOptions, 'smoothMethod' | 'smoothValue' | 'effectiveOrder' | 'maxNgramOrder'>,
): BleuResult {
  const st = settings('computeBleu', options, false);
  if (correctIn.length !== st.maxOrder || totalIn.length !== st.maxOrder) {
    throw new XentError(
      'shape_mismatch',
      'computeBleu',
      `correct and total need ${st.maxOrder} entries (maxNgramOrder), got ${correctIn.length} and ${totalIn.length}`,
      {
        expected: st.maxOrder,
        actual: [correctIn.length, totalIn.length],
      },
    );
  }
  return bleuFromStats([sysLen, refLen, ...correctIn, ...totalIn], st);
}

function bleuFromStats(stats: readonly number[], st: Settings): BleuResult {
  const N = st.maxOrder;
  const sysLen = stats[0] as number;
  const refLen = stats[1] as number;
  const correct = stats.slice(2, 2 + N);
  const total = stats.slice(2 + N, 2 + 2 * N);
  const counts = correct.slice();
  const totals = total.slice();
  let bp = 1;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  const precisions = new Array<number>(N).fill(0);
  const done = (score: number): BleuResult => ({
    score,
    counts,
    totals,
    precisions,
    bp,
    sysLen,
    refLen,
    formatted: formatBleu(score, precisions, bp, sysLen, refLen),
  });
  if (!correct.some((c) => c !== 0)) return done(0);
  let smoothMteval = 1;
  let effOrder = N;
  for (let n = 1; n <= N; n++) {
    if (st.smoothMethod === 'add-k' && n > 1) {
      correct[n - 1] = (correct[n - 1] as number) + st.smoothValue;
      total[n - 1] = (total[n - 1] as number) + st.smoothValue;
    }
    const t = total[n - 1] as number;
    const c = correct[n - 1] as number;
    if (t === 0) break;
    if (st.effectiveOrder) effOrder = n;
    if (c === 0) {
      if (st.smoothMethod === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * t);
      } else if (st.smoothMethod === 'floor') {
        precisions[n - 1] = (100 * st.smoothValue) / t;
      }
    } else precisions[n - 1] = (100 * c) / t;
  }
  let s = 0;
  for (let i = 0; i < effOrder; i++) s += myLog(precisions[i] as number);
  return done(bp * Math.exp(s / effOrder));
}

function formatBleu(score: number, p: readonly number[], bp: number, sysLen: number, refLen: number): string {
  const ratio = refLen > 0 ? sysLen / refLen : 0;
  return `BLEU = ${score.toFixed(2)} ${p.map((x) => x.toFixed(1)).join('/')} (BP = ${bp.toFixed(3)} ratio = ${ratio.toFixed(3)} hyp_len = ${sysLen} ref_len = ${refLen})`;
}

/** Checks hypotheses and reference streams; returns the references of each segment. */
export function segmentReferences(
  op: string,
  hypotheses: unknown,
  references: unknown,
): { hyps: string[]; refs: string[][] } {
  if (!Array.isArray(hypotheses))
    throw new XentError('invalid_argument', op, `hypotheses must be an array of strings, got ${describe(hypotheses)}`, {
      arg: 'hypotheses',
    });
  hypotheses.forEach((h, i) => {
    if (typeof h !== 'string')
      throw new XentError('invalid_argument', op, `hypotheses[${i}] must be a string, got ${describe(h)}`, {
        arg: 'hypotheses',
        row: i,
      });
  });
  if (!Array.isArray(references) || references.length === 0) {
    throw new XentError(
      'invalid_argument',
      op,
      `references must be a non-empty array of reference streams (string arrays), got ${describe(references)}`,
      { arg: 'references' },
    );
  }
  const n = hypotheses.length;
  const refs: string[][] = Array.from({ length: n }, () => []);
  references.forEach((stream, k) => {
    if (!Array.isArray(stream)) {
      throw new XentError(
        'invalid_argument',
        op,
        `references[${k}] must be an array of strings (one reference stream), got ${describe(stream)}`,
        { arg: 'references' },
      );
    }
    if (stream.length !== n) {
      throw new XentError('shape_mismatch', op, `references[${k}] has ${stream.length} lines but hypotheses has ${n}`, {
        arg: `references[${k}]`,
        expected: n,
        actual: stream.length,
      });
    }
    stream.forEach((r, i) => {
      if (r === null || r === undefined) return;
      if (typeof r !== 'string')
        throw new XentError('invalid_argument', op, `references[${k}][${i}] must be a string, got ${describe(r)}`, {
          arg: 'references',
          row: i,
        });
      (refs[i] as string[]).push(r);
    });
  });
  refs.forEach((r, i) => {
    if (r.length === 0)
      throw new XentError('invalid_argument', op, `segment ${i} has no reference (all streams are null there)`, {
        arg: 'references',
        row: i,
      });
  });
  return { hyps: hypotheses as string[], refs };
}

/** Corpus BLEU (sacrebleu.corpus_bleu): statistics summed over all segments. */
export function corpusBleu(
  hypotheses: readonly string[],
  references: readonly (readonly (string | null | undefined)[])[],
  options?: BleuOptions,
): BleuResult {
  const op = 'corpusBleu';
  const st = settings(op, options, false);
  const { hyps, refs } = segmentReferences(op, hypotheses, references);
  const sum = new Array<number>(2 + 2 * st.maxOrder).fill(0);
  hyps.forEach((h, i) => {
    const s = segmentStats(h, refs[i] as string[], st);
    for (let j = 0; j < sum.length; j++) sum[j] = (sum[j] as number) + (s[j] as number);
  });
  return bleuFromStats(sum, st);
}

/** Sentence BLEU (sacrebleu.sentence_bleu: effective order on by default). */
export function sentenceBleu(hypothesis: string, references: readonly string[], options?: BleuOptions): BleuResult {
  const op = 'sentenceBleu';
  const st = settings(op, options, true);
  if (typeof hypothesis !== 'string')
    throw new XentError('invalid_argument', op, `hypothesis must be a string, got ${describe(hypothesis)}`, {
      arg: 'hypothesis',
    });
  if (!Array.isArray(references) || references.length === 0 || references.some((r) => typeof r !== 'string')) {
    throw new XentError(
      'invalid_argument',
      op,
      `references must be a non-empty array of strings, got ${describe(references)}`,
      { arg: 'references' },
    );
  }
  return bleuFromStats(segmentStats(hypothesis, references, st), st);
}
