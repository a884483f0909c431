// The training loop's pieces against independent references: the scoring/distillation
// engine against the plain TypeScript LSTM (float64) and against FastLstmTrainer (whose
// gradients are checked against PyTorch in lstm-torch.test.ts); the model directory
// round trip; the data helpers' edge cases.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { XentError } from '../../src/core/errors.js';
import { CounterRng, randomTokens } from '../../src/core/rng.js';
import { loadModel } from '../../src/models/load.js';
import {
  createLstmModel,
  lstmForward,
  lstmModelFromParams,
  PARAM_NAMES,
  paramCount,
} from '../../src/models/lstm/lstm.js';
import { LstmEngine } from '../../src/models/lstm/lstm-engine.js';
import { saveLstmModelDir } from '../../src/models/lstm/lstm-model-dir.js';
import { ByteTokenizer } from '../../src/tokenizers/byte-tokenizer.js';
import { EngineOptimizer, optimizerBuffers } from '../../src/train/engine-optimizer.js';
import { FastLstmTrainer } from '../../src/train/fast-trainer.js';
import { IGNORE, sampleBatch, splitText, validationBatches } from '../../src/train/trainer-data.js';
import { relMaxDiff } from './lstm-fixture.js';

test('a saved LSTM directory scores like the float64 reference forward pass (nats, rank, top-1, full rows)', async () => {
  const V = 256,
    E = 12,
    H = 20,
    T = 41;
  const init = createLstmModel({ V, E, H, seed: 3 });
  const dir = mkdtempSync(join(tmpdir(), 'xent-lstm-dir-'));
  try {
    saveLstmModelDir(dir, {
      config: init.config,
      params: init.params.flat as Float32Array,
      tokenizer: new ByteTokenizer().toJSON(),
      byteExact: true,
      meta: { seq: 16 },
    });
    const m = await loadModel(dir, { threads: 2 });
    assert.equal(m.kind, 'lstm');
    assert.equal(m.vocabSize, V);
    const tokens = await m.tokenize('The quick brown fox jumps over the lazy dog.');
    assert.equal(tokens.length, 44);
    const seq = tokens.subarray(0, T);
    const from = 5;
    const got = await m.score(seq, { from, full: true });
    const ref = lstmModelFromParams(init.config, Float64Array.from(init.params.flat));
    const logits = lstmForward(ref, seq.subarray(0, T - 1), 1, T - 1);
    for (let t = from; t < T - 1; t++) {
      const row = Array.from(logits.data.subarray(t * V, t * V + V));
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((s, z) => s + Math.exp(z - mx), 0));
      const y = seq[t + 1]!;
      const i = t - from;
      assert.ok(
        Math.abs(got.nats[i]! - (lse - row[y]!)) <= 1e-5 * (lse - row[y]!),
        `position ${t}: ${got.nats[i]} vs ${lse - row[y]!}`,
      );
      assert.equal(got.rank[i], row.filter((z) => z > row[y]!).length);
      assert.equal(got.top1[i], row.indexOf(mx));
      for (let v = 0; v < V; v += 17) assert.ok(Math.abs(got.logProbs![i * V + v]! - (row[v]! - lse)) <= 1e-4);
    }
    // Scoring is from a fresh state: a longer sequence does not change earlier positions.
    const longer = await m.score(tokens, { from });
    assert.ok(relMaxDiff(longer.nats.subarray(0, T - 1 - from), got.nats) <= 1e-6);
    assert.equal(m.tokenBytes!().length, V);
    await m.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("LstmEngine: with the cross-entropy gradient written into the logit blocks, its gradients equal FastLstmTrainer's", () => {
  const V = 53,
    E = 9,
    H = 11,
    B = 3,
    T = 7;
  const init = createLstmModel({ V, E, H, seed: 9 });
  const fast = new FastLstmTrainer(
    init.config,
    { B, T, threads: 2, rowsPerChunk: 5 },
    init.params.flat as Float32Array,
  );
  const eng = new LstmEngine(
    init.config,
    {
      B,
      T,
      threads: 2,
      rowsPerChunk: 4,
      train: true,
      extraBuffers: optimizerBuffers(paramCount(init.config)),
    },
    init.params.flat as Float32Array,
  );
  const opt = new EngineOptimizer(eng);
  try {
    const x = randomTokens(B * T, V, 1, 1);
    const y = randomTokens(B * T, V, 1, 2);
    y[4] = IGNORE;
    const r = fast.lossAndGrad(x, y);
    eng.forward(x);
    const count = y.filter((v) => v !== IGNORE).length;
    let sum = 0;
    eng.forEachBlock((r0, rows, z) => {
      for (let r = 0; r < rows; r++) {
        const n = r0 + r;
        const t = Math.floor(n / B),
          b = n % B; // time-major rows
        const target = y[b * T + t]!;
        const o = r * V;
        if (target === IGNORE) {
          z.fill(0, o, o + V);
          continue;
        }
        let mx = -Infinity;
        for (let v = 0; v < V; v++) mx = Math.max(mx, z[o + v]!);
        let s = 0;
        for (let v = 0; v < V; v++) s += Math.exp(z[o + v]! - mx);
        sum += mx + Math.log(s) - z[o + target]!;
        for (let v = 0; v < V; v++) z[o + v] = (Math.exp(z[o + v]! - mx) / s - (v === target ? 1 : 0)) / count;
      }
    }, true);
    eng.backward();
    assert.ok(Math.abs(sum / count - r.loss) <= 1e-5 * r.loss, `loss ${sum / count} vs ${r.loss}`);
    for (const p of PARAM_NAMES) {
      const d = relMaxDiff(eng.grads![p], fast.grads[p]);
      assert.ok(d <= 1e-4, `grad ${p}: relative max diff ${d}`);
    }
    assert.ok(Math.abs(opt.clipGradNorm(0) - fast.gradNorm()) <= 1e-5 * fast.gradNorm());
  } finally {
    fast.close();
    eng.close();
  }
});

test('batches and validation windows: shapes, shifts, every validation token scored once', () => {
  const tokens = Int32Array.from({ length: 103 }, (_, i) => i % 50);
  const rng = new CounterRng(0, 101);
  const b = sampleBatch(tokens, 4, 10, rng);
  assert.equal(rng.counter, 4);
  for (let i = 0; i < 4; i++) {
    const s = b.starts[i]!;
    assert.ok(s >= 0 && s + 10 <= 102);
    for (let t = 0; t < 10; t++) {
      assert.equal(b.inputs[i * 10 + t], tokens[s + t]);
      assert.equal(b.targets[i * 10 + t], tokens[s + t + 1]);
    }
  }
  const vb = validationBatches(tokens, 4, 10, 1e9);
  const scored = vb.flatMap((x) => Array.from(x.targets).filter((y) => y !== IGNORE));
  assert.deepEqual(scored, Array.from(tokens.subarray(1)));
  assert.equal(vb.flatMap((x) => Array.from(x.targets).filter((y) => y !== IGNORE)).length, 102);
  const capped = validationBatches(tokens, 4, 10, 25);
  assert.equal(capped.flatMap((x) => Array.from(x.targets).filter((y) => y !== IGNORE)).length, 25);
});

test('splitText cuts at a line boundary and refuses an empty validation split', () => {
  const { train, val } = splitText('train', 'a b c\nd e f\ng h i\nj k l\n', 0.3);
  assert.equal(train + val, 'a b c\nd e f\ng h i\nj k l\n');
  assert.ok(train.endsWith('\n') && val.length > 0);
  assert.throws(
    () => splitText('train', 'one long line without a newline at all', 0.1, 'x.txt'),
    (e: unknown) =>
      e instanceof XentError && e.code === 'empty_input' && /validation split of x\.txt has no data/.test(e.message),
  );
  assert.throws(() => splitText('train', 'a\nb\n', 0), /--val-split = 0 must be in \(0, 1\)/);
});
