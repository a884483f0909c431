/**
 * The native reductions and updates (native/xent-train-ops.c): column sums against a float64
 * sum within the float32 recursive-summation bound, the sum of squares against an exact float64
 * sum, scale against Math.fround, Adam/AdamW against src/train/adam.ts (float64 arithmetic on
 * float32 storage); every vector path bit-identical to the scalar one (the same float32
 * operations per element; the sum of squares up to float64 reassociation), on any thread count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import type { NativeTrainIsa } from '../../src/kernels/native-train.js';
import { adamStep, createAdamState } from '../../src/train/adam.js';
import { fastIsas, nativeTrainForTests, withIsa } from '../helpers/native-train.js';
import { rng } from '../helpers/rng.js';

const { nt, skip } = nativeTrainForTests();
const U = 2 ** -24;
const isas = (): NativeTrainIsa[] => ['scalar', ...fastIsas(nt)];

function rand(seed: number, n: number, a = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * a);
}

const sizes = fc.oneof(fc.constantFrom(0, 1, 7, 15, 16, 17, 63, 64, 65, 100), fc.integer({ min: 0, max: 3000 }));

test('colSum = float64 column sums within M·u·Σ|a|; every implementation and thread count gives the same bits (property)', {
  skip,
}, () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 40 }),
      sizes,
      fc.boolean(),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (M, N, acc, seed) => {
        const a = rand(seed, M * N);
        const out0 = rand(seed + 1, N);
        let first: Float32Array | undefined;
        for (const isa of isas())
          for (const th of [1, 2, 3]) {
            const out = out0.slice();
            withIsa(nt!, isa, th, () => nt!.colSum({ a, M, N, out, accumulate: acc }));
            if (!first) {
              first = out;
              for (let n = 0; n < N; n++) {
                let s = acc ? out0[n]! : 0;
                let mag = Math.abs(s);
                for (let m = 0; m < M; m++) {
                  s += a[m * N + n]!;
                  mag += Math.abs(a[m * N + n]!);
                }
                assert.ok(Math.abs(out[n]! - s) <= (M + 1) * U * mag, `[${n}] ${out[n]} vs ${s}`);
              }
            } else assert.deepEqual(out, first, `${isa}, ${th} thread(s)`);
          }
      },
    ),
    { numRuns: 50 },
  );
});

test('sumSq = the exact float64 sum of squares to 1e-13; scale = Math.fround(k·x) (property)', { skip }, () => {
  fc.assert(
    fc.property(
      fc.oneof(sizes, fc.constantFrom(16384, 16385, 40000)),
      fc.double({ min: -3, max: 3, noNaN: true }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (n, k, seed) => {
        const x = rand(seed, n, 10);
        let exact = 0;
        for (let i = 0; i < n; i++) exact += x[i]! * x[i]!;
        const kf = Math.fround(k);
        const want = x.map((v) => Math.fround(v * kf));
        for (const isa of isas())
          for (const th of [1, 2, 3]) {
            const s = withIsa(nt!, isa, th, () => nt!.sumSq(x));
            assert.ok(Math.abs(s - exact) <= 1e-13 * exact, `${isa} ${th}: ${s} vs ${exact}`);
            const y = x.slice();
            withIsa(nt!, isa, th, () => nt!.scale(y, k));
            assert.deepEqual(y, want, `${isa} scale`);
          }
        // the blocks of the sum are fixed, so threads never change it
        const isa = nt!.info().isa;
        const s1 = withIsa(nt!, isa, 1, () => nt!.sumSq(x));
        for (const th of [2, 3, 7])
          assert.equal(
            withIsa(nt!, isa, th, () => nt!.sumSq(x)),
            s1,
          );
      },
    ),
    { numRuns: 40 },
  );
});

/**
 * A first-order bound on how far float32 evaluation of one Adam step can land from the float64
 * one (src/train/adam.ts), carried per element through the formulas: each operation adds its
 * rounding (u = 2^-24 of its result; the float32 constants add u of their terms) to the errors
 * it inherits. It matters where g + l2·θ cancels: the update lr·m/(√v + ε) is then sensitive to
 * the few correct bits of g'.
 */
