import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { XentError } from '../../src/core/errors.js';
import { loadNgramLanguageModel, NgramLanguageModel } from '../../src/models/ngram/ngram-language-model.js';
import { isNgramModelDir, loadNgramModelDir, saveNgramModelDir } from '../../src/models/ngram/ngram-model-dir.js';
import { ByteTokenizer } from '../../src/tokenizers/byte-tokenizer.js';
import { trainTokenizer } from '../../src/tokenizers/tokenizer-spec.js';
import { scoreNgramText, trainNgram } from '../../src/train/ngram-train.js';

const isCode = (code: string) => (e: unknown) => e instanceof XentError && e.code === code;
const TEXT = 'the cat sat on the mat. the dog sat on the log. the cat saw the dog.\n'.repeat(5);

test('NgramLanguageModel.score: nats, rank, top1, top1Prob and full rows agree with the distribution', async () => {
  const tok = trainTokenizer('bpe:300', TEXT);
  const ng = trainNgram({ text: TEXT, tokenizer: tok, order: 3 });
  const lm = new NgramLanguageModel(ng, tok);
  assert.equal(lm.kind, 'ngram');
  assert.equal(lm.addsBos, false);
  assert.equal(lm.bosToken, undefined);
  assert.equal(lm.vocabSize, tok.vocabSize);
  const tokens = await lm.tokenize('the cat sat on the log. the dog saw');
  const from = 2;
  const s = await lm.score(tokens, { from, full: true });
  const V = lm.vocabSize;
  const count = tokens.length - 1 - from;
  assert.equal(s.nats.length, count);
  assert.equal(s.logProbs?.length, count * V);
  const dist = new Float64Array(V);
  for (let i = 0; i < count; i++) {
    const t = from + i;
    ng.distributionAt(tokens, t + 1, dist);
    const y = tokens[t + 1] as number;
    const want = -Math.log(ng.prob(tokens.subarray(0, t + 1), y));
    assert.ok(Math.abs((s.nats[i] as number) - want) <= 1e-12 * want, `${s.nats[i]} vs ${want}`);
    const sorted = Array.from(dist)
      .map((p, v) => [p, v] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    assert.equal(s.top1[i], sorted[0]![1]);
    assert.equal(s.top1Prob[i], sorted[0]![0]);
    assert.equal(s.rank[i], sorted.filter(([p]) => p > (dist[y] as number)).length);
    let lse = 0;
    for (let v = 0; v < V; v++) lse += Math.exp(s.logProbs![i * V + v] as number);
    assert.ok(Math.abs(lse - 1) < 1e-5, `row ${i}: Σ exp(logProbs) = ${lse}`);
    assert.ok(Math.abs((s.logProbs![i * V + y] as number) + (s.nats[i] as number)) < 1e-5);
  }
  const noFull = await lm.score(tokens, { from: 0 });
  assert.equal(noFull.logProbs, undefined);
  assert.equal(noFull.nats.length, tokens.length - 1);
});

test('scoreNgramText: bits per byte = Σ nats / ln 2 / UTF-8 bytes (first token by the unigram level)', () => {
  const tok = new ByteTokenizer();
  const ng = trainNgram({ text: TEXT, tokenizer: tok, order: 4 });
  const text = 'the cat sat on the dog. é';
  const r = scoreNgramText(ng, tok, text);
  const ids = tok.encode(text);
  assert.equal(r.bytes, ids.length);
  assert.equal(r.tokens, ids.length);
  let nats = 0;
  for (let t = 0; t < ids.length; t++) nats -= Math.log(ng.prob(ids.subarray(0, t), ids[t] as number));
  assert.ok(Math.abs(r.totalNats - nats) < 1e-9 * nats);
  assert.ok(Math.abs(r.bitsPerByte - nats / Math.LN2 / ids.length) < 1e-12);
  assert.equal(r.byteExact, true);
  // Seen text is much cheaper than 8 bits per byte; the uniform floor is exactly 8.
  assert.ok(scoreNgramText(ng, tok, TEXT).bitsPerByte < 2);
  assert.throws(() => trainNgram({ text: '', tokenizer: tok }), isCode('empty_input'));
  assert.throws(() => scoreNgramText(ng, trainTokenizer('bpe:300', TEXT), text), isCode('incompatible'));
});

test('model directory: save, detect, load, score identically; errors are clear', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xent-ngram-dir-'));
  try {
    const tok = trainTokenizer('bpe:280', TEXT);
    const ng = trainNgram({ text: TEXT, tokenizer: tok, order: 2 });
    const md = join(dir, 'model');
    assert.equal(isNgramModelDir(md), false);
    saveNgramModelDir(md, ng, tok, { data: 'inline', command: 'test' });
    assert.equal(isNgramModelDir(md), true);
    const lm = loadNgramLanguageModel(md);
    assert.equal(lm.id, md);
    assert.equal(lm.order, 2);
    const ids = await lm.tokenize('the cat sat on the mat.');
    const a = await new NgramLanguageModel(ng, tok).score(ids, { from: 0 });
    const b = await lm.score(ids, { from: 0 });
    assert.deepEqual(b.nats, a.nats);
    assert.throws(
      () => loadNgramModelDir(join(dir, 'nope')),
      (e: unknown) => isCode('invalid_file')(e) && /model\.json/.test((e as Error).message),
    );
    writeFileSync(join(md, 'model.json'), '{"format":"xent-model","kind":"lstm"}');
    assert.throws(() => loadNgramModelDir(md), isCode('invalid_file'));
    assert.throws(
      () => lm.scoreSync(ids, { from: ids.length }),
      (e: unknown) => isCode('invalid_argument')(e) && /from = /.test((e as Error).message),
    );
    assert.throws(() => lm.scoreSync(new Int32Array(0), { from: 0 }), isCode('too_short'));
    assert.throws(() => lm.scoreSync(Int32Array.of(0, 99999), { from: 0 }), isCode('index_out_of_range'));
    assert.throws(() => new NgramLanguageModel(ng, new ByteTokenizer()), isCode('incompatible'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
