/**
 * Counting n-grams of order 1 … n into a trie for Kneser–Ney (ngram.ts).
 *
 * Trie: node = a token sequence of length 0 … n (root = the empty sequence); the
 * child of node s by token w is s·w. Each node keeps the count KN uses for it:
 *   - length n (highest order): the raw count c(s);
 *   - length < n: the continuation count N1+(• s) = the number of distinct tokens v
 *     such that v·s occurs (Chen & Goodman 1998, §3.5; as in KenLM). A sequence that
 *     only occurs at the very start of the text has continuation count 0 (there is
 *     no BOS token); it stays in the trie as a context.
 *
 * Counting walks, for every start position s from the end of the text backwards, the
 * n prefixes tokens[s … s+j]. When s·…·(s+j) is new, its suffix tokens[s+1 … s+j]
 * (found by the walk from s+1, one step earlier) gains one continuation count.
 * Node ids come from a pair hash table keyed by (parent id, token): no strings.
 *
 * The result is reordered breadth-first with each node's children sorted by token,
 * so the children of node i are the contiguous range childStart[i] … childStart[i+1]−1
 * and a trie is three flat arrays (token, count, childCount).
 */
import { XentError } from '../../core/errors.js';
import { PairIndex } from './ngram-hash.js';

export const MAX_NGRAM_ORDER = 8;
/** Token ids pack with node ids into exact float64 sort keys: token · 2^31 + id < 2^53. */
export const MAX_NGRAM_VOCAB = 2 ** 22;

/** A counted trie in breadth-first order (node 0 = root). */
export interface NgramTrie {
  order: number;
  vocabSize: number;
  /** [N] token of each node (−1 for the root). */
  tokens: Int32Array;
  /** [N] KN count of each node (raw at length = order, continuation below; 0 for the root). */
  counts: Int32Array;
  /** [N] number of children of each node. */
  childCount: Int32Array;
}

function grow(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/** Counts all n-grams (lengths 1 … order) of one token sequence. */
export function countNgrams(tokens: ArrayLike<number>, order: number, vocabSize: number): NgramTrie {
  const op = 'countNgrams';
  if (!Number.isInteger(order) || order < 1 || order > MAX_NGRAM_ORDER) {
    throw new XentError('invalid_argument', op, `order = ${order} must be an integer in [1, ${MAX_NGRAM_ORDER}]`, {
      arg: 'order',
      value: order,
    });
  }
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > MAX_NGRAM_VOCAB) {
    throw new XentError(
      'invalid_argument',
      op,
      `vocabSize = ${vocabSize} must be an integer in [1, ${MAX_NGRAM_VOCAB}]`,
      { arg: 'vocabSize', value: vocabSize },
    );
  }
  const T = tokens.length;
  if (T === 0) throw new XentError('empty_input', op, 'tokens is empty: nothing to count', { arg: 'tokens' });
  for (let i = 0; i < T; i++) {
    const t = tokens[i] as number;
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new XentError('index_out_of_range', op, `tokens[${i}] = ${t} is out of range [0, ${vocabSize})`, {
        arg: 'tokens',
        row: i,
        value: t,
      });
    }
  }

  let cap = Math.max(1024, Math.min(T * order + 1, 1 << 22));
  let parent: Int32Array<ArrayBuffer> = new Int32Array(cap);
  let tok: Int32Array<ArrayBuffer> = new Int32Array(cap);
  let raw: Int32Array<ArrayBuffer> = new Int32Array(cap);
  let cont: Int32Array<ArrayBuffer> = new Int32Array(cap);
  let depth: Int32Array<ArrayBuffer> = new Int32Array(cap);
  parent[0] = -1;
  tok[0] = -1;
  let N = 1;
  const index = new PairIndex(Math.min((T * order) >>> 1, 1 << 22));
  let prevPath = new Int32Array(order);
  let curPath = new Int32Array(order);

  for (let s = T - 1; s >= 0; s--) {
    let node = 0;
    const jEnd = Math.min(order, T - s);
    for (let j = 0; j < jEnd; j++) {
      const w = tokens[s + j] as number;
      const child = index.getOrInsert(node, w, N);
      if (index.inserted) {
        if (N === cap) {
          cap *= 2;
          parent = grow(parent, cap);
          tok = grow(tok, cap);
          raw = grow(raw, cap);
          cont = grow(cont, cap);
          depth = grow(depth, cap);
        }
        parent[N] = node;
        tok[N] = w;
        depth[N] = j + 1;
        N++;
        // The suffix tokens[s+1 … s+j] was walked from s+1 just before.
        if (j >= 1) {
          const suffix = prevPath[j - 1] as number;
          cont[suffix] = (cont[suffix] as number) + 1;
        }
      }
      raw[child] = (raw[child] as number) + 1;
      curPath[j] = child;
      node = child;
    }
    const t = prevPath;
    prevPath = curPath;
    curPath = t;
  }

  // Children lists (old ids), then breadth-first renumbering with children sorted by token.
  const kidCount = new Int32Array(N);
  for (let i = 1; i < N; i++) {
    const p = parent[i] as number;
    kidCount[p] = (kidCount[p] as number) + 1;
  }
  const kidStart = new Int32Array(N + 1);
  for (let i = 0; i < N; i++) kidStart[i + 1] = (kidStart[i] as number) + (kidCount[i] as number);
  const fill = kidStart.slice(0, N);
  const kids = new Int32Array(Math.max(N - 1, 0));
  for (let i = 1; i < N; i++) {
    const p = parent[i] as number;
    kids[fill[p] as number] = i;
    fill[p] = (fill[p] as number) + 1;
  }

  const orderIds = new Int32Array(N);
  let tail = 1;
  const ID_SPAN = 2 ** 31; // pack (token, old id) into one float64 so a plain numeric sort orders by token
  let packed = new Float64Array(16);
  for (let head = 0; head < tail; head++) {
    const p = orderIds[head] as number;
    const a = kidStart[p] as number;
    const b = kidStart[p + 1] as number;
    const m = b - a;
    if (m === 0) continue;
    if (packed.length < m) packed = new Float64Array(Math.max(m, 2 * packed.length));
    const view = packed.subarray(0, m);
    for (let k = 0; k < m; k++) {
      const c = kids[a + k] as number;
      view[k] = (tok[c] as number) * ID_SPAN + c;
    }
    view.sort();
    for (let k = 0; k < m; k++) orderIds[tail++] = (view[k] as number) % ID_SPAN;
  }

  const outTok = new Int32Array(N);
  const outCount = new Int32Array(N);
  const outKids = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const o = orderIds[i] as number;
    outTok[i] = tok[o] as number;
    outCount[i] = o === 0 ? 0 : depth[o] === order ? (raw[o] as number) : (cont[o] as number);
    outKids[i] = kidCount[o] as number;
  }
  return { order, vocabSize, tokens: outTok, counts: outCount, childCount: outKids };
}
