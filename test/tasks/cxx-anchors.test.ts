/**
 * The C++ that llama-perplexity's task selection and output rest on, compiled here with the
 * system's g++ and libstdc++ (the toolchain llama.cpp is built with on these machines) and
 * compared with xent's TypeScript: std::mt19937's outputs, libstdc++'s
 * uniform_int_distribution<size_t> (including ranges where it rejects draws), the float
 * arithmetic of perplexity.cpp's Winogrande / multiple-choice subsets, and glibc's
 * printf("%W.Df") on exact ties and odd values. Skipped where g++ is absent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { Mt19937, swapPopSubset, uniformIndex } from '../../src/tasks/mt19937.js';
import { cFixed } from '../../src/tasks/printf.js';

const SOURCE = String.raw`
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>
#include <string>
#include <iostream>
int main(int argc, char ** argv) {
  std::string what = argv[1];
  if (what == "raw") {                       // raw <seed> <count>
    std::mt19937 rng(std::stoul(argv[2]));
    for (long i = 0, n = std::stol(argv[3]); i < n; i++) printf("%u\n", (unsigned) rng());
  } else if (what == "uniform") {            // uniform <seed>, then lines "n", draws dist(0, n-1)
    std::mt19937 rng(std::stoul(argv[2]));
    size_t n;
    while (std::cin >> n) { std::uniform_int_distribution<size_t> dist(0, n - 1); printf("%zu\n", dist(rng)); }
  } else if (what == "subset") {             // subset <count> <take>: perplexity.cpp's winogrande_score selection
    std::mt19937 rng(1);
    int count = std::stoi(argv[2]), take = std::stoi(argv[3]);
    std::vector<int> aux(count);
    for (int i = 0; i < count; ++i) aux[i] = i;
    float scale = 1/(1.f + (float)rng.max());
    for (int i = 0; i < take; ++i) {
      int j = int(scale*rng()*aux.size());
      printf("%d\n", aux[j]);
      aux[j] = aux.back();
      aux.pop_back();
    }
  } else if (what == "printf") {             // lines "<hex bits> <decimals> <width>"
    std::string hex; int d, w;
    while (std::cin >> hex >> d >> w) {
      uint64_t bits = std::stoull(hex, nullptr, 16); double x; memcpy(&x, &bits, 8);
      printf("%*.*f\n", w, d, x);
    }
  }
  return 0;
}
`;

const gxx = spawnSync('g++', ['--version'], { encoding: 'utf8' });
const skip = gxx.status === 0 ? false : 'needs g++ (absent here)';
const dir = mkdtempSync(join(tmpdir(), 'xent-cxx-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let exe: string | undefined;

function run(args: string[], input = ''): string[] {
  if (!exe) {
    writeFileSync(join(dir, 'anchor.cpp'), SOURCE);
    exe = join(dir, 'anchor');
    const c = spawnSync('g++', ['-O2', '-std=c++17', '-o', exe, join(dir, 'anchor.cpp')], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
  }
  const r = spawnSync(exe, args, { input, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.replace(/\n$/, '').split('\n');
}

test('std::mt19937: the first 2000 outputs for seeds 1, 5489 and 4294967295 (three twists of the state)', {
  skip,
}, () => {
  for (const seed of [1, 5489, 4294967295]) {
    const rng = new Mt19937(seed);
    const ours = Array.from({ length: 2000 }, () => String(rng.next()));
    assert.deepEqual(ours, run(['raw', String(seed), '2000']));
  }
});

test("libstdc++'s uniform_int_distribution<size_t> on mt19937: small ranges and ranges below 2^32 that reject draws", {
  skip,
}, () => {
  const ns: number[] = [];
  for (let i = 0; i < 3000; i++) ns.push(1 + ((i * 7919) % 1000));
  for (let i = 0; i < 3000; i++) ns.push(2 ** 31 + 1 + i * 700_001, 4294967295 - i, 3_000_000_000 + i * 17);
  for (const seed of [1, 12345]) {
    const rng = new Mt19937(seed);
    const ours = ns.map((n) => String(uniformIndex(rng, n)));
    assert.deepEqual(ours, run(['uniform', String(seed)], ns.join('\n')));
  }
});

test("perplexity.cpp's float-scaled random subset (Winogrande, multiple choice)", { skip }, () => {
  for (const [count, take] of [
    [399, 100],
    [400, 399],
    [10042, 500],
    [1267, 1267],
    [5, 3],
  ] as const) {
    assert.deepEqual(swapPopSubset(count, take).map(String), run(['subset', String(count), String(take)]));
  }
});

test('glibc\'s printf("%W.Df"): ties to even on the exact binary value, signs of zero, large and tiny values', {
  skip,
}, () => {
  const fixed = [
    0.125, 0.375, 2.5, 3.5, -2.5, 0.5, 1.5, -0.00001, -0, 0, 1e21, 1.7976931348623157e308, 5e-324, 65.1629, 44.5, 100,
    0.045, 1.0000000000000002,
  ];
  const cases = fc.sample(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(...fixed),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: -1e6, max: 1e6 }).map((k) => k / 2 ** 12),
        fc.double({ min: -1000, max: 1000, noNaN: true }),
      ),
      fc.integer({ min: 0, max: 12 }),
      fc.integer({ min: 0, max: 12 }),
    ),
    { numRuns: 4000, seed: 20261206 },
  );
  const all = [...fixed.flatMap((x) => [0, 1, 2, 4, 6, 8].map((d) => [x, d, 3] as const)), ...cases];
  const hex = (x: number): string => {
    const v = new DataView(new ArrayBuffer(8));
    v.setFloat64(0, x);
    return v.getBigUint64(0).toString(16);
  };
  const expected = run(['printf'], all.map(([x, d, w]) => `${hex(x)} ${d} ${w}`).join('\n'));
  for (const [i, [x, d, w]] of all.entries()) assert.equal(cFixed(x, d, w), expected[i], `printf("%${w}.${d}f", ${x})`);
});
