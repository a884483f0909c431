/**
 * chrF and chrF++ (Popović 2015, 2017) exactly as sacrebleu 2.x computes them
 * (sacrebleu/metrics/chrf.py, metrics/helpers.py). Defaults are sacrebleu's CHRF():
 * charOrder 6, wordOrder 0 (chrF; 2 gives chrF++), beta 2, whitespace removed,
 * case-sensitive, no epsilon smoothing.
 *
 *  - character n-grams (n = 1..charOrder) of the segment with all whitespace removed,
 *    by Unicode code point; word n-grams (n = 1..wordOrder) of the whitespace-split words
 *    with one leading or trailing ASCII punctuation mark split off (words of length 1 kept);
 *  - per order: hyp count (0 when the reference has no n-gram of that order), ref count and
 *    clipped matches; with several references each segment keeps the statistics of the
 *    reference with the best segment-level chrF (first one on ties);
 *  - corpus statistics are summed over segments, then per order
 *      P_n = match/hyp, R_n = match/ref; chrF = 100·F_β(mean P_n, mean R_n) with the means
 *    taken over the "effective" orders (hyp > 0 and ref > 0), 0 when there are none
 *    (sacrebleu ≥ 2.0 default); with epsSmoothing the classic chrF++.py average of the
 *    per-order F scores (eps = 1e-16) is used instead.
 * Empty hypotheses are kept; scores are on the 0–100 scale.
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { describe } from '../core/tensor.js';
import { segmentReferences } from './bleu.js';
import { codePoints, pyLower, pySplit } from './text.js';

export interface ChrfOptions {
  charOrder?: number;
  /** 0: chrF (default); 2: chrF++. */
  wordOrder?: number;
  beta?: number;
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams (sacrebleu `whitespace`, default false). */
  whitespace?: boolean;
  /** chrF++.py / NLTK style epsilon smoothing (sacrebleu `eps_smoothing`, default false). */
  epsSmoothing?: boolean;
}

export interface ChrfResult {
  /** chrF on the 0–100 scale. */
  score: number;
  /** 'chrF2' or 'chrF2++' as sacrebleu names it. */
  name: string;
  charOrder: number;
  wordOrder: number;
  beta: number;
}

interface Settings {
  charOrder: number;
  wordOrder: number;
  beta: number;
  lowercase: boolean;
  whitespace: boolean;
  eps: boolean;
}

const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

function settings(op: string, options: ChrfOptions | undefined): Settings {
  const o = checkOptions(op, options);
  const int = (name: 'charOrder' | 'wordOrder', dflt: number, min: number): number => {
    const v = o[name] ?? dflt;
    if (!Number.isInteger(v) || v < min)
      throw new XentError('invalid_argument', op, `${name} must be an integer ≥ ${min}, got ${describe(v)}`, {
        arg: name,
        value: v,
      });
    return v;
  };
  const beta = o.beta ?? 2;
  if (typeof beta !== 'number' || !Number.isFinite(beta) || beta < 0) {
    throw new XentError('invalid_argument', op, `beta must be a finite number ≥ 0, got ${describe(beta)}`, {
      arg: 'beta',
      value: beta,
    });
  }
  const s: Settings = {
    charOrder: int('charOrder', 6, 0),
    wordOrder: int('wordOrder', 0, 0),
    beta,
    lowercase: o.lowercase ?? false,
    whitespace: o.whitespace ?? false,
    eps: o.epsSmoothing ?? false,
  };
  if (s.charOrder + s.wordOrder === 0)
    throw new XentError('invalid_argument', op, 'charOrder + wordOrder must be ≥ 1', { arg: 'charOrder' });
  return s;
}

/** sacrebleu CHRF._remove_punctuation. `w` is indexed by code point as in Python. */
function splitPunctuation(sent: string): string[] {
  const out: string[] = [];
  for (const word of pySplit(sent)) {
    const w = codePoints(word);
    if (w.length === 1) out.push(word);
    else if (PUNCTS.has(w[w.length - 1] as string)) out.push(w.slice(0, -1).join(''), w[w.length - 1] as string);
    else if (PUNCTS.has(w[0] as string)) out.push(w[0] as string, w.slice(1).join(''));
    else out.push(word);
  }
  return out;
}