class AdamErrorBound {
  eth: Float64Array;
  em: Float64Array;
  ev: Float64Array;
  constructor(n: number) {
    this.eth = new Float64Array(n);
    this.em = new Float64Array(n);
    this.ev = new Float64Array(n);
  }
  /** Before adamStep updates the reference state: θ, m, v of the reference, g of this step. */
  step(
    i: number,
    th0: number,
    m0: number,
    v0: number,
    g: number,
    k: { b1: number; b2: number; ss: number; bc: number; eps: number; decay: number; l2: number },
  ): void {
    const th = th0 * k.decay;
    const eth = k.decay * this.eth[i]! + 2 * U * Math.abs(th);
    const gr = g + k.l2 * th;
    const egr = k.l2 * eth + 2 * U * Math.abs(k.l2 * th) + U * Math.abs(gr);
    const m = k.b1 * m0 + (1 - k.b1) * gr;
    const em =
      k.b1 * this.em[i]! +
      (1 - k.b1) * egr +
      3 * U * (k.b1 * Math.abs(m0) + (1 - k.b1) * Math.abs(gr)) +
      U * Math.abs(m);
    const v = k.b2 * v0 + (1 - k.b2) * gr * gr;
    const ev =
      k.b2 * this.ev[i]! +
      (1 - k.b2) * (2 * Math.abs(gr) * egr + egr * egr) +
      4 * U * (k.b2 * v0 + (1 - k.b2) * gr * gr);
    const sq = Math.sqrt(v);
    const esq = Math.min(sq > 0 ? ev / (2 * sq) : Infinity, Math.sqrt(ev)) + U * sq;
    const den = sq / k.bc + k.eps;
    const eden = esq / k.bc + 3 * U * den;
    const upd = (k.ss * m) / den;
    const eupd = (k.ss * em) / den + Math.abs(upd) * (eden / den) * 1.01 + 3 * U * Math.abs(upd);
    this.eth[i] = eth + eupd + U * Math.abs(th - upd);
    this.em[i] = em;
    this.ev[i] = ev;
  }
}

test('adam = src/train/adam.ts (Adam and AdamW, 4 steps) within the propagated float32 error; vector = scalar bit for bit (property)', {
  skip,
}, () => {
  fc.assert(
    fc.property(
      sizes,
      fc.boolean(),
      fc.constantFrom(0, 0.01),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (n, decoupled, wd, seed) => {
        const p0 = rand(seed, n);
        const opt = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd, decoupled };
        const ref = createAdamState(n);
        const refP = Float64Array.from(p0);
        const bound = new AdamErrorBound(n);
        const runs = isas().flatMap((isa) =>
          [1, 2].map((th) => ({ isa, th, p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n) })),
        );
        for (let t = 1; t <= 4; t++) {
          const g = rand(seed + t, n, 0.1);
          const k = {
            b1: opt.beta1,
            b2: opt.beta2,
            ss: opt.lr / (1 - opt.beta1 ** t),
            bc: Math.sqrt(1 - opt.beta2 ** t),
            eps: opt.eps,
            decay: decoupled ? 1 - opt.lr * wd : 1,
            l2: decoupled ? 0 : wd,
          };
          for (let i = 0; i < n; i++) bound.step(i, refP[i]!, ref.m[i]!, ref.v[i]!, g[i]!, k);
          adamStep(refP, Float64Array.from(g), ref, opt);
          for (const r of runs)
            withIsa(nt!, r.isa, r.th, () =>
              nt!.adam({
                p: r.p,
                g,
                m: r.m,
                v: r.v,
                stepSize: k.ss,
                beta1: k.b1,
                beta2: k.b2,
                eps: k.eps,
                bc2Sqrt: k.bc,
                decay: k.decay,
                l2: k.l2,
              }),
            );
        }
        for (const r of runs) {
          assert.deepEqual(r.p, runs[0]!.p, `${r.isa}, ${r.th} thread(s): parameters`);
          assert.deepEqual(r.m, runs[0]!.m, `${r.isa}: first moment`);
          assert.deepEqual(r.v, runs[0]!.v, `${r.isa}: second moment`);
        }
        const got = runs[0]!;
        for (let i = 0; i < n; i++) {
          assert.ok(
            Math.abs(got.p[i]! - refP[i]!) <= bound.eth[i]!,
            `θ[${i}] ${got.p[i]} vs ${refP[i]} (bound ${bound.eth[i]})`,
          );
          assert.ok(Math.abs(got.m[i]! - ref.m[i]!) <= bound.em[i]!, `m[${i}] ${got.m[i]} vs ${ref.m[i]}`);
          assert.ok(Math.abs(got.v[i]! - ref.v[i]!) <= bound.ev[i]!, `v[${i}] ${got.v[i]} vs ${ref.v[i]}`);
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('adam refuses arrays of different lengths and aliased state', { skip }, () => {
  const a = new Float32Array(10);
  const args = { stepSize: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, bc2Sqrt: 1, decay: 1, l2: 0 };
  assert.throws(
    () => nt!.adam({ p: a, g: new Float32Array(9), m: new Float32Array(10), v: new Float32Array(10), ...args }),
    (e: unknown) =>
      e instanceof XentError && e.code === 'shape_mismatch' && e.fields.arg === 'g' && e.op === 'nativeTrain.adam',
  );
  assert.throws(
    () => nt!.adam({ p: a, g: new Float32Array(10), m: a, v: new Float32Array(10), ...args }),
    (e: unknown) => e instanceof XentError && e.code === 'invalid_argument' && /p and m overlap/.test(e.message),
  );
  assert.throws(
    () => nt!.setThreads(0),
    (e: unknown) => e instanceof XentError && e.fields.arg === 'threads',
  );
  assert.throws(
    () => nt!.setIsa('sse' as NativeTrainIsa),
    (e: unknown) => e instanceof XentError && /'sse' is not available here/.test(e.message),
  );
});
