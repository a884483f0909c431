/**
 * KL-divergence building blocks: per-row arithmetic against PyTorch's kl_div (fixtures),
 * JSD and top-k against independent formulas, llama.cpp's uint16 storage, percentiles,
 * the base-file format (round trip, llama.cpp-style files without xent's trailer, damage),
 * and the seeded bootstrap.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bootstrapPairedDiff, bootstrapRatio, bootstrapUnpairedDiff } from '../../src/core/bootstrap.js';
import { XentError } from '../../src/core/errors.js';
import { type BaseFileMeta, BaseFileReader, BaseFileWriter, rowsPerChunk } from '../../src/eval/kld-file.js';
import { median, percentile } from '../../src/eval/kld-stats.js';
import {
  baseRowWidth,
  kldRowExact,
  kldRowLlama,
  newKldRow,
  newTopkScratch,
  quantizeBaseRow,
  topkOverlap,
} from '../../src/kernels/kld-rows.js';
import { skipUnlessShared } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'xent-kld-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface KlCase {
  name: string;
  inputs: { input_logprobs: number[][]; target: Array<Array<number | string>> };
  params: { log_target: boolean; reduction: string };
  expected: number;
}

function fixture(name: string): KlCase {
  const f = JSON.parse(readFileSync(sharedPath('fixtures', 'torch_reference.json')!, 'utf8')) as { cases: KlCase[] };
  const c = f.cases.find((x) => x.name === name);
  assert.ok(c, name);
  return c;
}

const num = (x: number | string): number => (x === '-Infinity' ? -Infinity : x === 'Infinity' ? Infinity : Number(x));

/** A deterministic pseudo-random log-softmax row of length V. */
function randomLogProbs(V: number, seed: number, spread = 4): Float32Array {
  let s = seed >>> 0 || 1;
  const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const x = Array.from({ length: V }, () => (rnd() - 0.5) * 2 * spread);
  const m = Math.max(...x);
  const lse = m + Math.log(x.reduce((a, b) => a + Math.exp(b - m), 0));
  return Float32Array.from(x, (v) => v - lse);
}

test('kldRowExact = PyTorch kl_div(log_target=True, batchmean) per row', {
  skip: skipUnlessShared('fixtures', 'torch_reference.json'),
}, () => {
  const c = fixture('kl_batchmean_log_target');
  const rows = c.inputs.input_logprobs;
  const V = rows[0]!.length;
  let sum = 0;
  const r = newKldRow();
  for (let i = 0; i < rows.length; i++) {
    const m = Float32Array.from(rows[i]!);
    const b = Float32Array.from(c.inputs.target[i]!.map(num));
    kldRowExact(b, 0, m, 0, V, 0, r, false, 0);
    sum += r.kld;
  }
  // float32 inputs: 1e-5 relative.
  assert.ok(Math.abs(sum / rows.length - c.expected) <= 1e-5 * c.expected, `${sum / rows.length} vs ${c.expected}`);
});

test('kldRowExact: a base probability of exactly 0 contributes 0 (PyTorch xlogy)', {
  skip: skipUnlessShared('fixtures', 'torch_reference.json'),
}, () => {
  const c = fixture('kl_batchmean_teacher_zero_probs');
  const V = c.inputs.input_logprobs[0]!.length;
  let sum = 0;
  const r = newKldRow();
  c.inputs.input_logprobs.forEach((row, i) => {
    const b = Float32Array.from(c.inputs.target[i]!.map((p) => Math.log(num(p))));
    kldRowExact(b, 0, Float32Array.from(row), 0, V, 0, r, true, 0);
    assert.ok(Number.isFinite(r.kld) && Number.isFinite(r.jsd));
    sum += r.kld;
  });
  assert.ok(Math.abs(sum / c.inputs.input_logprobs.length - c.expected) <= 1e-5 * c.expected);
});

