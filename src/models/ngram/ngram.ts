/**
 * Interpolated modified Kneser–Ney n-gram model (Chen & Goodman 1998, "An Empirical
 * Study of Smoothing Techniques for Language Modeling", eqs. 17 and 26), over token
 * ids of any tokenizer, order n = 1 … 8 (2 … 5 are the useful ones).
 *
 * For a context h of length k−1 (the last k−1 tokens; order k):
 *
 *   p_k(w | h) = max(c(hw) − D_k(c(hw)), 0) / S(h) + γ(h) · p_{k−1}(w | h′)
 *   γ(h)       = (D_k1·N1(h•) + D_k2·N2(h•) + D_k3+·N3+(h•)) / S(h)
 *   p_0(w)     = 1 / V                       (uniform: every token has p > 0)
 *
 * h′ is h without its first token; S(h) = Σ_w c(hw); N_r(h•) counts the w with
 * c(hw) = r (N3+: ≥ 3). c is the raw count at the highest order and the continuation
 * count N1+(•hw) below (ngram-count.ts). D_k(c) is D_k1, D_k2 or D_k3+ by c
 * (ngram-discounts.ts), estimated per order. When h never occurred as a context
 * (S(h) = 0) the order is skipped: p_k = p_{k−1}. Since each D ≤ its count,
 * Σ_w p_k(w | h) = (S − ΣD)/S + γ·1 = 1 at every order.
 *
 * There is no BOS token: the first token of a sequence is predicted by the unigram
 * level, the t-th by the last min(t, n−1) tokens.
 */
import { XentError } from '../../core/errors.js';
import { countNgrams, MAX_NGRAM_ORDER, type NgramTrie } from './ngram-count.js';
import { modifiedKneserNeyDiscounts } from './ngram-discounts.js';

export type NgramDiscounts = [number, number, number][];

export class NgramModel {
  readonly order: number;
  readonly vocabSize: number;
  /** discounts[k−1] = [D1, D2, D3+] of order k. */
  readonly discounts: NgramDiscounts;
  readonly trie: NgramTrie;
  /** [N+1] children of node i are childStart[i] … childStart[i+1]−1. */
  private readonly childStart: Int32Array;
  /** [N] 1/S(node) as a context (0 when it has no counted children). */
  private readonly invTotal: Float64Array;
  /** [N] γ(node). */
  private readonly gamma: Float64Array;
  /** [N] length of the node's sequence. */
  private readonly depth: Uint8Array;

