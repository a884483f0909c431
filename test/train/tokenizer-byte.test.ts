import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import { ByteTokenizer } from '../../src/tokenizers/byte-tokenizer.js';
import { parseTokenizerSpec, tokenizerFromJSON, trainTokenizer } from '../../src/tokenizers/tokenizer-spec.js';
import { WordTokenizer } from '../../src/tokenizers/word-tokenizer.js';

const isCode = (code: string) => (e: unknown) => e instanceof XentError && e.code === code;

test('byte tokenizer: tokens are the UTF-8 bytes', () => {
  const t = new ByteTokenizer();
  assert.deepEqual(Array.from(t.encode('aé€😀')), [0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
  assert.equal(t.vocabSize, 256);
  assert.equal(t.byteExact, true);
  assert.equal(t.tokenText(0x61), 'a');
  assert.equal(t.tokenText(0xc3), '<0xC3>');
});

test('byte tokenizer: decode(encode(s)) === s for arbitrary Unicode', () => {
  const t = new ByteTokenizer();
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 })),
      (s) => {
        assert.equal(t.decode(t.encode(s)), s);
      },
    ),
    { numRuns: 300 },
  );
});

test('byte tokenizer: lone surrogates and bad ids are refused with codes', () => {
  const t = new ByteTokenizer();
  assert.throws(
    () => t.encode('ab\uD800c'),
    (e: unknown) => isCode('invalid_text')(e) && /text\[2\]/.test((e as Error).message),
  );
  assert.throws(() => t.encode('\uDC00'), isCode('invalid_text'));
  assert.throws(
    () => t.decode([1, 256]),
    (e: unknown) => isCode('index_out_of_range')(e) && /tokens\[1\] = 256/.test((e as Error).message),
  );
  assert.throws(() => t.tokenText(-1), isCode('index_out_of_range'));
  assert.throws(() => ByteTokenizer.fromJSON({ kind: 'bpe' }), isCode('invalid_file'));
});

test('tokenizer specs parse and refuse bad input', () => {
  assert.deepEqual(parseTokenizerSpec('byte'), { kind: 'byte', vocabSize: 256 });
  assert.deepEqual(parseTokenizerSpec('bpe:4096'), { kind: 'bpe', vocabSize: 4096 });
  assert.deepEqual(parseTokenizerSpec('word:10000'), { kind: 'word', vocabSize: 10000 });
  for (const bad of ['bpe', 'bpe:100', 'bpe:-5', 'char:10', 'word:1', '', 'bpe:4096x']) {
    assert.throws(
      () => parseTokenizerSpec(bad),
      (e: unknown) => isCode('invalid_argument')(e) && /--vocab/.test((e as Error).message),
      bad,
    );
  }
  assert.throws(() => tokenizerFromJSON({ kind: 'sentencepiece' }), isCode('invalid_file'));
  assert.throws(() => tokenizerFromJSON(null), isCode('invalid_file'));
});

test('every tokenizer kind survives a JSON round trip', () => {
  const text = 'the cat sat on the mat. The cat, the mat! 12 cats.\n';
  for (const spec of ['byte', 'bpe:300', 'word:8']) {
    const t = trainTokenizer(spec, text);
    const u = tokenizerFromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    assert.equal(u.kind, t.kind);
    assert.equal(u.vocabSize, t.vocabSize);
    assert.deepEqual(Array.from(u.encode(`${text}zebra`)), Array.from(t.encode(`${text}zebra`)), spec);
  }
});

test('word tokenizer: <unk> for unseen words, not byte-exact', () => {
  const t = WordTokenizer.train("the cat sat; the cat didn't. the end", 4);
  assert.equal(t.byteExact, false);
  assert.equal(t.kind, 'word');
  // Frequencies: the ×3, cat ×2, then ties of 1 broken by code-unit order: "." < ";" < "didn't" …
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => t.tokenText(i)),
    ['<unk>', 'the', 'cat', '.'],
  );
  assert.deepEqual(Array.from(t.encode("the dog didn't.")), [1, 0, 0, 3]);
  assert.equal(t.decode(t.encode('the  cat.')), 'the cat .');
  assert.throws(() => WordTokenizer.train('x', 1), isCode('invalid_argument'));
  assert.throws(() => new WordTokenizer(['a', '<unk>']), isCode('invalid_argument'));
});