test('JSD = H(M) − (H(P) + H(Q))/2, symmetric, ≤ ln 2; top-k overlap = brute force', () => {
  const V = 300;
  for (let seed = 1; seed <= 5; seed++) {
    const b = randomLogProbs(V, seed);
    const m = randomLogProbs(V, seed * 77 + 5, 2 + seed);
    const H = (p: ArrayLike<number>): number => {
      let h = 0;
      for (let i = 0; i < p.length; i++) if (p[i]! > 0) h -= p[i]! * Math.log(p[i]!);
      return h;
    };
    const P = Array.from(b, Math.exp);
    const Q = Array.from(m, Math.exp);
    const M = P.map((p, i) => (p + Q[i]!) / 2);
    const want = H(M) - (H(P) + H(Q)) / 2;
    const r = newKldRow();
    kldRowExact(b, 0, m, 0, V, 3, r, true, 7, newTopkScratch(7));
    assert.ok(Math.abs(r.jsd - want) < 1e-12, `${r.jsd} vs ${want}`);
    assert.ok(r.jsd > 0 && r.jsd <= Math.LN2);
    const r2 = newKldRow();
    kldRowExact(m, 0, b, 0, V, 3, r2, true, 0);
    assert.ok(Math.abs(r2.jsd - r.jsd) < 1e-12);
    // KL against a direct float64 sum.
    let kl = 0;
    for (let v = 0; v < V; v++) kl += P[v]! * (b[v]! - m[v]!);
    assert.ok(Math.abs(r.kld - kl) < 1e-12);
    assert.ok(Math.abs(r.pDiff - (Q[3]! - P[3]!)) < 1e-12);
    for (const k of [1, 5, 20]) {
      const top = (x: Float32Array): Set<number> =>
        new Set(
          Array.from(x, (y, i) => [y, i] as const)
            .sort((p, q) => q[0] - p[0])
            .slice(0, k)
            .map((e) => e[1]),
        );
      const tb = top(b);
      const tm = top(m);
      const common = [...tb].filter((i) => tm.has(i)).length;
      assert.equal(topkOverlap(b, 0, m, 0, V, k, newTopkScratch(k)), common / k);
    }
  }
});

test("quantizeBaseRow: llama.cpp's uint16 storage (floor max − 16, scale (max − floor)/65535)", () => {
  const V = 512;
  const x = randomLogProbs(V, 9, 12); // spread wider than 16 nats: some entries fall below the floor
  const nv = baseRowWidth(V);
  assert.equal(nv, 516);
  const q = new Uint16Array(nv);
  const f32 = new Float32Array(q.buffer);
  const nll = quantizeBaseRow(x, 0, V, 17, q, f32, 0);
  assert.ok(Math.abs(nll - -x[17]!) < 1e-5);
  const mx = Math.max(...x);
  const floor = Math.fround(mx - 16);
  const scale = f32[0]!;
  const minLogProb = f32[1]!;
  assert.ok(Math.abs(scale - 16 / 65535) < 1e-9);
  assert.ok(Math.abs(minLogProb - floor) < 1e-5); // x are log-probabilities: min_log_prob = floor − max − lse ≈ floor
  let below = 0;
  for (let v = 0; v < V; v++) {
    const back = scale * q[4 + v]! + minLogProb;
    if (x[v]! > floor) assert.ok(Math.abs(back - x[v]!) <= scale / 2 + 1e-5, `v=${v}: ${back} vs ${x[v]}`);
    else {
      assert.equal(q[4 + v], 0);
      below++;
    }
  }
  assert.ok(below > 0, 'the test row has entries below the floor');
  // Against its own storage the llama KLD is tiny (not exactly 0: that is the quantisation) and the top agrees.
  const r = newKldRow();
  kldRowLlama(x, 0, V, q, f32, 0, 17, r);
  assert.ok(Math.abs(r.kld) < 1e-4, String(r.kld));
  assert.equal(r.sameTop, true);
  assert.ok(Math.abs(r.nllModel - r.nllBase) <= scale);
});

