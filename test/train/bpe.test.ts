import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import { BpeTokenizer } from '../../src/tokenizers/bpe.js';
import { forEachChunk, MAX_CHUNK_BYTES } from '../../src/tokenizers/bpe-pretokenize.js';
import { learnBpeMerges } from '../../src/tokenizers/bpe-train.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const chunksOf = (s: string): string[] => {
  const b = enc.encode(s);
  const out: string[] = [];
  forEachChunk(b, (x, y) => out.push(dec.decode(b.subarray(x, y))));
  return out;
};

/**
 * Naive BPE written straight from the definition: every merge re-counts all pairs of
 * all chunks, takes the most frequent (ties: smaller left id, then smaller right id),
 * and replaces it left to right. The incremental learner must give identical merges.
 */
function naiveMerges(text: string, vocabSize: number, minPairCount = 2): number[] {
  const b = enc.encode(text);
  const words: number[][] = [];
  forEachChunk(b, (x, y) => words.push(Array.from(b.subarray(x, y))));
  const merges: number[] = [];
  for (let t = 256; t < vocabSize; t++) {
    const counts = new Map<string, number>();
    for (const w of words)
      for (let i = 0; i + 1 < w.length; i++)
        counts.set(`${w[i]},${w[i + 1]}`, (counts.get(`${w[i]},${w[i + 1]}`) ?? 0) + 1);
    let best: [number, number, number] | undefined;
    for (const [k, c] of counts) {
      const [a, bb] = k.split(',').map(Number) as [number, number];
      if (!best || c > best[0] || (c === best[0] && (a < best[1] || (a === best[1] && bb < best[2]))))
        best = [c, a, bb];
    }
    if (!best || best[0] < minPairCount) break;
    merges.push(best[1], best[2]);
    for (let wi = 0; wi < words.length; wi++) {
      const w = words[wi] as number[];
      const nw: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === best[1] && w[i + 1] === best[2]) {
          nw.push(t);
          i++;
        } else nw.push(w[i] as number);
      }
      words[wi] = nw;
    }
  }
  return merges;
}

test('pre-split: GPT-2-like chunks, every byte covered once', () => {
  assert.deepEqual(chunksOf('Hello, world  of 1961!\n\n  The end'), [
    'Hello',
    ',',
    ' world',
    ' ',
    ' of',
    ' 1961',
    '!',
    '\n\n ',
    ' The',
    ' end',
  ]);
  assert.deepEqual(chunksOf("don't"), ['don', "'", 't']);
  assert.deepEqual(chunksOf('naïve café'), ['naïve', ' café']);
  assert.deepEqual(chunksOf(' '), [' ']);
  const long = 'x'.repeat(2 * MAX_CHUNK_BYTES + 3);
  assert.deepEqual(
    chunksOf(long).map((c) => c.length),
    [MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, 3],
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
      assert.equal(chunksOf(s).join(''), s === '' ? '' : dec.decode(enc.encode(s)));
    }),
  );
});

test('incremental BPE learner equals the naive definition (random small texts, many ties)', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom('a', 'b', 'c', ' ', 'é', '.'), minLength: 0, maxLength: 120 }),
      fc.integer({ min: 256, max: 300 }),
      (text, v) => {
        assert.deepEqual(Array.from(learnBpeMerges(text, { vocabSize: v })), naiveMerges(text, v));
        assert.deepEqual(Array.from(learnBpeMerges(text, { vocabSize: v, minPairCount: 1 })), naiveMerges(text, v, 1));
      },
    ),
    { numRuns: 200 },
  );
});

