/**
 * The native matrix product (native/xent-train-gemm*.c): the scalar reference against a
 * float64 product within the error bound of a float32 fused multiply-add chain, and every
 * vector path (AVX2, AVX-512) against the scalar reference bit for bit — each element is the
 * same chain of fused multiply-adds in k order, whatever the blocking, the micro-kernel tile
 * or the thread count. Shapes include 1, primes, sizes that are not multiples of the register
 * tiles (12×32, 6×16) or of the cache blocks (kc = 256, mc = 240/120), transposed operands,
 * leading dimensions wider than the matrix, bias and accumulate, and operands that are views
 * into a WebAssembly.Memory (shared and not).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import type { NativeTrainKernels, SgemmArgs } from '../../src/kernels/native-train.js';
import { cpuFlags, fastIsas, nativeTrainForTests, withIsa } from '../helpers/native-train.js';
import { rng } from '../helpers/rng.js';

const { nt, skip } = nativeTrainForTests();

interface Case {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
  bias: boolean;
  /** extra columns in each stored row (lda, ldb, ldc beyond the minimum) */
  pad: number;
  seed: number;
}

function build(c: Case): SgemmArgs & { A: Float32Array; B: Float32Array; C: Float32Array } {
  const r = rng(c.seed);
  const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => r() * 2 - 1);
  const lda = (c.transA ? c.M : c.K) + c.pad;
  const ldb = (c.transB ? c.K : c.N) + c.pad;
  const ldc = c.N + c.pad;
  return {
    M: c.M,
    N: c.N,
    K: c.K,
    transA: c.transA,
    transB: c.transB,
    A: rand(Math.max(0, (c.transA ? c.K : c.M) - 1) * lda + (c.transA ? c.M : c.K)),
    lda,
    B: rand(Math.max(0, (c.transB ? c.N : c.K) - 1) * ldb + (c.transB ? c.K : c.N)),
    ldb,
    C: rand(Math.max(0, c.M - 1) * ldc + c.N),
    ldc,
    accumulate: c.accumulate,
    bias: c.bias ? rand(c.N) : null,
  };
}

const dims = fc.oneof(
  fc.constantFrom(1, 2, 5, 6, 7, 11, 12, 13, 16, 17, 31, 32, 33, 47, 64),
  fc.integer({ min: 1, max: 90 }),
);
const caseArb = fc.record({
  M: dims,
  N: dims,
  K: fc.oneof(dims, fc.constantFrom(0, 255, 256, 257, 300)),
  transA: fc.boolean(),
  transB: fc.boolean(),
  accumulate: fc.boolean(),
  bias: fc.boolean(),
  pad: fc.constantFrom(0, 0, 3),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

/** Runs the product on a copy of C with the given implementation and thread count. */
function run(k: NativeTrainKernels, g: ReturnType<typeof build>, isa: 'scalar' | 'avx2' | 'avx512', threads: number) {
  const C = g.C.slice();
  withIsa(k, isa, threads, () => k.sgemm({ ...g, C }));
  return C;
}

test('the widest vector product this CPU has is chosen, and none is refused', { skip }, () => {
  const info = nt!.info();
  assert.equal(info.refused, '', info.refused);
  const f = cpuFlags();
  const env = process.env.XENT_NATIVE_TRAIN;
  if (env === 'scalar') assert.equal(info.isa, 'scalar');
  else if (f.has('avx512f') && f.has('avx512vl') && f.has('avx512bw') && f.has('avx512dq') && env !== 'avx2')
    assert.equal(info.isa, 'avx512');
  else if (f.has('avx2') && f.has('fma')) assert.equal(info.isa, 'avx2');
  assert.ok(info.available.includes('scalar'));
});

test('scalar sgemm = float64 product within the float32 fused multiply-add chain bound (property)', { skip }, () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const g = build(c);
      const got = run(nt!, g, 'scalar', 1);
      const A = (m: number, k: number): number => g.A[c.transA ? k * g.lda! + m : m * g.lda! + k]!;
      const B = (k: number, n: number): number => g.B[c.transB ? n * g.ldb! + k : k * g.ldb! + n]!;
      for (let m = 0; m < c.M; m++) {
        for (let n = 0; n < c.N; n++) {
          const c0 = (c.accumulate ? g.C[m * g.ldc! + n]! : 0) + (g.bias ? g.bias[n]! : 0);
          let exact = c0;
          let mag = Math.abs(c0);
          for (let k = 0; k < c.K; k++) {
            exact += A(m, k) * B(k, n);
            mag += Math.abs(A(m, k) * B(k, n));
          }
          // one rounding for the initial sum and one per fused multiply-add: γ_(K+1) = (K+1)u/(1 − (K+1)u)
          const u = 2 ** -24;
          const tol = (((c.K + 1) * u) / (1 - (c.K + 1) * u)) * mag + 2 ** -149;
          const v = got[m * g.ldc! + n]!;
          assert.ok(Math.abs(v - exact) <= tol, `[${m}, ${n}] ${v} vs ${exact} (tol ${tol}) in ${JSON.stringify(c)}`);
        }
      }
      // the padding between rows of C is left alone
      for (let m = 0; m + 1 < c.M; m++)
        for (let n = c.N; n < g.ldc!; n++) assert.equal(got[m * g.ldc! + n], g.C[m * g.ldc! + n]);
    }),
    { numRuns: 60 },
  );
});

