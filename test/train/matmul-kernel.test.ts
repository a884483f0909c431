// The trainer's packed-panel matrix product (mm over packB, src/kernels/assembly/lib/panel-mm.ts)
// against a float64 reference, at awkward sizes (M, N, K not multiples of the 4×8 tile, K < 4,
// M = 1, K = 0, K and M past the K/M blocks), row-major and transposed A, Bᵀ and B packing,
// bias and accumulation, plain and relaxed SIMD, 1 and 2 threads. Also: relaxed SIMD gets
// switched on for this Node (and its workers, and the cross-entropy kernels).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fillUniform } from '../../src/core/rng.js';
import { enableRelaxedSimd } from '../../src/kernels/relaxed-simd.js';
import { TrainKernels } from '../../src/kernels/train-kernels.js';
import { REPO_ROOT } from '../helpers/shared.js';

interface Case {
  M: number;
  K: number;
  N: number;
  aT: boolean;
  bT: boolean;
  bias: boolean;
  acc: boolean;
}

// [M, K, N]: tails of every loop; 300 > KC = 256 (two K blocks), 133 > MC (two M blocks).
const shapes: [number, number, number][] = [
  [1, 1, 1],
  [1, 3, 9],
  [3, 2, 7],
  [4, 4, 8],
  [5, 7, 13],
  [6, 0, 5],
  [9, 17, 31],
  [1, 300, 17],
  [13, 300, 10],
  [133, 5, 9],
  [40, 33, 257],
  [130, 260, 24],
];
const cases: Case[] = [];
for (const [M, K, N] of shapes) {
  for (const aT of [false, true])
    for (const bT of [false, true]) {
      cases.push({ M, K, N, aT, bT, bias: (M + N) % 2 === 0, acc: (M + K) % 2 === 1 });
    }
}

function runCase(k: TrainKernels, c: Case, seed: number): void {
  const { M, K, N } = c;
  // A stored [M, K] (aT false) or [K, M]; B stored [K, N] (bT false) or as W [N, K] with B = Wᵀ
  const a = new Float32Array(M * K),
    b = new Float32Array(K * N),
    bias = new Float32Array(N),
    out0 = new Float32Array(M * N);
  fillUniform(a, seed, 1, -1, 1);
  fillUniform(b, seed, 2, -1, 1);
  fillUniform(bias, seed, 3, -1, 1);
  fillUniform(out0, seed, 4, -1, 1);
  const pa = k.alloc(M * K),
    pb = k.alloc(K * N),
    pp = k.alloc(TrainKernels.packedSize(K, N)),
    pbias = k.alloc(N),
    po = k.alloc(M * N);
  k.f32(pa, M * K).set(a);
  k.f32(pb, K * N).set(b);
  k.f32(pbias, N).set(bias);
  k.f32(po, M * N).set(out0);
  const A = (m: number, kk: number): number => (c.aT ? a[kk * M + m]! : a[m * K + kk]!);
  const B = (kk: number, n: number): number => (c.bT ? b[n * K + kk]! : b[kk * N + n]!);
  if (c.bT) k.packB({ packed: pp, b: pb, strideK: 1, strideN: K, K, N });
  else k.packB({ packed: pp, b: pb, strideK: N, strideN: 1, K, N });
  k.mm({
    out: po,
    a: pa,
    sam: c.aT ? 1 : K,
    sak: c.aT ? M : 1,
    packedB: pp,
    bias: c.bias ? pbias : 0,
    M,
    K,
    N,
    accumulate: c.acc,
  });
  const got = Float32Array.from(k.f32(po, M * N));
  for (const p of [pa, pb, pp, pbias, po]) k.release(p); // the memory is reused by the next case
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = (c.acc ? out0[m * N + n]! : 0) + (c.bias ? bias[n]! : 0);
      let mag = Math.abs(s);
      for (let kk = 0; kk < K; kk++) {
        s += A(m, kk) * B(kk, n);
        mag += Math.abs(A(m, kk) * B(kk, n));
      }
      // float32 sum of K + 2 terms: |error| ≤ (K + 2)·2⁻²⁴·Σ|terms| (fused or not)
      const tol = (K + 2) * 2 ** -24 * mag + 1e-30;
      const d = Math.abs(got[m * N + n]! - s);
      assert.ok(
        d <= tol,
        `${JSON.stringify(c)} out[${m}, ${n}] = ${got[m * N + n]} vs float64 ${s} (|diff| ${d} > ${tol})`,
      );
    }
  }
}

for (const relaxed of ['0', '1']) {
  for (const threads of [1, 2]) {
    test(`mm = float64 reference at ${cases.length} awkward shapes (${threads} thread(s), relaxed=${relaxed})`, () => {
      process.env.XENT_WASM_RELAXED = relaxed;
      const k = new TrainKernels({ bytes: 4 * 1_200_000, threads });
      try {
        assert.equal(k.relaxed, relaxed === '1', 'the relaxed build is loaded unless XENT_WASM_RELAXED=0');
        let seed = 10;
        for (const c of cases) runCase(k, c, seed++);
      } finally {
        k.close();
      }
    });
  }
}

test('mm gives bit-identical results on 1 and 2 threads (each output has one owner)', () => {
  process.env.XENT_WASM_RELAXED = '1';
  const M = 37,
    K = 70,
    N = 45;
  const res: Float32Array[] = [];
  for (const threads of [1, 2]) {
    const k = new TrainKernels({ bytes: 4 * 20_000, threads });
    try {
      const pa = k.alloc(M * K),
        pw = k.alloc(N * K),
        pp = k.alloc(TrainKernels.packedSize(K, N)),
        po = k.alloc(M * N);
      fillUniform(k.f32(pa, M * K), 3, 1, -1, 1);
      fillUniform(k.f32(pw, N * K), 3, 2, -1, 1);
      k.packB({ packed: pp, b: pw, strideK: 1, strideN: K, K, N });
      k.mm({ out: po, a: pa, sam: K, sak: 1, packedB: pp, bias: 0, M, K, N, accumulate: false });
      res.push(Float32Array.from(k.f32(po, M * N)));
    } finally {
      k.close();
    }
  }
  assert.deepEqual(res[1], res[0]);
});

test('relaxed SIMD is switched on for this Node, and idempotently', () => {
  assert.equal(enableRelaxedSimd(), true);
  assert.equal(enableRelaxedSimd(), true);
});

test('the CLI entry switches relaxed SIMD on before the cross-entropy kernels compile', () => {
  // A fresh process: enable as src/cli/main.ts does, then the loss kernels pick the relaxed build.
  const src = `import { enableRelaxedSimd } from './src/kernels/relaxed-simd.ts';
const on = enableRelaxedSimd();
const rt = await import('./src/kernels/runtime.ts');
const { crossEntropy } = await import('./src/index.ts');
crossEntropy({ data: new Float32Array(4096 * 8).fill(0.5), shape: [4096, 8] }, new Int32Array(4096));
console.log(JSON.stringify({ on, build: rt.kernelBuild() }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { on: boolean; build: string };
  assert.equal(j.on, true);
  assert.equal(j.build, 'relaxed-simd');
  assert.doesNotMatch(r.stderr, /unrecognized flag/);
});