test("percentile and median use llama.cpp's interpolation at f·(n−1)", () => {
  const v = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(percentile(v, 0.5, false), 4.5);
  assert.ok(Math.abs(percentile(v, 0.999, false) - 8.991) < 1e-12);
  assert.ok(Math.abs(percentile(v, 0.999, true) - 8.991) < 1e-6);
  assert.equal(percentile(v, 0, true), 0);
  assert.equal(percentile(v, 1, true), 9);
  assert.equal(median(v, true), 4.5);
  assert.equal(median(Float64Array.from([3, 1, 2]).sort(), false), 2);
});

test('base file: written chunk by chunk, read back identical, with the xent trailer', () => {
  const V = 37; // odd: one uint16 of padding per row
  const nCtx = 16;
  const nChunk = 3;
  const tokens = Int32Array.from({ length: nChunk * nCtx }, (_, i) => (i * 7) % V);
  const path = join(dir, 'a.kld');
  const w = new BaseFileWriter(path, { nCtx, vocabSize: V, nChunk, tokens });
  const rows = rowsPerChunk(nCtx);
  assert.equal(rows, 7);
  const nv = baseRowWidth(V);
  const chunks = Array.from({ length: nChunk }, (_, c) =>
    Uint16Array.from({ length: rows * nv }, (_, i) => (i * 31 + c * 1000) & 0xffff),
  );
  for (const ch of chunks) w.writeChunk(ch);
  const meta: BaseFileMeta = {
    format: 'xent-kld-base/1',
    base_model: '/m.gguf',
    base_model_bytes: 12,
    data_sha256: 'ab'.repeat(32),
    ctx: nCtx,
    vocab_size: V,
    xent_version: 'test',
  };
  w.finish(meta);
  const size = readFileSync(path).length;
  const r = new BaseFileReader(path);
  assert.deepEqual(r.header, { nCtx, vocabSize: V, nChunk, tokens });
  assert.deepEqual(r.meta, meta);
  for (let c = 0; c < nChunk; c++) assert.deepEqual(r.readChunk(c), chunks[c]);
  r.close();
  // llama.cpp's own file: the same bytes without the trailer.
  const bare = readFileSync(path).subarray(0, 20 + 4 * nChunk * nCtx + nChunk * rows * nv * 2);
  assert.ok(bare.length < size);
  const lp = join(dir, 'llama.kld');
  writeFileSync(lp, bare);
  const r2 = new BaseFileReader(lp);
  assert.equal(r2.meta, undefined);
  assert.deepEqual(r2.readChunk(2), chunks[2]);
  r2.close();
  // Damage is refused with the reason.
  writeFileSync(join(dir, 'trunc.kld'), bare.subarray(0, bare.length - 10));
  assert.throws(
    () => new BaseFileReader(join(dir, 'trunc.kld')),
    (e: unknown) => e instanceof XentError && e.code === 'invalid_file' && /truncated/.test(e.message),
  );
  writeFileSync(join(dir, 'bad.kld'), Buffer.from('GGUF and more bytes than twenty'));
  assert.throws(() => new BaseFileReader(join(dir, 'bad.kld')), /does not start with "_logits_"/);
  assert.throws(() => new BaseFileReader(join(dir, 'missing.kld')), /does not exist/);
});

