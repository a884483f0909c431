/**
 * The C++ that llama-perplexity's task selection and output rest on, against xent's
 * TypeScript: std::mt19937's outputs, libstdc++'s uniform_int_distribution<size_t>
 * (including ranges where it rejects draws), the float arithmetic of perplexity.cpp's
 * Winogrande / multiple-choice subsets, and glibc's printf("%W.Df") on exact ties and odd
 * values. The expected values are the output of test/tasks/data/cxx-anchor.cpp compiled with
 * g++ and libstdc++ (the toolchain llama.cpp is built with on these machines), committed as
 * test/tasks/data/cxx-anchor.json by `node scripts/tasks-fixtures.mjs --only cxx`, so that
 * the test needs no compiler (see test/tasks/data/README.md).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Mt19937, swapPopSubset, uniformIndex } from '../../src/tasks/mt19937.js';
import { cFixed } from '../../src/tasks/printf.js';

interface Anchor {
  raw: Array<{ seed: number; outputs: number[] }>;
  uniform: Array<{ seed: number; ranges: number; draws: number[] }>;
  subset: Array<{ count: number; take: number; picks: number[] }>;
  /** [hex bits of the double, decimals, width, glibc's printf("%*.*f", width, decimals, x)] */
  printf: Array<[string, number, number, string]>;
}

const ANCHOR = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'data', 'cxx-anchor.json'), 'utf8'),
) as Anchor;

test('std::mt19937: the first 2000 outputs for seeds 1, 5489 and 4294967295 (three twists of the state)', () => {
  assert.deepEqual(
    ANCHOR.raw.map((r) => r.seed),
    [1, 5489, 4294967295],
  );
  for (const { seed, outputs } of ANCHOR.raw) {
    const rng = new Mt19937(seed);
    const ours = Array.from({ length: 2000 }, () => rng.next());
    assert.deepEqual(ours, outputs);
  }
});

test("libstdc++'s uniform_int_distribution<size_t> on mt19937: small ranges and ranges below 2^32 that reject draws", () => {
  // The ranges scripts/tasks-fixtures.mjs sent to the C++ program, in the same order.
  const ns: number[] = [];
  for (let i = 0; i < 3000; i++) ns.push(1 + ((i * 7919) % 1000));
  for (let i = 0; i < 3000; i++) ns.push(2 ** 31 + 1 + i * 700_001, 4294967295 - i, 3_000_000_000 + i * 17);
  assert.deepEqual(
    ANCHOR.uniform.map((u) => [u.seed, u.ranges]),
    [
      [1, ns.length],
      [12345, ns.length],
    ],
  );
  for (const { seed, draws } of ANCHOR.uniform) {
    const rng = new Mt19937(seed);
    const ours = ns.map((n) => uniformIndex(rng, n));
    assert.deepEqual(ours, draws);
  }
});

test("perplexity.cpp's float-scaled random subset (Winogrande, multiple choice)", () => {
  assert.deepEqual(
    ANCHOR.subset.map((s) => [s.count, s.take]),
    [
      [399, 100],
      [400, 399],
      [10042, 500],
      [1267, 1267],
      [5, 3],
    ],
  );
  for (const { count, take, picks } of ANCHOR.subset) assert.deepEqual(swapPopSubset(count, take), picks);
});

test('glibc\'s printf("%W.Df"): ties to even on the exact binary value, signs of zero, large and tiny values', () => {
  const x = (hex: string): number => {
    const v = new DataView(new ArrayBuffer(8));
    v.setBigUint64(0, BigInt(`0x${hex}`));
    return v.getFloat64(0);
  };
  // 18 fixed values × 6 precisions, then 4000 drawn by fast-check (seed 20261206).
  assert.equal(ANCHOR.printf.length, 18 * 6 + 4000);
  for (const [hex, d, w, expected] of ANCHOR.printf)
    assert.equal(cFixed(x(hex), d, w), expected, `printf("%${w}.${d}f", ${x(hex)})`);
});
