import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import { type NgramDiscounts, NgramModel } from '../../src/models/ngram/ngram.js';
import { countNgrams } from '../../src/models/ngram/ngram-count.js';
import { modifiedKneserNeyDiscounts } from '../../src/models/ngram/ngram-discounts.js';

const close = (a: number, b: number, rel = 1e-12) =>
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
const isCode = (code: string) => (e: unknown) => e instanceof XentError && e.code === code;

/**
 * Interpolated modified KN written straight from Chen & Goodman (1998) with string
 * keys and no trie: raw counts at the highest order, continuation counts N1+(•s) below,
 * discounts from counts of counts, recursion down to the uniform 1/V.
 */
function naiveKn(tokens: number[], n: number, V: number, fixed?: NgramDiscounts) {
  const raw = new Map<string, number>();
  for (let k = 1; k <= n; k++)
    for (let i = 0; i + k <= tokens.length; i++) {
      const key = tokens.slice(i, i + k).join(',');
      raw.set(key, (raw.get(key) ?? 0) + 1);
    }
  const kn = new Map<string, number>();
  for (const [key, c] of raw) {
    const len = key.split(',').length;
    if (len === n) kn.set(key, c);
    else if (!kn.has(key)) kn.set(key, 0);
    if (len >= 2) {
      const suffix = key.split(',').slice(1).join(',');
      if (len - 1 < n) kn.set(suffix, (kn.get(suffix) ?? 0) + 1); // one distinct left extension
    }
  }
  const discounts: NgramDiscounts =
    fixed ??
    Array.from({ length: n }, (_, k) => {
      const coc: [number, number, number, number] = [0, 0, 0, 0];
      for (const [key, c] of kn)
        if (key.split(',').length === k + 1 && c >= 1 && c <= 4) coc[c - 1] = (coc[c - 1] as number) + 1;
      return modifiedKneserNeyDiscounts(coc);
    });
  const prob = (hist: number[], w: number): number => {
    let p = 1 / V;
    for (let k = 1; k <= n && k - 1 <= hist.length; k++) {
      const h = hist.slice(hist.length - (k - 1));
      let S = 0;
      let mass = 0;
      const [d1, d2, d3] = discounts[k - 1] as [number, number, number];
      for (let v = 0; v < V; v++) {
        const c = kn.get([...h, v].join(',')) ?? 0;
        S += c;
        mass += c === 0 ? 0 : c === 1 ? d1 : c === 2 ? d2 : d3;
      }
      if (S === 0) continue;
      const c = kn.get([...h, w].join(',')) ?? 0;
      const D = c === 1 ? d1 : c === 2 ? d2 : d3;
      p = (c > 0 ? Math.max(c - D, 0) / S : 0) + (mass / S) * p;
    }
    return p;
  };
  return { prob, discounts, kn };
}

test('modified KN discounts: Chen & Goodman eq. 26 on counts of counts', () => {
  // n = [10, 4, 2, 1]: Y = 10/18 = 5/9; D1 = 1 − 2·(5/9)·4/10 = 5/9; D2 = 2 − 3·(5/9)·2/4 = 7/6; D3+ = 3 − 4·(5/9)·1/2 = 17/9.
  const d = modifiedKneserNeyDiscounts([10, 4, 2, 1]);
  close(d[0], 5 / 9);
  close(d[1], 7 / 6);
  close(d[2], 17 / 9);
  // Degenerate counts fall back per discount: n2 = n3 = n4 = 0 → D1 = 1 − 0 = 1 (valid), D2, D3+ = NaN → 1.0, 1.5.
  assert.deepEqual(modifiedKneserNeyDiscounts([3, 0, 0, 0]), [1, 1, 1.5]);
  assert.deepEqual(modifiedKneserNeyDiscounts([0, 0, 0, 0]), [0.5, 1, 1.5]);
});

