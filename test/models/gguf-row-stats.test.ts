/**
 * The native binding's row statistics (native/xent-llama.c, row_stats): the vector
 * implementation (AVX2 or AVX-512, chosen at init) against the scalar reference, which
 * is llama-perplexity's log_softmax loop exactly (libm expf, summed in index order).
 * The vector expf is the same function bit for bit, so only the order of the double
 * additions may differ: max, argmax and rank must be equal, nll and lse equal to ~1e-15.
 * Also: chunks queued while another decodes give the results of chunks run one by one.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadGgufModel } from '../../src/models/gguf/gguf-language-model.js';
import { loadNativeBinding } from '../../src/models/gguf/gguf-native.js';
import { scoreLogitRows } from '../../src/models/gguf/logit-scores.js';
import { requires } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';

const native = loadNativeBinding();
const skip = requires({ native: true });
const cpuFlags = (() => {
  try {
    return new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
  } catch {
    return new Set<string>();
  }
})();

/** Both implementations on the same rows: [stats vector, stats scalar, name]. */
function both(logits: Float32Array, V: number, targets: Int32Array): [Float64Array, Float64Array, string] {
  const a = new Float64Array(targets.length * 5);
  const b = new Float64Array(targets.length * 5);
  const name = native!.rowStats(logits, V, targets, a, false);
  assert.equal(native!.rowStats(logits, V, targets, b, true), 'scalar');
  return [a, b, name];
}

/**
 * Max, argmax and rank exactly; nll and lse within the error bound of recursive
 * summation, which the reference's index-order sum itself carries: the relative error of
 * Σ over V terms is ≤ (V − 1)·u (Higham, Accuracy and Stability, §4.2), u = 2^-53, and
 * so is the absolute error of log Σ; plus a few ulps of the result.
 */
function assertSame(a: Float64Array, b: Float64Array, rows: number, V: number, what: string): void {
  for (let r = 0; r < rows; r++) {
    const s = r * 5;
    if (Number.isNaN(b[s]!)) {
      assert.ok(Number.isNaN(a[s]!), `${what} row ${r}: scalar NaN, vector ${a[s]}`);
      assert.equal(a[s + 3], b[s + 3], `${what} row ${r}: first offending column`);
      continue;
    }
    for (const k of [0, 1]) {
      if (!Number.isFinite(b[s + k]!)) {
        assert.equal(a[s + k], b[s + k], `${what} row ${r} field ${k}`); // a target logit of −inf: nll = +inf
        continue;
      }
      const tol = 2 * V * 2 ** -53 + 8 * 2 ** -52 * Math.abs(b[s + k]!);
      assert.ok(Math.abs(a[s + k]! - b[s + k]!) <= tol, `${what} row ${r} field ${k}: ${a[s + k]} vs ${b[s + k]}`);
    }
    assert.equal(a[s + 2], b[s + 2], `${what} row ${r}: max`);
    assert.equal(a[s + 3], b[s + 3], `${what} row ${r}: argmax`);
    assert.equal(a[s + 4], b[s + 4], `${what} row ${r}: rank`);
  }
}

test('the vector row statistics are chosen where the CPU has them', { skip }, () => {
  const name = native!.rowStats(new Float32Array(16), 16, new Int32Array(1), new Float64Array(5), false);
  if (process.env.XENT_NATIVE_ROW_STATS === 'scalar') assert.equal(name, 'scalar');
  else if (process.arch === 'x64' && cpuFlags.has('avx2') && cpuFlags.has('fma')) assert.notEqual(name, 'scalar');
  assert.ok(['scalar', 'avx2', 'avx512'].includes(name), name);
});

test('vector row statistics equal the scalar reference on random logits (property)', { skip }, () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2100 }),
      fc.integer({ min: 1, max: 4 }),
      fc.double({ min: 1e-3, max: 60, noNaN: true }),
      fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.constantFrom('plain', 'ties', 'neg-inf', 'spread', 'nan', 'pos-inf'),
      (V, rows, scale, offset, seed, kind) => {
        let s = seed >>> 0;
        const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
        const logits = new Float32Array(rows * V);
        for (let i = 0; i < logits.length; i++)
          logits[i] = offset + scale * (rnd() - 0.5) * (kind === 'spread' ? 100 : 1);
        const targets = Int32Array.from({ length: rows }, () => Math.floor(rnd() * V));
        for (let r = 0; r < rows; r++) {
          const o = r * V;
          const j = Math.floor(rnd() * V);
          if (kind === 'ties') for (let k = 0; k < V; k += 3) logits[o + k] = logits[o + j]!;
          if (kind === 'neg-inf') for (let k = 0; k < V; k += 2) logits[o + k] = -Infinity;
          if (kind === 'nan') logits[o + j] = NaN;
          if (kind === 'pos-inf') logits[o + j] = Infinity;
        }
        if (kind === 'neg-inf') for (let r = 0; r < rows; r++) targets[r] = (targets[r]! | 1) % V; // odd columns stay finite
        const [a, b] = both(logits, V, targets);
        assertSame(a, b, rows, V, `${kind} V=${V}`);
      },
    ),
    { numRuns: 300 },
  );
});

test('scalar row statistics agree with the float64 JavaScript reference to float precision', { skip }, () => {
  const V = 32000;
  const rows = 8;
  const logits = new Float32Array(rows * V);
  let s = 7;
  for (let i = 0; i < logits.length; i++)
    logits[i] = 8 * ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
  const targets = Int32Array.from({ length: rows }, (_, r) => (r * 4099) % V);
  const [a, b] = both(logits, V, targets);
  const ref = scoreLogitRows('test', logits, V, targets, false, 'js');
  for (let r = 0; r < rows; r++) {
    // expf is correctly rounded to float: ~6e-8 relative per term, far less on the sum.
    assert.ok(Math.abs(b[r * 5]! - ref.nats[r]!) < 1e-6, `row ${r}: ${b[r * 5]} vs ${ref.nats[r]}`);
    assert.equal(a[r * 5 + 4], ref.rank[r]);
    assert.equal(a[r * 5 + 3], ref.top1[r]);
  }
});

const modelPath = sharedPath('models', 'stories260K.gguf');
test('chunks queued while another decodes give the scores of chunks run one at a time', {
  skip: requires({ native: true, shared: ['models/stories260K.gguf'] }),
}, async () => {
  const model = await loadGgufModel(modelPath!, { ctx: 128, threads: 2, engine: 'native' });
  try {
    const toks = await model.tokenize(
      readFileSync(
        sharedPath('data', 'tinystories_valid_600k.txt') ?? '/usr/share/common-licenses/GPL-3',
        'utf8',
      ).slice(0, 20000),
    );
    const chunks = Array.from({ length: 6 }, (_, k) => {
      const c = toks.slice(k * 128, (k + 1) * 128);
      c[0] = model.bosToken!;
      return c;
    });
    const one: Float64Array[] = [];
    for (const c of chunks) one.push((await model.score(c, { from: 64 })).nats);
    const all = await Promise.all(chunks.map((c) => model.score(c, { from: 64 })));
    all.forEach((r, k) => {
      assert.deepEqual(r.nats, one[k], `chunk ${k}`);
    });
    // A longer chunk than the context needs a new one: it waits for those in flight.
    const long = toks.slice(0, 200);
    long[0] = model.bosToken!;
    const [x, y] = await Promise.all([model.score(chunks[0]!, { from: 64 }), model.score(long, { from: 100 })]);
    assert.deepEqual(x.nats, one[0]);
    assert.equal(y.nats.length, 99);
  } finally {
    await model.close();
  }
});