function count(items: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function allNgrams(sent: string, st: Settings): Map<string, number>[] {
  const line = st.whitespace ? sent : pySplit(sent).join('');
  const chars = codePoints(line);
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= st.charOrder; n++) {
    const grams: string[] = [];
    for (let i = 0; i + n <= chars.length; i++) grams.push(chars.slice(i, i + n).join(''));
    out.push(count(grams));
  }
  if (st.wordOrder > 0) {
    const words = splitPunctuation(sent);
    for (let n = 1; n <= st.wordOrder; n++) {
      const grams: string[] = [];
      for (let i = 0; i + n <= words.length; i++) grams.push(words.slice(i, i + n).join(' '));
      out.push(count(grams));
    }
  }
  return out;
}

function matchStats(hyp: Map<string, number>, ref: Map<string, number>): [number, number, number] {
  let match = 0;
  let hypCount = 0;
  for (const [g, c] of hyp) {
    hypCount += c;
    const r = ref.get(g);
    if (r !== undefined) match += Math.min(c, r);
  }
  let refCount = 0;
  for (const c of ref.values()) refCount += c;
  return [ref.size > 0 ? hypCount : 0, refCount, match];
}

/** sacrebleu CHRF._compute_f_score over [hyp, ref, match] triples per order. */
function fScore(stats: readonly number[], st: Settings): number {
  const eps = 1e-16;
  const order = st.charOrder + st.wordOrder;
  const factor = st.beta ** 2;
  let score = 0;
  let eff = 0;
  let avgP = 0;
  let avgR = 0;
  for (let i = 0; i < order; i++) {
    const nHyp = stats[3 * i] as number;
    const nRef = stats[3 * i + 1] as number;
    const nMatch = stats[3 * i + 2] as number;
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgP += prec;
      avgR += rec;
      eff++;
    }
  }
  if (st.eps) return (100 * score) / order;
  if (eff === 0) {
    avgP = 0;
    avgR = 0;
  } else {
    avgP /= eff;
    avgR /= eff;
  }
  if (avgP + avgR) return (100 * ((1 + factor) * avgP * avgR)) / (factor * avgP + avgR);
  return 0;
}

function segmentStats(hyp: string, refs: readonly string[], st: Settings): number[] {
  const h = allNgrams(st.lowercase ? pyLower(hyp) : hyp, st);
  let best: number[] = [];
  let bestF = -1;
  for (const r of refs) {
    const rn = allNgrams(st.lowercase ? pyLower(r) : r, st);
    const stats: number[] = [];
    h.forEach((hm, i) => {
      stats.push(...matchStats(hm, rn[i] as Map<string, number>));
    });
    const f = fScore(stats, st);
    if (f > bestF) {
      bestF = f;
      best = stats;
    }
  }
  return best;
}

function result(score: number, st: Settings): ChrfResult {
  return {
    score,
    name: `chrF${st.beta}${'+'.repeat(st.wordOrder)}`,
    charOrder: st.charOrder,
    wordOrder: st.wordOrder,
    beta: st.beta,
  };
}

/** Corpus chrF (sacrebleu.corpus_chrf); references as reference streams, like corpusBleu. */
export function corpusChrf(
  hypotheses: readonly string[],
  references: readonly (readonly (string | null | undefined)[])[],
  options?: ChrfOptions,
): ChrfResult {
  const op = 'corpusChrf';
  const st = settings(op, options);
  const { hyps, refs } = segmentReferences(op, hypotheses, references);
  const sum = new Array<number>(3 * (st.charOrder + st.wordOrder)).fill(0);
  hyps.forEach((h, i) => {
    const s = segmentStats(h, refs[i] as string[], st);
    for (let j = 0; j < sum.length; j++) sum[j] = (sum[j] as number) + (s[j] as number);
  });
  return result(fScore(sum, st), st);
}

/** Sentence chrF (sacrebleu.sentence_chrf). */
export function sentenceChrf(hypothesis: string, references: readonly string[], options?: ChrfOptions): ChrfResult {
  const op = 'sentenceChrf';
  const st = settings(op, options);
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
  return result(fScore(segmentStats(hypothesis, references, st), st), st);
}
