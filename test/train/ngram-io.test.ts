import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import { NgramModel } from '../../src/models/ngram/ngram.js';
import { deserializeNgram, serializeNgram } from '../../src/models/ngram/ngram-format.js';
import { loadNgram, saveNgram } from '../../src/models/ngram/ngram-model-dir.js';

const isCode = (code: string) => (e: unknown) => e instanceof XentError && e.code === code;

test('serialise → deserialise gives the same model (same trie, discounts, probabilities)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 300 }),
      (n, corpus) => {
        const m = NgramModel.fromTokens(corpus, n, 12);
        const back = deserializeNgram(serializeNgram(m));
        assert.equal(back.order, n);
        assert.equal(back.vocabSize, 12);
        assert.deepEqual(back.discounts, m.discounts);
        assert.deepEqual(back.trie.tokens, m.trie.tokens);
        assert.deepEqual(back.trie.counts, m.trie.counts);
        assert.deepEqual(back.trie.childCount, m.trie.childCount);
        const h = corpus.slice(-n);
        for (let w = 0; w < 12; w++) assert.equal(back.prob(h, w), m.prob(h, w));
      },
    ),
    { numRuns: 50 },
  );
});

test('files: atomic save and load; corrupt, truncated and foreign files refused as invalid_file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xent-ngram-'));
  try {
    const m = NgramModel.fromTokens([0, 1, 2, 0, 1, 3, 0, 1, 2], 3, 5);
    const p = join(dir, 'm.bin');
    saveNgram(p, m);
    assert.equal(loadNgram(p).prob([0, 1], 2), m.prob([0, 1], 2));
    const bytes = readFileSync(p);
    const bad = (b: Uint8Array, re: RegExp) =>
      assert.throws(
        () => deserializeNgram(b, 'x.bin'),
        (e: unknown) =>
          isCode('invalid_file')(e) && re.test((e as Error).message) && /x\.bin/.test((e as Error).message),
      );
    bad(bytes.subarray(0, bytes.length - 4), /truncated/);
    bad(new TextEncoder().encode('hello world, not a model'), /magic/);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 1] = 0x7f; // a childCount of the last node → structure breaks
    bad(flipped, /corrupt/);
    const badToken = Uint8Array.from(bytes);
    const N = m.nodeCount;
    const start = bytes.length - 12 * N;
    new DataView(badToken.buffer).setInt32(start + 4, 99, true); // tokens[1] = 99 ≥ V
    bad(badToken, /tokens\[1\] = 99/);
    const v2 = Uint8Array.from(bytes);
    new DataView(v2.buffer).setUint32(8, 2, true);
    assert.throws(() => deserializeNgram(v2), isCode('incompatible'));
    assert.throws(
      () => loadNgram(join(dir, 'missing.bin')),
      (e: unknown) => isCode('invalid_file')(e) && /missing\.bin/.test((e as Error).message),
    );
    writeFileSync(join(dir, 'empty.bin'), '');
    assert.throws(() => loadNgram(join(dir, 'empty.bin')), isCode('invalid_file'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