test('BPE: learned from text, merges frequent pairs, deterministic', () => {
  const text = 'the theme of the thesis: the then-theory.\n'.repeat(20);
  const a = BpeTokenizer.train(text, 300);
  const b = BpeTokenizer.train(text, 300);
  assert.deepEqual(a.toJSON(), b.toJSON());
  // 't','h' and 'h','e' are the most frequent pairs (7 per line: the, theme, the, thesis, the,
  // then, theory); the tie goes to the smaller left id, 'h' (104) < 't' (116); then 't','he'.
  assert.deepEqual(a.merge(0), ['h'.charCodeAt(0), 'e'.charCodeAt(0)]);
  assert.deepEqual(a.merge(1), ['t'.charCodeAt(0), 256]);
  assert.ok(a.vocabSize > 256 && a.vocabSize <= 300);
  const ids = a.encode(text);
  assert.ok(ids.length < enc.encode(text).length / 3, `${ids.length} tokens for ${enc.encode(text).length} bytes`);
  assert.equal(a.decode(ids), text);
  assert.ok(a.tokenText(ids[0] as number).length >= 2);
});

test('BPE: decode(encode(s)) === s for arbitrary Unicode, and encode equals applying merges in order', () => {
  const tok = BpeTokenizer.train(
    'Grüße aus Köln! 日本語のテキスト. The quick brown fox, the lazy dog. 😀😀 '.repeat(10),
    600,
  );
  const naiveEncode = (s: string): number[] => {
    const b = enc.encode(s);
    const out: number[] = [];
    forEachChunk(b, (x, y) => {
      let w = Array.from(b.subarray(x, y));
      for (let r = 0; r < tok.mergeCount; r++) {
        const [p, q] = tok.merge(r);
        const nw: number[] = [];
        for (let i = 0; i < w.length; i++) {
          if (i + 1 < w.length && w[i] === p && w[i + 1] === q) {
            nw.push(256 + r);
            i++;
          } else nw.push(w[i] as number);
        }
        w = nw;
      }
      out.push(...w);
    });
    return out;
  };
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.string({ unit: 'grapheme', maxLength: 80 }),
        fc.constantFrom('Köln the fox 日本語 😀', ''),
      ),
      (s) => {
        const ids = tok.encode(s);
        assert.equal(tok.decode(ids), s);
        assert.deepEqual(Array.from(ids), naiveEncode(s));
        for (const t of ids) assert.ok(t >= 0 && t < tok.vocabSize);
      },
    ),
    { numRuns: 300 },
  );
});

test('BPE: save/load as JSON, and bad merges refused', () => {
  const tok = BpeTokenizer.train('abababab cdcdcd abcd abcd', 270);
  const back = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
  assert.deepEqual(back.toJSON(), tok.toJSON());
  const isCode = (code: string) => (e: unknown) => e instanceof XentError && e.code === code;
  assert.throws(
    () => new BpeTokenizer([97, 300]),
    (e: unknown) => isCode('invalid_argument')(e) && /merges\[0\] right part = 300/.test((e as Error).message),
  );
  assert.throws(() => new BpeTokenizer([97, 98, 97, 98]), isCode('invalid_argument'));
  assert.throws(() => new BpeTokenizer([97]), isCode('invalid_argument'));
  const j = tok.toJSON();
  assert.throws(() => BpeTokenizer.fromJSON({ ...j, vocabSize: j.vocabSize + 1 }), isCode('invalid_file'));
  assert.throws(() => BpeTokenizer.fromJSON({ ...j, merges: [1, 999] }), isCode('invalid_file'));
  assert.throws(() => BpeTokenizer.fromJSON({ ...j, pretokenizer: 'gpt2' }), isCode('incompatible'));
  assert.throws(() => BpeTokenizer.train('abc', 100), isCode('invalid_argument'));
  assert.throws(() => tok.decode([tok.vocabSize]), isCode('index_out_of_range'));
  assert.throws(() => tok.encode('\uD83D'), isCode('invalid_text'));
});

test('BPE: a text without repeated pairs learns no merges (V = 256) and still encodes everything', () => {
  const tok = BpeTokenizer.train('abc', 4096);
  assert.equal(tok.vocabSize, 256);
  assert.deepEqual(Array.from(tok.encode('abc')), [97, 98, 99]);
});