test('hand-computed bigram probabilities (fixed discounts 0.5 / 1 / 1.5)', () => {
  // Corpus a b a b a c (a=0, b=1, c=2), V = 4 (d=3 never seen), order 2.
  // Bigram raw counts: ab 2, ba 2, ac 1. Unigram continuation counts N1+(•w): a {b} 1, b {a} 1, c {a} 1.
  // Unigram level: S = 3, N1 = 3 → γ = 0.5·3/3 = 1/2; p1(a|b|c) = (1−0.5)/3 + (1/2)(1/4) = 7/24; p1(d) = 1/8.
  // Context a: ab 2, ac 1 → S = 3, γ = (0.5 + 1)/3 = 1/2:
  //   p(b|a) = (2−1)/3 + (1/2)(7/24) = 23/48; p(c|a) = (1−0.5)/3 + 7/48 = 15/48; p(a|a) = 7/48; p(d|a) = 3/48.
  // Context b: ba 2 → S = 2, γ = 1·1/2: p(a|b) = (2−1)/2 + 7/48 = 31/48; p(b|b) = p(c|b) = 7/48; p(d|b) = 3/48.
  // Context c only ends the text (no children): p(w|c) = p1(w).
  const D: NgramDiscounts = [
    [0.5, 1, 1.5],
    [0.5, 1, 1.5],
  ];
  const m = new NgramModel(countNgrams([0, 1, 0, 1, 0, 2], 2, 4), D);
  const expect: Record<string, number[]> = {
    '': [7 / 24, 7 / 24, 7 / 24, 1 / 8],
    a: [7 / 48, 23 / 48, 15 / 48, 3 / 48],
    b: [31 / 48, 7 / 48, 7 / 48, 3 / 48],
    c: [7 / 24, 7 / 24, 7 / 24, 1 / 8],
    d: [7 / 24, 7 / 24, 7 / 24, 1 / 8],
  };
  const id: Record<string, number[]> = { '': [], a: [0], b: [1], c: [2], d: [3] };
  for (const [h, ps] of Object.entries(expect)) {
    const dist = m.distributionAt(id[h] as number[], (id[h] as number[]).length, new Float64Array(4));
    ps.forEach((p, w) => {
      close(m.prob(id[h] as number[], w), p);
      close(dist[w] as number, p);
    });
  }
  // Sequence a b a c: ln p1(a) + ln p(b|a) + ln p(a|b) + ln p(c|a).
  close(
    m.sequenceLogProbNats([0, 1, 0, 2]),
    Math.log(7 / 24) + Math.log(23 / 48) + Math.log(31 / 48) + Math.log(15 / 48),
  );
  close(m.sequenceLogProbNats([0, 1, 0, 2], 2), Math.log(31 / 48) + Math.log(15 / 48));
});

test('hand-computed trigram counts, discounts and probability', () => {
  // Corpus a b c a b d a b c (a..d = 0..3), V = 5, order 3.
  // Trigrams (raw): abc 2, bca 1, cab 1, abd 1, bda 1, dab 1.
  // Bigram continuation counts: ab {c, d} 2, bc 1, ca 1, bd 1, da 1 (the first "ab" has no left neighbour).
  // Unigram continuation counts: a {c, d} 2, b 1, c 1, d 1.
  const m = new NgramModel(countNgrams([0, 1, 2, 0, 1, 3, 0, 1, 2], 3, 5));
  const counts: [number[], number][] = [
    [[0, 1, 2], 2],
    [[1, 2, 0], 1],
    [[2, 0, 1], 1],
    [[0, 1, 3], 1],
    [[1, 3, 0], 1],
    [[3, 0, 1], 1],
    [[0, 1], 2],
    [[1, 2], 1],
    [[2, 0], 1],
    [[1, 3], 1],
    [[3, 0], 1],
    [[0], 2],
    [[1], 1],
    [[2], 1],
    [[3], 1],
    [[4], -1],
    [[0, 0], -1],
    [[], 0],
  ];
  for (const [seq, c] of counts) assert.equal(m.ngramCount(seq), c, seq.join(' '));
  // Discounts. Order 3: n = [5, 1, 0, 0] → Y = 5/7, D1 = 1 − 2(5/7)(1/5) = 5/7, D2 = 2 − 0 = 2, D3+ NaN → 1.5.
  // Order 2: n = [4, 1, 0, 0] → Y = 2/3, D1 = 1 − 2(2/3)(1/4) = 2/3, D2 = 2, D3+ → 1.5.
  // Order 1: n = [3, 1, 0, 0] → Y = 3/5, D1 = 1 − 2(3/5)(1/3) = 3/5, D2 = 2, D3+ → 1.5.
  const want = [
    [3 / 5, 2, 1.5],
    [2 / 3, 2, 1.5],
    [5 / 7, 2, 1.5],
  ];
  for (const [k, d] of m.discounts.entries()) for (const [r, x] of d.entries()) close(x, want[k]![r]!);
  // p1: S = 5, N1 = 3, N2 = 1 → γ = (3·3/5 + 2)/5 = 19/25; p1(c) = (1 − 3/5)/5 + (19/25)(1/5) = 29/125.
  // p2(c|b): bc 1, bd 1 → S = 2, γ = 2(2/3)/2 = 2/3; p2 = (1 − 2/3)/2 + (2/3)(29/125) = 241/750.
  // p3(c|ab): abc 2, abd 1 → S = 3, γ = (5/7 + 2)/3 = 19/21; p3 = max(2 − 2, 0)/3 + (19/21)(241/750) = 4579/15750.
  close(m.prob([0, 1], 2), 4579 / 15750);
  close(m.prob([4, 4, 0, 1], 2), 4579 / 15750); // only the last order − 1 tokens matter
  close(m.prob([1], 2), 241 / 750);
  close(m.prob([], 2), 29 / 125);
});