test('bootstrap: seeded, deterministic, intervals around the estimate; paired differences of equal data are 0', () => {
  const n = 200;
  const num = Float64Array.from({ length: n }, (_, i) => 100 + 20 * Math.sin(i * 1.7));
  const den = Float64Array.from({ length: n }, (_, i) => 50 + (i % 7));
  const est = num.reduce((a, b) => a + b) / den.reduce((a, b) => a + b);
  const a = bootstrapRatio(num, den, { seed: 3 });
  const b = bootstrapRatio(num, den, { seed: 3 });
  assert.deepEqual(a, b);
  assert.ok(a.lo < est && est < a.hi);
  assert.notDeepEqual(bootstrapRatio(num, den, { seed: 4 }), a);
  assert.deepEqual(bootstrapPairedDiff(num, den, num, den), { lo: 0, hi: 0 });
  // A shift of 0.1 per unit of the denominator is the same in every replicate when paired.
  const shifted = num.map((x, i) => x + 0.1 * den[i]!);
  const d = bootstrapPairedDiff(shifted, den, num, den, { seed: 1 });
  const dEst = 0.1;
  assert.ok(
    Math.abs(d.lo - dEst) < 1e-9 && Math.abs(d.hi - dEst) < 1e-9,
    'a proportional shift is known exactly when paired',
  );
  const u = bootstrapUnpairedDiff(shifted, den, num, den, { seed: 1 });
  assert.ok(u.lo < dEst && dEst < u.hi && u.hi - u.lo > 1e-3, 'unpaired: the noise of both samples');
  assert.throws(
    () => bootstrapRatio([], []),
    (e: unknown) => e instanceof XentError && e.code === 'empty_input',
  );
});

test('WebAssembly SIMD row sums (V ≥ 2048) agree with the float64 JavaScript path', async () => {
  const { kldKernels, KLD_WASM_MIN_VOCAB } = await import('../../src/kernels/kld.js');
  const kk = kldKernels();
  assert.ok(kk, 'the kld kernel loads');
  for (const V of [KLD_WASM_MIN_VOCAB, 5003]) {
    const nv = baseRowWidth(V);
    for (let seed = 1; seed <= 3; seed++) {
      const b = randomLogProbs(V, seed, 10);
      const m = Float32Array.from(b, (x, i) => x + 0.05 * Math.sin(i * seed)); // a nearby, unnormalised model row (raw logits)
      const tok = (seed * 977) % V;
      const qa = new Uint16Array(nv);
      const qb = new Uint16Array(nv);
      const fa = new Float32Array(qa.buffer);
      const fb = new Float32Array(qb.buffer);
      const na = quantizeBaseRow(b, 0, V, tok, qa, fa, 0);
      const nb = kk.quantizeBaseRow(b, 0, V, tok, qb, fb, 0);
      assert.deepEqual(qb.subarray(4), qa.subarray(4), 'the same quantised values');
      assert.ok(Math.abs(nb - na) < 1e-5 && Math.abs(fb[1]! - fa[1]!) < 1e-5);
      const ra = newKldRow();
      const rb = newKldRow();
      kldRowLlama(m, 0, V, qa, fa, 0, tok, ra);
      kk.kldRowLlama(m, 0, V, qa, fa, 0, tok, rb);
      // llama mode: float32 exps computed in float64 (as Math.fround(Math.exp(x))): equal up to the order of the float64 sums.
      assert.ok(Math.abs(rb.kld - ra.kld) < 1e-12, `llama KLD ${rb.kld} vs ${ra.kld}`);
      assert.equal(rb.sameTop, ra.sameTop);
      assert.equal(rb.nllModel, ra.nllModel);
      assert.equal(rb.nllBase, ra.nllBase);
      assert.equal(rb.pDiff, ra.pDiff);
      const lm = randomLogProbs(V, seed + 100, 10);
      kldRowExact(b, 0, lm, 0, V, tok, ra, false, 0);
      kk.kldRowExact(b, 0, lm, 0, V, tok, rb);
      assert.ok(Math.abs(rb.kld - ra.kld) < 1e-6 * Math.abs(ra.kld), `exact KLD ${rb.kld} vs ${ra.kld}`);
      assert.equal(rb.sameTop, ra.sameTop);
    }
  }
  // −inf in the base contributes 0; −inf in the model where the base has mass gives +inf (refused by evaluateKld).
  const V = 4096;
  const b = randomLogProbs(V, 7);
  b[5] = -Infinity;
  const r = newKldRow();
  kk.kldRowExact(b, 0, b, 0, V, 0, r);
  assert.ok(Math.abs(r.kld) < 1e-9);
  const m = Float32Array.from(b);
  m[6] = -Infinity;
  kk.kldRowExact(b, 0, m, 0, V, 0, r);
  assert.equal(r.kld, Infinity);
});
