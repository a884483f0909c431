/**
 * The binding's llamaLogProbs (C, native/llama-task.h: llama-perplexity's own operations, four
 * rows at a time with a vector expf bit-identical to libm's, else one row with libm's) against
 * src/tasks/llama-arith.ts, the JavaScript reference whose expf is Math.exp rounded to
 * float32 (within one float ulp of glibc's per term): equal up to a few ulps of the sum, on
 * rows at V = 512 and 32000 (the shared models' vocabularies) with logits spread like a
 * model's. The end-to-end figures against llama-perplexity's logs are checked in the
 * reference suites (reference-*.test.ts), which run on this C path.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { loadNativeBinding } from '../../src/models/gguf/gguf-native.js';
import { llamaLogProb, llamaSoftmaxLogProb } from '../../src/tasks/llama-arith.js';
import { requires } from '../helpers/requires.js';

function rows(n: number, V: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n * V);
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 24; // logits in [−12, 12]
  }
  return out;
}

test('llamaLogProbs (C) equals the JavaScript reference within float32 rounding', {
  skip: requires({ native: true }),
}, () => {
  const b = loadNativeBinding()!;
  for (const V of [512, 32000]) {
    const n = 7;
    const logits = rows(n, V, V);
    const targets = Int32Array.from({ length: n }, (_, r) => (r * 7919 + 13) % V);
    const out = new Float32Array(n * 2);
    b.llamaLogProbs(logits, V, targets, out);
    // 7 rows: four through the four-row path, three one at a time.
    for (let r = 0; r < n; r++) {
      const js = llamaLogProb(logits, r * V, V, targets[r]!);
      const c = out[2 * r]!;
      assert.ok(Math.abs(c - js) <= 4e-6 * (1 + Math.abs(js)), `V=${V} row ${r}: C ${c} vs JS ${js}`);
      const jsSm = llamaSoftmaxLogProb(logits, r * V, V, targets[r]!);
      const cSm = out[2 * r + 1]!;
      assert.ok(Math.abs(cSm - jsSm) <= 4e-6 * (1 + Math.abs(jsSm)), `V=${V} row ${r} softmax: C ${cSm} vs JS ${jsSm}`);
    }
  }
});

test('llamaLogProbs and rowStats refuse shapes that disagree, targets out of range and the wrong output, naming themselves', {
  skip: requires({ native: true }),
}, () => {
  const b = loadNativeBinding()!;
  assert.throws(() => b.llamaLogProbs(new Float32Array(10), 5, Int32Array.of(0, 1, 2), new Float32Array(4)), /shapes/);
  assert.throws(
    () => b.llamaLogProbs(new Float32Array(10), 5, Int32Array.of(0, 5), new Float32Array(3)),
    /out of range/,
  );
  assert.throws(
    () => b.llamaLogProbs(new Float32Array(10), 5, Int32Array.of(0, 1), new Float32Array(3)),
    /^Error: llamaLogProbs: shapes disagree$/,
  );
  assert.throws(
    () => b.llamaLogProbs(new Float32Array(10), 5, Int32Array.of(0, 1), new Float64Array(4) as unknown as Float32Array),
    /^Error: llamaLogProbs: the output must be a Float32Array$/,
  );
  assert.throws(
    () =>
      b.rowStats(new Float32Array(10), 5, Int32Array.of(0, 1), new Float32Array(10) as unknown as Float64Array, false),
    /^Error: rowStats: the output must be a Float64Array$/,
  );
  assert.throws(
    () => b.rowStats(new Float32Array(10), 5, Int32Array.of(0, 9), new Float64Array(10), false),
    /^Error: rowStats: target out of range$/,
  );
  assert.throws(
    () => (b.rowStats as (...a: unknown[]) => string)(new Float32Array(10), 5),
    /rowStats\(logits, V, targets, stats, scalar\)/,
  );
});

test('llamaLogProbs gives the same bits on the four-row vector path (AVX-512, AVX2) as the one-row libm reference (XENT_NATIVE_ROW_STATS=scalar)', {
  skip: requires({ native: true }),
}, () => {
  // Each process selects its expf once at load; the same rows are scored in three processes.
  const script = `
    const { loadNativeBinding } = await import(${JSON.stringify(new URL('../../src/models/gguf/gguf-native.ts', import.meta.url).href)});
    const b = loadNativeBinding();
    const V = 32000, n = 40;
    let s = 7;
    const l = new Float32Array(n * V);
    for (let i = 0; i < l.length; i++) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; l[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 60; }
    const t = Int32Array.from({ length: n }, (_, r) => (r * 7919) % V);
    const out = new Float32Array(n * 2);
    b.llamaLogProbs(l, V, t, out);
    process.stdout.write(Buffer.from(out.buffer).toString('hex'));`;
  const run = (mode: string | undefined): string => {
    const env = { ...process.env };
    if (mode) env.XENT_NATIVE_ROW_STATS = mode;
    else delete env.XENT_NATIVE_ROW_STATS;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const scalar = run('scalar');
  assert.equal(run(undefined), scalar);
  assert.equal(run('avx2'), scalar);
});