test('property: equals the naive KN definition, sums to 1 over V, every p > 0', () => {
  fc.assert(
    fc.property(
      fc
        .integer({ min: 1, max: 7 })
        .chain((V) =>
          fc.tuple(
            fc.constant(V),
            fc.integer({ min: 1, max: 5 }),
            fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 1, maxLength: 60 }),
            fc.array(fc.array(fc.integer({ min: 0, max: V - 1 }), { maxLength: 6 }), { minLength: 1, maxLength: 5 }),
          ),
        ),
      ([V, n, corpus, histories]) => {
        const m = NgramModel.fromTokens(corpus, n, V);
        const ref = naiveKn(corpus, n, V);
        for (const [k, d] of m.discounts.entries()) for (const [r, x] of d.entries()) close(x, ref.discounts[k]![r]!);
        for (const [key, c] of ref.kn) assert.equal(m.ngramCount(key.split(',').map(Number)), c, key);
        const dist = new Float64Array(V);
        for (const h of [...histories, corpus.slice(-n)]) {
          m.distributionAt(h, h.length, dist);
          let sum = 0;
          for (let w = 0; w < V; w++) {
            const p = dist[w] as number;
            assert.ok(p > 0, `p(${w}|${h}) = ${p}`);
            close(p, ref.prob(h, w), 1e-12);
            close(m.prob(h, w), p, 1e-12);
            sum += p;
          }
          assert.ok(Math.abs(sum - 1) <= 1e-9, `sum = ${sum}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('property: sums to 1 on larger random corpora with unseen tokens (V = 50, order 2–5)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 5 }),
      fc.array(fc.integer({ min: 0, max: 29 }), { minLength: 200, maxLength: 2000 }),
      fc.array(fc.integer({ min: 0, max: 49 }), { minLength: 0, maxLength: 8 }),
      (n, corpus, h) => {
        const m = NgramModel.fromTokens(corpus, n, 50);
        const dist = m.distributionAt(h, h.length, new Float64Array(50));
        let sum = 0;
        for (const p of dist) {
          assert.ok(p > 0);
          sum += p;
        }
        assert.ok(Math.abs(sum - 1) <= 1e-9, `sum = ${sum}`);
        // A history taken from the corpus exercises seen contexts at every order.
        const seen = corpus.slice(0, n - 1);
        const d2 = m.distributionAt(seen, seen.length, new Float64Array(50));
        assert.ok(Math.abs(d2.reduce((a, b) => a + b, 0) - 1) <= 1e-9);
      },
    ),
    { numRuns: 60 },
  );
});

test('bad input is refused with codes and names', () => {
  assert.throws(() => countNgrams([], 3, 4), isCode('empty_input'));
  assert.throws(
    () => countNgrams([0, 5], 3, 4),
    (e: unknown) => isCode('index_out_of_range')(e) && /tokens\[1\] = 5/.test((e as Error).message),
  );
  assert.throws(() => countNgrams([0, 1], 0, 4), isCode('invalid_argument'));
  assert.throws(() => countNgrams([0, 1], 9, 4), isCode('invalid_argument'));
  const m = NgramModel.fromTokens([0, 1, 2], 2, 3);
  assert.throws(() => m.prob([0], 3), isCode('index_out_of_range'));
  assert.throws(() => m.prob([7], 0), isCode('index_out_of_range'));
  assert.throws(() => m.distributionAt([0], 1, new Float64Array(2)), isCode('shape_mismatch'));
  assert.throws(() => m.sequenceLogProbNats([0, 9]), isCode('index_out_of_range'));
  assert.throws(
    () =>
      new NgramModel(m.trie, [
        [0.5, 1, 1.5],
        [0, 1, 1.5],
      ]),
    isCode('invalid_argument'),
  );
  assert.throws(
    () =>
      new NgramModel(m.trie, [
        [0.5, 1, 1.5],
        [1.5, 1, 1.5],
      ]),
    isCode('invalid_argument'),
  );
});