  /** Builds a model from a counted trie; discounts default to the modified KN estimates. */
  constructor(trie: NgramTrie, discounts?: NgramDiscounts) {
    const op = 'NgramModel';
    const { order, vocabSize, tokens, counts, childCount } = trie;
    const N = tokens.length;
    const bad = (msg: string, fields: Record<string, unknown> = {}): never => {
      throw new XentError('invalid_argument', op, msg, { arg: 'trie', ...fields });
    };
    if (!Number.isInteger(order) || order < 1 || order > MAX_NGRAM_ORDER)
      bad(`order = ${order} must be in [1, ${MAX_NGRAM_ORDER}]`, { value: order });
    if (!Number.isInteger(vocabSize) || vocabSize < 1)
      bad(`vocabSize = ${vocabSize} must be a positive integer`, { value: vocabSize });
    if (N < 1 || counts.length !== N || childCount.length !== N) {
      bad(
        `tokens, counts and childCount must have one equal length ≥ 1 (got ${N}, ${counts.length}, ${childCount.length})`,
      );
    }
    this.order = order;
    this.vocabSize = vocabSize;
    this.trie = trie;

    // Structure: breadth-first, children ranges contiguous, sorted, depth ≤ order.
    const childStart = new Int32Array(N + 1);
    childStart[0] = 1;
    const depth = new Uint8Array(N);
    for (let i = 0; i < N; i++) {
      const k = childCount[i] as number;
      if (!(k >= 0)) bad(`childCount[${i}] = ${k} is negative`, { row: i });
      childStart[i + 1] = (childStart[i] as number) + k;
      if ((childStart[i + 1] as number) > N) bad(`childCount sums past the ${N} nodes at node ${i}`, { row: i });
      if (i > 0 && (counts[i] as number) < 0) bad(`counts[${i}] = ${counts[i]} is negative`, { row: i });
      if (k > 0) {
        const a = childStart[i] as number;
        if (a <= i) bad(`children of node ${i} start at ${a}, not after it (not breadth-first)`, { row: i });
        if (depth[i] === order) bad(`node ${i} has length ${order} = order but has children`, { row: i });
        let prev = -1;
        for (let c = a; c < a + k; c++) {
          const t = tokens[c] as number;
          if (!Number.isInteger(t) || t <= prev || t >= vocabSize) {
            bad(`tokens[${c}] = ${t} is out of range [0, ${vocabSize}) or not above its previous sibling`, {
              row: c,
              value: t,
            });
          }
          prev = t;
          depth[c] = (depth[i] as number) + 1;
        }
      }
    }
    if (childStart[N] !== N)
      bad(`childCount accounts for ${(childStart[N] as number) - 1} children, expected ${N - 1}`);
    this.childStart = childStart;
    this.depth = depth;

    // Counts of counts per order → discounts.
    if (discounts === undefined) {
      const coc = Array.from({ length: order }, () => [0, 0, 0, 0] as [number, number, number, number]);
      for (let i = 1; i < N; i++) {
        const c = counts[i] as number;
        if (c >= 1 && c <= 4) {
          const row = coc[(depth[i] as number) - 1] as number[];
          row[c - 1] = (row[c - 1] as number) + 1;
        }
      }
      discounts = coc.map((n) => modifiedKneserNeyDiscounts(n));
    }
    if (discounts.length !== order)
      bad(`discounts has ${discounts.length} orders, expected ${order}`, { arg: 'discounts' });
    for (const [k, d] of discounts.entries()) {
      for (const [r, x] of d.entries()) {
        if (!(x > 0 && x <= r + 1))
          bad(`discounts[${k}][${r}] = ${x} must be in (0, ${r + 1}]`, { arg: 'discounts', value: x });
      }
    }
    this.discounts = discounts.map((d) => [d[0], d[1], d[2]]);

    // Context statistics S(h) and γ(h).
    const invTotal = new Float64Array(N);
    const gamma = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      const a = childStart[i] as number;
      const b = childStart[i + 1] as number;
      if (a === b) continue;
      const [d1, d2, d3] = this.discounts[depth[i] as number] as [number, number, number];
      let sum = 0;
      let mass = 0;
      for (let c = a; c < b; c++) {
        const n = counts[c] as number;
        sum += n;
        mass += n === 0 ? 0 : n === 1 ? d1 : n === 2 ? d2 : d3;
      }
      if (sum > 0) {
        invTotal[i] = 1 / sum;
        gamma[i] = mass / sum;
      }
    }
    this.invTotal = invTotal;
    this.gamma = gamma;
  }

  private p1: Float64Array | undefined;

  /** The unigram level p1(w) = max(c(w) − D, 0)/S + γ(root)/V, computed once. */
  private unigram(): Float64Array {
    if (this.p1) return this.p1;
    const V = this.vocabSize;
    const p = new Float64Array(V);
    const inv = this.invTotal[0] as number;
    p.fill((inv > 0 ? (this.gamma[0] as number) : 1) / V);
    if (inv > 0) {
      const [d1, d2, d3] = this.discounts[0] as [number, number, number];
      const { counts, tokens: toks } = this.trie;
      for (let c = this.childStart[0] as number; c < (this.childStart[1] as number); c++) {
        const n = counts[c] as number;
        if (n > 0)
          p[toks[c] as number] =
            (p[toks[c] as number] as number) + Math.max(n - (n === 1 ? d1 : n === 2 ? d2 : d3), 0) * inv;
      }
    }
    this.p1 = p;
    return p;
  }

  /** Counts `tokens` and builds the model (modified KN discounts). */
  static fromTokens(tokens: ArrayLike<number>, order: number, vocabSize: number): NgramModel {
    return new NgramModel(countNgrams(tokens, order, vocabSize), undefined);
  }

  /** Number of trie nodes (n-grams of all orders, plus the root). */
  get nodeCount(): number {
    return this.trie.tokens.length;
  }

  /** Child of `node` by token w, or −1 (binary search over the sorted children). */
  private child(node: number, w: number): number {
    let lo = this.childStart[node] as number;
    let hi = (this.childStart[node + 1] as number) - 1;
    const toks = this.trie.tokens;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = toks[mid] as number;
      if (t === w) return mid;
      if (t < w) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Node of tokens[end−len … end−1], or −1 when that sequence never occurred. */
  private contextNode(tokens: ArrayLike<number>, end: number, len: number): number {
    let node = 0;
    for (let i = end - len; i < end && node >= 0; i++) node = this.child(node, tokens[i] as number);
    return node;
  }

  private discount(order: number, c: number): number {
    const d = this.discounts[order - 1] as [number, number, number];
    return c === 1 ? d[0] : c === 2 ? d[1] : d[2];
  }

  private checkPrefix(op: string, tokens: ArrayLike<number>, end: number): void {
    if (!Number.isInteger(end) || end < 0 || end > tokens.length) {
      throw new XentError('invalid_argument', op, `end = ${end} is outside [0, ${tokens.length}]`, {
        arg: 'end',
        value: end,
      });
    }
    for (let i = Math.max(0, end - this.order + 1); i < end; i++) {
      const t = tokens[i] as number;
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize) {
        throw new XentError('index_out_of_range', op, `tokens[${i}] = ${t} is out of range [0, ${this.vocabSize})`, {
          arg: 'tokens',
          row: i,
          value: t,
        });
      }
    }
  }

  /** p(w | tokens[0 … end−1]) (only the last order−1 tokens matter). */
  probAt(tokens: ArrayLike<number>, end: number, w: number): number {
    this.checkPrefix('NgramModel.probAt', tokens, end);
    if (!Number.isInteger(w) || w < 0 || w >= this.vocabSize) {
      throw new XentError(
        'index_out_of_range',
        'NgramModel.probAt',
        `w = ${w} is out of range [0, ${this.vocabSize})`,
        { arg: 'w', value: w },
      );
    }
    return this.probUnchecked(tokens, end, w);
  }

  /** p(w | whole history). */
  prob(history: ArrayLike<number>, w: number): number {
    return this.probAt(history, history.length, w);
  }

  private probUnchecked(tokens: ArrayLike<number>, end: number, w: number): number {
    let p = 1 / this.vocabSize;
    const counts = this.trie.counts;
    for (let k = 1; k <= this.order && k - 1 <= end; k++) {
      const h = this.contextNode(tokens, end, k - 1);
      if (h < 0) break; // a longer context cannot exist either (all substrings are counted)
      const inv = this.invTotal[h] as number;
      if (inv === 0) continue;
      const c = this.child(h, w);
      const n = c < 0 ? 0 : (counts[c] as number);
      const own = n > 0 ? Math.max(n - this.discount(k, n), 0) * inv : 0;
      p = own + (this.gamma[h] as number) * p;
    }
    return p;
  }

  /** Fills out[v] = p(v | tokens[0 … end−1]) for all V tokens (float64). */
  distributionAt(tokens: ArrayLike<number>, end: number, out: Float64Array): Float64Array {
    this.checkPrefix('NgramModel.distributionAt', tokens, end);
    if (out.length !== this.vocabSize) {
      throw new XentError(
        'shape_mismatch',
        'NgramModel.distributionAt',
        `out has length ${out.length}, expected V = ${this.vocabSize}`,
        {
          arg: 'out',
          expected: [this.vocabSize],
          actual: [out.length],
        },
      );
    }
    // One pass over V: p = (Π_{k≥2} γ_k)·p1 + Σ_{k≥2} (Π_{j>k} γ_j)·own_k, where own_k is
    // the discounted count share of order k's context and p1 the cached unigram level.
    const { counts, tokens: toks } = this.trie;
    const ctx: number[] = [];
    for (let k = 2; k <= this.order && k - 1 <= end; k++) {
      const h = this.contextNode(tokens, end, k - 1);
      if (h < 0) break;
      ctx.push(h);
    }
    let total = 1;
    for (const h of ctx) if ((this.invTotal[h] as number) > 0) total *= this.gamma[h] as number;
    const p1 = this.unigram();
    for (let v = 0; v < out.length; v++) out[v] = total * (p1[v] as number);
    let scale = 1;
    for (let i = ctx.length - 1; i >= 0; i--) {
      const h = ctx[i] as number;
      const inv = this.invTotal[h] as number;
      if (inv === 0) continue;
      const [d1, d2, d3] = this.discounts[i + 1] as [number, number, number]; // context length i + 1 → order i + 2
      const f = scale * inv;
      const b = this.childStart[h + 1] as number;
      for (let c = this.childStart[h] as number; c < b; c++) {
        const n = counts[c] as number;
        if (n === 0) continue;
        const t = toks[c] as number;
        out[t] = (out[t] as number) + Math.max(n - (n === 1 ? d1 : n === 2 ? d2 : d3), 0) * f;
      }
      scale *= this.gamma[h] as number;
    }
    return out;
  }

  /** Σ_t ln p(tokens[t] | tokens[0 … t−1]) over t = from … T−1, in nats (≤ 0). */
  sequenceLogProbNats(tokens: ArrayLike<number>, from = 0): number {
    const T = tokens.length;
    if (!Number.isInteger(from) || from < 0 || from > T) {
      throw new XentError('invalid_argument', 'NgramModel.sequenceLogProbNats', `from = ${from} is outside [0, ${T}]`, {
        arg: 'from',
        value: from,
      });
    }
    for (let i = 0; i < T; i++) {
      const t = tokens[i] as number;
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize) {
        throw new XentError(
          'index_out_of_range',
          'NgramModel.sequenceLogProbNats',
          `tokens[${i}] = ${t} is out of range [0, ${this.vocabSize})`,
          {
            arg: 'tokens',
            row: i,
            value: t,
          },
        );
      }
    }
    // Neumaier-compensated sum: long sequences add ~10^6 terms.
    let sum = 0;
    let comp = 0;
    for (let t = from; t < T; t++) {
      const x = Math.log(this.probUnchecked(tokens, t, tokens[t] as number));
      const s = sum + x;
      comp += Math.abs(sum) >= Math.abs(x) ? sum - s + x : x - s + sum;
      sum = s;
    }
    return sum + comp;
  }

  /**
   * The KN count of an n-gram (raw at length = order, continuation count below),
   * or −1 when it never occurred. The empty sequence gives 0.
   */
  ngramCount(seq: ArrayLike<number>): number {
    if (seq.length > this.order) return -1;
    const node = this.contextNode(seq, seq.length, seq.length);
    return node < 0 ? -1 : (this.trie.counts[node] as number);
  }

  /** Length of node i's sequence (for tests and tools). */
  nodeDepth(i: number): number {
    return this.depth[i] as number;
  }
}
