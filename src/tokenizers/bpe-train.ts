/**
 * Learning byte-level BPE merges from text (Sennrich et al. 2016; GPT-2's byte-level
 * variant). Chunks come from the pre-split in bpe-pretokenize.ts; each distinct chunk
 * is a "word" with a frequency. Merge r joins the most frequent adjacent pair of
 * symbols into token 256 + r, replacing occurrences left to right, non-overlapping.
 *
 * Efficiency: pair counts are kept incrementally (only the words that contain the
 * merged pair are touched, through a pair → words index) and the best pair comes
 * from a max-heap with lazy deletion (an entry is stale when its count differs from
 * the pair's current count). Cost per merge ∝ the occurrences it changes, not the corpus.
 *
 * Tie-breaking is deterministic: higher count first, then smaller left id, then
 * smaller right id. Learning stops early when no pair occurs any more.
 */
import { XentError } from '../core/errors.js';
import { chunkKey, forEachChunk } from './bpe-pretokenize.js';
import { utf8Encode } from './tokenizer-utf8.js';

/** Pair (a, b) packed into one exact float64 key; vocabularies stay below 2^21. */
export const MAX_BPE_VOCAB = 1 << 21;
const pairKey = (a: number, b: number): number => a * MAX_BPE_VOCAB + b;

export interface LearnBpeOptions {
  /** Target V including the 256 byte tokens (≥ 256). */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged (default 2). */
  minPairCount?: number;
}

/** Max-heap of (count, key): count descending, then key ascending. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number {
    return this.counts.length;
  }
  private above(i: number, j: number): boolean {
    const ci = this.counts[i] as number;
    const cj = this.counts[j] as number;
    return ci > cj || (ci === cj && (this.keys[i] as number) < (this.keys[j] as number));
  }
  private swap(i: number, j: number): void {
    const c = this.counts[i] as number;
    this.counts[i] = this.counts[j] as number;
    this.counts[j] = c;
    const k = this.keys[i] as number;
    this.keys[i] = this.keys[j] as number;
    this.keys[j] = k;
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  /** Removes the top; returns [count, key]. */
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0] as number, this.keys[0] as number];
    const lastC = this.counts.pop() as number;
    const lastK = this.keys.pop() as number;
    const n = this.counts.length;
    if (n > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && this.above(l, m)) m = l;
        if (r < n && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * Learns merges from `text`. Returns a flat array [a0, b0, a1, b1, …]: merge r makes
 * token 256 + r from tokens a_r, b_r. Its length / 2 may be below vocabSize − 256
 * when the text runs out of pairs.
 */
export function learnBpeMerges(text: string, opts: LearnBpeOptions): Int32Array {
  const op = 'learnBpeMerges';
  const { vocabSize } = opts;
  const minPairCount = opts.minPairCount ?? 2;
  if (!Number.isInteger(vocabSize) || vocabSize < 256 || vocabSize > MAX_BPE_VOCAB) {
    throw new XentError(
      'invalid_argument',
      op,
      `vocabSize = ${vocabSize} must be an integer in [256, ${MAX_BPE_VOCAB}]`,
      {
        arg: 'vocabSize',
        value: vocabSize,
      },
    );
  }
  if (!Number.isInteger(minPairCount) || minPairCount < 1) {
    throw new XentError('invalid_argument', op, `minPairCount = ${minPairCount} must be an integer ≥ 1`, {
      arg: 'minPairCount',
      value: minPairCount,
    });
  }
  const bytes = utf8Encode(op, text);

  // Distinct chunks with their frequencies.
  const freqByChunk = new Map<string, number>();
  forEachChunk(bytes, (s, e) => {
    if (e - s < 2) return; // a 1-byte chunk has no pair
    const k = chunkKey(bytes, s, e);
    freqByChunk.set(k, (freqByChunk.get(k) ?? 0) + 1);
  });
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [k, f] of freqByChunk) {
    const w = new Array<number>(k.length);
    for (let i = 0; i < k.length; i++) w[i] = k.charCodeAt(i);
    words.push(w);
    freqs.push(f);
  }
  freqByChunk.clear();

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  for (let wi = 0; wi < words.length; wi++) {
    const w = words[wi] as number[];
    const f = freqs[wi] as number;
    for (let i = 0; i + 1 < w.length; i++) {
      const key = pairKey(w[i] as number, w[i + 1] as number);
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      const list = pairWords.get(key);
      if (list === undefined) pairWords.set(key, [wi]);
      else if (list[list.length - 1] !== wi) list.push(wi);
    }
  }
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  const maxMerges = vocabSize - 256;
  const merges = new Int32Array(2 * maxMerges);
  const seenAt = new Int32Array(words.length).fill(-1);
  const touched = new Map<number, true>();
  let r = 0;
  while (r < maxMerges && heap.size > 0) {
    const [count, key] = heap.pop();
    if (pairCount.get(key) !== count) continue; // stale entry
    if (count < minPairCount) break;
    const a = Math.floor(key / MAX_BPE_VOCAB);
    const b = key - a * MAX_BPE_VOCAB;
    const t = 256 + r;
    merges[2 * r] = a;
    merges[2 * r + 1] = b;
    touched.clear();
    const list = pairWords.get(key) ?? [];
    pairWords.delete(key);
    for (const wi of list) {
      if (seenAt[wi] === r) continue;
      seenAt[wi] = r;
      const w = words[wi] as number[];
      const f = freqs[wi] as number;
      let has = false;
      for (let i = 0; i + 1 < w.length; i++) {
        if (w[i] === a && w[i + 1] === b) {
          has = true;
          break;
        }
      }
      if (!has) continue; // the index may hold words that no longer contain the pair
      // Remove the word's old pairs, rebuild it, add its new pairs.
      for (let i = 0; i + 1 < w.length; i++) {
        const k = pairKey(w[i] as number, w[i + 1] as number);
        pairCount.set(k, (pairCount.get(k) as number) - f);
        touched.set(k, true);
      }
      const nw: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          nw.push(t);
          i++;
        } else nw.push(w[i] as number);
      }
      words[wi] = nw;
      for (let i = 0; i + 1 < nw.length; i++) {
        const x = nw[i] as number;
        const y = nw[i + 1] as number;
        const k = pairKey(x, y);
        pairCount.set(k, (pairCount.get(k) ?? 0) + f);
        touched.set(k, true);
        if (x === t || y === t) {
          const l = pairWords.get(k);
          if (l === undefined) pairWords.set(k, [wi]);
          else if (l[l.length - 1] !== wi) l.push(wi);
        }
      }
    }
    for (const k of touched.keys()) {
      const c = pairCount.get(k) as number;
      if (c > 0) heap.push(c, k);
      else pairCount.delete(k);
    }
    r++;
  }
  return merges.slice(0, 2 * r);
}