test('every vector sgemm = the scalar reference, bit for bit, on 1–3 threads (property)', { skip }, () => {
  const isas = fastIsas(nt);
  fc.assert(
    fc.property(caseArb, fc.integer({ min: 1, max: 3 }), (c, threads) => {
      const g = build(c);
      const want = run(nt!, g, 'scalar', 1);
      for (const isa of isas) {
        const got = run(nt!, g, isa, threads);
        assert.deepEqual(got, want, `${isa}, ${threads} thread(s), ${JSON.stringify(c)}`);
      }
    }),
    { numRuns: 80 },
  );
});

test('large shapes cross every cache block (M > mc, K > kc, N > nc): vector = scalar bit for bit', { skip }, () => {
  const shapes: Case[] = [
    { M: 250, N: 4200, K: 20, transA: false, transB: true, accumulate: false, bias: true, pad: 0, seed: 1 },
    { M: 500, N: 77, K: 530, transA: true, transB: false, accumulate: true, bias: false, pad: 1, seed: 2 },
    { M: 37, N: 301, K: 1100, transA: false, transB: false, accumulate: false, bias: false, pad: 0, seed: 3 },
  ];
  for (const c of shapes) {
    const g = build(c);
    const want = run(nt!, g, 'scalar', 2);
    for (const isa of fastIsas(nt))
      for (const th of [1, 2, 5]) assert.deepEqual(run(nt!, g, isa, th), want, `${isa} ${th}`);
  }
});

test('operands may be views into a WebAssembly.Memory, shared or not', { skip }, () => {
  for (const shared of [false, true]) {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 2, shared });
    const M = 9;
    const N = 14;
    const K = 5;
    const A = new Float32Array(mem.buffer, 64, M * K).map((_, i) => (i % 7) - 3);
    const B = new Float32Array(mem.buffer, 1024, K * N).map((_, i) => (i % 5) - 2);
    const C = new Float32Array(mem.buffer, 4096, M * N);
    nt!.sgemm({ M, N, K, A, B, C });
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[m * K + k]! * B[k * N + n]!;
        assert.equal(C[m * N + n], s, `${shared ? 'shared' : 'plain'} [${m}, ${n}]`);
      }
  }
});

test('sgemm refuses bad arguments with XentErrors naming them', { skip }, () => {
  const A = new Float32Array(12);
  const B = new Float32Array(20);
  const C = new Float32Array(15);
  const bad = (f: () => void, code: string, arg: string, msg: RegExp): void =>
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof XentError, String(e));
      assert.equal(e.code, code);
      assert.equal(e.op, 'nativeTrain.sgemm');
      assert.equal(e.fields.arg, arg);
      assert.match(e.message, msg);
      return true;
    });
  bad(
    () => nt!.sgemm({ M: 3, N: 5, K: 4, A, B, C: new Float32Array(14) }),
    'shape_mismatch',
    'C',
    /C has 14 elements; \[3, 5\] with ldc = 5 needs 15/,
  );
  bad(() => nt!.sgemm({ M: 3, N: 5, K: 4, A: new Float32Array(11), B, C }), 'shape_mismatch', 'A', /A has 11 elements/);
  bad(
    () => nt!.sgemm({ M: 3, N: 5, K: 4, A, B, C, lda: 3 }),
    'invalid_argument',
    'lda',
    /lda = 3 is less than the 4 columns/,
  );
  bad(
    () => nt!.sgemm({ M: 3, N: 5, K: 4, A, B, C, bias: new Float32Array(4) }),
    'shape_mismatch',
    'bias',
    /bias has 4 elements; \[N\] needs 5/,
  );
  bad(() => nt!.sgemm({ M: 3.5, N: 5, K: 4, A, B, C }), 'invalid_argument', 'M', /M must be an integer/);
  bad(
    () => nt!.sgemm({ M: 3, N: 5, K: 4, A: new Float64Array(12) as unknown as Float32Array, B, C }),
    'invalid_argument',
    'A',
    /A must be a Float32Array/,
  );
  const buf = new Float32Array(40);
  bad(
    () => nt!.sgemm({ M: 3, N: 5, K: 4, A: buf.subarray(0, 12), B, C: buf.subarray(10, 25) }),
    'invalid_argument',
    'C',
    /C and A overlap/,
  );
});
