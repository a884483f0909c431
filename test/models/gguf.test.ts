/**
 * The two GGUF engines — raw logits through xent's native binding, and node-llama-cpp's
 * public probability Map — must give the same tokens and the same scores.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { evaluatePerplexity } from '../../src/eval/evaluate.js';
import { type GgufLanguageModel, loadGgufModel } from '../../src/models/gguf/gguf-language-model.js';
import { scoreLogitRows } from '../../src/models/gguf/logit-scores.js';
import { requires } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';

const modelPath = sharedPath('models', 'stories260K.gguf');
const skip = requires({ shared: ['models/stories260K.gguf', 'data/tinystories_valid_600k.txt'], native: true });
const GPL = '/usr/share/common-licenses/GPL-3';

let fast: GgufLanguageModel;
let map: GgufLanguageModel;
before(async () => {
  if (skip) return;
  // The reference figures were made with flash attention off.
  fast = await loadGgufModel(modelPath!, { ctx: 128, threads: 1, engine: 'native', flashAttention: 'off' });
  map = await loadGgufModel(modelPath!, { ctx: 128, threads: 1, engine: 'map', flashAttention: 'off' });
});
after(async () => {
  await fast?.close();
  await map?.close();
});

test('both engines tokenise identically and agree on the model facts', { skip }, async () => {
  assert.equal(fast.engine, 'native');
  assert.equal(map.engine, 'map');
  const text = `${readFileSync(sharedPath('data', 'tinystories_valid_600k.txt')!, 'utf8').slice(0, 20000)} héllo → 漢字 🙂`;
  assert.deepEqual(await fast.tokenize(text), await map.tokenize(text));
  for (const k of ['vocabSize', 'trainContextLength', 'addsBos', 'bosToken'] as const) assert.equal(fast[k], map[k], k);
  assert.equal(fast.vocabSize, 512);
  assert.equal(fast.addsBos, true);
  assert.deepEqual(fast.tokenBytes(), map.tokenBytes());
  for (let t = 0; t < fast.vocabSize; t++) assert.equal(fast.tokenText(t), map.tokenText(t), `token ${t}`);
});

test('raw-logit scores equal the probability-Map scores, row by row, with the full distribution', {
  skip,
}, async () => {
  const toks = await fast.tokenize(readFileSync(GPL, 'utf8'));
  for (const start of [0, 5000, 20000]) {
    const chunk = toks.slice(start, start + 128);
    chunk[0] = fast.bosToken!;
    const a = await fast.score(chunk, { from: 10, full: true });
    const b = await map.score(chunk, { from: 10, full: true });
    assert.equal(a.nats.length, 117);
    for (let r = 0; r < a.nats.length; r++) {
      // The Map holds float32 probabilities normalised in float32: agreement to ~1e-6 nats.
      assert.ok(
        Math.abs(a.nats[r]! - b.nats[r]!) < 2e-5 * Math.max(1, a.nats[r]!),
        `row ${r}: ${a.nats[r]} vs ${b.nats[r]}`,
      );
      assert.equal(a.top1[r], b.top1[r], `top1 row ${r}`);
      assert.ok(Math.abs(a.top1Prob[r]! - b.top1Prob[r]!) < 1e-5);
      assert.ok(Math.abs(a.rank[r]! - b.rank[r]!) <= 1, `rank row ${r}: ${a.rank[r]} vs ${b.rank[r]}`); // float ties may order differently
    }
    for (let i = 0; i < a.logProbs!.length; i++) {
      const x = a.logProbs![i]!;
      const y = b.logProbs![i]!;
      if (x > -20) assert.ok(Math.abs(x - y) < 1e-4, `logProbs[${i}] ${x} vs ${y}`);
    }
  }
});

test('both engines reproduce llama-perplexity on GPL-3, --chunks 20, ctx 128', { skip }, async () => {
  const toks = await fast.tokenize(readFileSync(GPL, 'utf8'));
  for (const m of [fast, map]) {
    const r = await evaluatePerplexity(m, toks, { ctx: 128, chunks: 20 });
    assert.equal(r.chunks, 20);
    assert.equal(r.tokens_scored, 20 * 63);
    assert.deepEqual(
      [0, 1, 2, 19].map((i) => r.running[i]!.toFixed(4)),
      ['114.1428', '101.7695', '67.5224', '83.7522'],
      m.engine,
    );
    assert.equal(r.perplexity.toFixed(4), '83.7522');
    assert.equal(r.perplexity_pm.toFixed(5), '8.02147');
  }
});

test("native row statistics (llama.cpp's arithmetic in C) equal xent's float64 log-softmax of the same logits", {
  skip,
}, async () => {
  const toks = await fast.tokenize(readFileSync(GPL, 'utf8'));
  const chunk = toks.slice(1000, 1128);
  chunk[0] = fast.bosToken!;
  const a = await fast.score(chunk, { from: 64 });
  const b = await fast.score(chunk, { from: 64, full: true });
  const ref = scoreLogitRows('test', b.logProbs!, fast.vocabSize, chunk.subarray(65), false, 'js');
  assert.deepEqual(a.nats, b.nats);
  for (let r = 0; r < a.nats.length; r++) {
    assert.ok(Math.abs(a.nats[r]! - ref.nats[r]!) < 1e-6, `row ${r}: ${a.nats[r]} vs ${ref.nats[r]}`);
    assert.equal(a.rank[r], ref.rank[r]);
    assert.equal(a.top1[r], ref.top1[r]);
    assert.ok(Math.abs(a.top1Prob[r]! - ref.top1Prob[r]!) < 1e-6);
  }
});

test('score() validates its input', { skip }, async () => {
  await assert.rejects(fast.score(Int32Array.of(1, 2, 3), { from: 2 }), /from = 2/);
  await assert.rejects(fast.score(Int32Array.of(1, 600, 3), { from: 0 }), /tokens\[1\] = 600 is out of range/);
});
