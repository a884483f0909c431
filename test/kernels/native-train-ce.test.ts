/**
 * The native cross-entropy kernels (native/xent-train-ops.c, -scalar.c, -vec.inc) against the
 * float64 reference `crossEntropy` (src/loss/cross-entropy.ts on float64 logits) with
 * tolerances derived from the float32 arithmetic, and the vector paths against the scalar one:
 *   - ceRows, the trainer's rows (label smoothing, ignore index, scale);
 *   - ceStats + crossEntropyFromStats + ceGrad: every reduction, class weights, smoothing,
 *     z-loss, bits;
 *   - lceForward / lceBackward, the linear + cross-entropy over vocabulary blocks, against
 *     crossEntropy on the materialised logits h·wᵀ + b and float64 products for dh, dw, db.
 * Error model (per row, d_v = z_v − lse): each exp term is within 2 ulp (2^-22 relative;
 * native/xent-train-select.c states and checks the bound) and its float32 argument within
 * 2^-24·|z_v − max|, so log Σ is within 2^-22 + 2^-24·Σ_v p_v·|z_v − max|; a gradient entry
 * adds the float32 roundings of (z − max) − log Σ and of α·p − γ·w.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import type { Reduction } from '../../src/core/tensor.js';
import { crossEntropyFromStats } from '../../src/kernels/native-train.js';
import { crossEntropy } from '../../src/loss/cross-entropy.js';
import { fastIsas, nativeTrainForTests, withIsa } from '../helpers/native-train.js';
import { rng } from '../helpers/rng.js';

const { nt, skip } = nativeTrainForTests();
const U = 2 ** -24;

function logits(r: () => number, n: number, spread: number): Float32Array {
  return Float32Array.from({ length: n }, () => (r() - 0.5) * spread);
}

function targetsFor(r: () => number, N: number, V: number, ignoreEvery: number): Int32Array {
  return Int32Array.from({ length: N }, (_, i) => (ignoreEvery && i % ignoreEvery === 1 ? -100 : Math.floor(r() * V)));
}

/** Row quantities in float64 from the logits row z: max, lse, and the bound on the kernel's log Σ error. */
function rowFacts(z: ArrayLike<number>, o: number, V: number, zErr = 0): { m: number; lse: number; lseErr: number } {
  let m = -Infinity;
  for (let v = 0; v < V; v++) m = Math.max(m, z[o + v]!);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(z[o + v]! - m);
  const lse = m + Math.log(s);
  let spread = 0;
  for (let v = 0; v < V; v++) spread += Math.exp(z[o + v]! - lse) * Math.abs(z[o + v]! - m);
  return { m, lse, lseErr: 4 * U + U * spread + 2 ** -50 * Math.abs(lse) + zErr };
}

/**
 * Bound on |native − exact| for dz_v = α·p_v − γ·w_v − β·[v = y] (exact: float64 on the same
 * logits): the exp error, the float32 argument (z − max) − log Σ, the roundings of α·p and γ·w,
 * and zErr, the error of the logits themselves (linear + cross-entropy: the float32 product).
 */
function gradBound(
  z: number,
  f: { m: number; lse: number; lseErr: number },
  a: number,
  g: number,
  want: number,
  zErr: number,
): number {
  const d = z - f.lse;
  const p = Math.exp(d);
  const argErr = U * (Math.abs(z - f.m) + Math.abs(d) + Math.abs(f.lse - f.m)) + f.lseErr + 2 * zErr;
  return Math.abs(a) * p * (6 * U + argErr) + 2 * U * Math.abs(g) + U * Math.abs(want) + 2 ** -140;
}

const V_SIZES = fc.oneof(fc.constantFrom(1, 2, 7, 16, 17, 31, 33, 100), fc.integer({ min: 1, max: 1200 }));

test('ceRows = float64 cross-entropy per row, loss and gradient, scalar and vector (property)', { skip }, () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      V_SIZES,
      fc.constantFrom(0, 0.1),
      fc.constantFrom(1, 0.125),
      fc.double({ min: 0.5, max: 40, noNaN: true }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (N, V, eps, scale, spread, seed) => {
        const r = rng(seed);
        const z = logits(r, N * V, spread);
        const y = targetsFor(r, N, V, 3);
        const z64 = Float64Array.from(z);
        const ref = crossEntropy({ data: z64, shape: [N, V] }, y, { reduction: 'none', labelSmoothing: eps });
        const refCe = crossEntropy({ data: z64, shape: [N, V] }, y, { reduction: 'none' });
        const refGrad = crossEntropy({ data: z64, shape: [N, V] }, y, {
          reduction: 'sum',
          labelSmoothing: eps,
          grad: true,
        }).grad!;
        for (const isa of ['scalar', ...fastIsas(nt)] as const) {
          const g = z.slice();
          const lossOut = new Float64Array(N);
          const ceOut = new Float64Array(N);
          withIsa(nt!, isa, 2, () =>
            nt!.ceRows({ z: g, V, targets: y, labelSmoothing: eps, scale, grad: true, lossOut, ceOut }),
          );
          for (let n = 0; n < N; n++) {
            const f = rowFacts(z, n * V, V);
            assert.ok(
              Math.abs(lossOut[n]! - ref.loss[n]!) <= f.lseErr,
              `${isa} loss row ${n}: ${lossOut[n]} vs ${ref.loss[n]}`,
            );
            assert.ok(Math.abs(ceOut[n]! - refCe.loss[n]!) <= f.lseErr, `${isa} ce row ${n}`);
            for (let v = 0; v < V; v++) {
              const want = scale * refGrad[n * V + v]!;
              const got = g[n * V + v]!;
              if (y[n] === -100) {
                assert.equal(got, 0);
                continue;
              }
              const tol = gradBound(z[n * V + v]!, f, scale, (scale * eps) / V, want, 0);
              assert.ok(Math.abs(got - want) <= tol, `${isa} grad [${n}, ${v}] ${got} vs ${want} (tol ${tol})`);
            }
          }
        }
      },
    ),
    { numRuns: 40 },
  );
});

interface CeOpts {
  reduction: Reduction;
  labelSmoothing: number;
  zLoss: number;
  unit: 'nat' | 'bit';
  weighted: boolean;
}

const ceOptsArb = fc.record({
  reduction: fc.constantFrom<Reduction>('mean', 'sum', 'none'),
  labelSmoothing: fc.constantFrom(0, 0.2),
  zLoss: fc.constantFrom(0, 1e-3),
  unit: fc.constantFrom<'nat' | 'bit'>('nat', 'bit'),
  weighted: fc.boolean(),
});

function reference(z64: Float64Array, N: number, V: number, y: Int32Array, o: CeOpts, w: Float32Array | null) {
  return crossEntropy({ data: z64, shape: [N, V] }, y, {
    reduction: o.reduction,
    labelSmoothing: o.labelSmoothing,
    zLoss: o.zLoss,
    unit: o.unit,
    grad: true,
    ...(w ? { weight: w } : {}),
  });
}

/** The loss bound: Σ over rows of |α|·(error of lse) + |β|·(error of z_y), plus float64 rounding. */
function lossBound(alpha: Float64Array, beta: Float64Array, lseErr: number[], zErr: number[], want: number): number {
  let t = 0;
  for (let n = 0; n < alpha.length; n++) t += Math.abs(alpha[n]!) * lseErr[n]! + Math.abs(beta[n]!) * zErr[n]!;
  return t + 1e-12 * Math.abs(want);
}

test('ceStats + crossEntropyFromStats + ceGrad = float64 crossEntropy: reductions, weights, smoothing, z-loss, bits (property)', {
  skip,
}, () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 7 }),
      V_SIZES,
      ceOptsArb,
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (N, V, o, seed) => {
        const r = rng(seed);
        const z = logits(r, N * V, 16);
        const y = targetsFor(r, N, V, 4);
        const w = o.weighted ? Float32Array.from({ length: V }, () => 0.25 + r()) : null;
        const ref = reference(Float64Array.from(z), N, V, y, o, w);
        const scale = o.unit === 'bit' ? 1 / Math.LN2 : 1;
        for (const isa of ['scalar', ...fastIsas(nt)] as const) {
          const stats = new Float64Array(4 * N);
          const g = z.slice();
          withIsa(nt!, isa, 2, () => nt!.ceStats({ z, V, targets: y, weight: w, stats }));
          const res = crossEntropyFromStats(stats, y, V, { ...o, scale, weight: w });
          withIsa(nt!, isa, 2, () => nt!.ceGrad({ z: g, V, targets: y, weight: w, stats, ...res.coefficients }));
          const facts = Array.from({ length: N }, (_, n) => rowFacts(z, n * V, V));
          const { alpha, beta, gamma } = res.coefficients;
          if (o.reduction === 'none') {
            const rows = ref.loss as Float64Array;
            for (let n = 0; n < N; n++) {
              const tol = Math.abs(alpha[n]!) * facts[n]!.lseErr + 1e-12 * Math.abs(rows[n]!);
              assert.ok(
                Math.abs(res.lossRows![n]! - rows[n]!) <= tol,
                `${isa} row ${n}: ${res.lossRows![n]} vs ${rows[n]}`,
              );
            }
          } else if (Number.isNaN(ref.loss)) assert.ok(Number.isNaN(res.loss), `${isa}: every row ignored gives NaN`);
          else {
            const tol = lossBound(
              alpha,
              beta,
              facts.map((f) => f.lseErr),
              facts.map(() => 0),
              ref.loss as number,
            );
            assert.ok(
              Math.abs(res.loss - (ref.loss as number)) <= tol,
              `${isa} loss ${res.loss} vs ${ref.loss} (tol ${tol})`,
            );
          }
          for (let n = 0; n < N; n++)
            for (let v = 0; v < V; v++) {
              const want = ref.grad![n * V + v]!;
              const got = g[n * V + v]!;
              if (y[n] === -100) assert.equal(got, 0);
              else {
                const tol = gradBound(z[n * V + v]!, facts[n]!, alpha[n]!, gamma[n]! * (w ? w[v]! : 1), want, 0);
                assert.ok(Math.abs(got - want) <= tol, `${isa} grad [${n}, ${v}] ${got} vs ${want} (tol ${tol})`);
              }
            }
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('vector cross-entropy rows = the scalar reference within the self-check bounds, on 1–3 threads (property)', {
  skip,
}, () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      V_SIZES,
      fc.boolean(),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (N, V, weighted, threads, seed) => {
        const r = rng(seed);
        const z = logits(r, N * V, 30);
        const y = targetsFor(r, N, V, 3);
        const w = weighted ? Float32Array.from({ length: V }, () => r() * 2) : null;
        const run = (isa: 'scalar' | 'avx2' | 'avx512', th: number) => {
          const stats = new Float64Array(4 * N);
          const g = z.slice();
          withIsa(nt!, isa, th, () => {
            nt!.ceStats({ z, V, targets: y, weight: w, stats });
            const c = crossEntropyFromStats(stats, y, V, { labelSmoothing: 0.1, weight: w }).coefficients;
            nt!.ceGrad({ z: g, V, targets: y, weight: w, stats, ...c });
          });
          return { stats, g };
        };
        const ref = run('scalar', 1);
        for (const isa of fastIsas(nt)) {
          const got = run(isa, threads);
          for (let n = 0; n < N; n++) {
            const [a, b] = [ref.stats.subarray(4 * n, 4 * n + 4), got.stats.subarray(4 * n, 4 * n + 4)];
            assert.equal(b[0], a[0], `${isa} max, row ${n}`);
            assert.equal(b[2], a[2], `${isa} target logit, row ${n}`);
            assert.ok(Math.abs(b[1]! - a[1]!) <= 3 * U + V * 2 ** -52, `${isa} log Σ, row ${n}: ${b[1]} vs ${a[1]}`);
            let wz = 0;
            for (let v = 0; v < V; v++) wz += Math.abs((w ? w[v]! : 1) * z[n * V + v]!);
            assert.ok(Math.abs(b[3]! - a[3]!) <= V * 2 ** -52 * wz, `${isa} Σ w·z, row ${n}`);
            const lsf = Math.fround(a[1]!);
            const ulp = Math.fround(lsf * (1 + 2 ** -23)) - lsf || 2 ** -149;
            for (let v = 0; v < V; v++) {
              const x = ref.g[n * V + v]!;
              const tol =
                Math.abs(x) * (5 * U + 2 * Math.abs(ulp)) + 0.1 * (w ? w[v]! : 1) * U + 2 ** -149 + 2 * Math.abs(ulp);
              assert.ok(Math.abs(got.g[n * V + v]! - x) <= tol, `${isa} grad [${n}, ${v}] ${got.g[n * V + v]} vs ${x}`);
            }
          }
        }
        // threads never change a result
        const one = run(nt!.info().isa, 1);
        const many = run(nt!.info().isa, threads);
        assert.deepEqual(many, one);
      },
    ),
    { numRuns: 40 },
  );
});

/** The float64 product h·wᵀ + b and, per element, the error bound of the float32 fused multiply-add chain. */
function materialise(h: Float32Array, w: Float32Array, b: Float32Array | null, N: number, D: number, V: number) {
  const z = new Float64Array(N * V);
  const err = new Float64Array(N * V);
  for (let n = 0; n < N; n++)
    for (let v = 0; v < V; v++) {
      let s = b ? b[v]! : 0;
      let mag = Math.abs(s);
      for (let k = 0; k < D; k++) {
        s += h[n * D + k]! * w[v * D + k]!;
        mag += Math.abs(h[n * D + k]! * w[v * D + k]!);
      }
      z[n * V + v] = s;
      err[n * V + v] = (D + 2) * U * mag;
    }
  return { z, err };
}

test('linear + cross-entropy over vocabulary blocks = crossEntropy on the materialised logits, with dh, dw, db (property)', {
  skip,
}, () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 24 }),
      fc.integer({ min: 1, max: 150 }),
      fc.constantFrom(1, 5, 32, 64, 1000),
      ceOptsArb,
      fc.boolean(),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (N, D, V, vb, o, withBias, seed) => {
        const r = rng(seed);
        const h = logits(r, N * D, 2);
        const w = logits(r, V * D, 2);
        const bias = withBias ? logits(r, V, 1) : null;
        const y = targetsFor(r, N, V, 4);
        const wt = o.weighted ? Float32Array.from({ length: V }, () => 0.25 + r()) : null;
        const { z, err } = materialise(h, w, bias, N, D, V);
        const ref = reference(z, N, V, y, o, wt);
        const scale = o.unit === 'bit' ? 1 / Math.LN2 : 1;
        const stats = new Float64Array(4 * N);
        const lce = { h, w, bias, targets: y, weight: wt, N, D, V, vocabBlock: vb };
        nt!.lceForward({ ...lce, stats });
        const res = crossEntropyFromStats(stats, y, V, { ...o, scale, weight: wt });
        const dh = new Float32Array(N * D);
        const dw = new Float32Array(V * D);
        const db = new Float32Array(V);
        nt!.lceBackward({ ...lce, stats, ...res.coefficients, dh, dw, db });
        // the loss: the lse error now includes the logits' own error (at most its largest entry per row)
        const zMax = Array.from({ length: N }, (_, n) => Math.max(...err.subarray(n * V, n * V + V)));
        const facts = Array.from({ length: N }, (_, n) => rowFacts(z, n * V, V, zMax[n]!));
        const { alpha, beta, gamma } = res.coefficients;
        if (o.reduction !== 'none' && !Number.isNaN(ref.loss)) {
          const tol = lossBound(
            alpha,
            beta,
            facts.map((f) => f.lseErr),
            zMax,
            ref.loss as number,
          );
          assert.ok(Math.abs(res.loss - (ref.loss as number)) <= tol, `loss ${res.loss} vs ${ref.loss} (tol ${tol})`);
        }
        // dZ's bound per entry, then propagated through the float64 products with |·|
        const G = ref.grad!;
        const dzErr = new Float64Array(N * V);
        for (let n = 0; n < N; n++)
          for (let v = 0; v < V; v++)
            if (y[n] !== -100)
              dzErr[n * V + v] = gradBound(
                z[n * V + v]!,
                facts[n]!,
                alpha[n]!,
                gamma[n]! * (wt ? wt[v]! : 1),
                G[n * V + v]!,
                err[n * V + v]!,
              );
        const check = (
          what: string,
          got: Float32Array,
          rows: number,
          cols: number,
          K: number,
          at: (i: number, j: number, k: number) => [number, number, number],
        ) => {
          for (let i = 0; i < rows; i++)
            for (let j = 0; j < cols; j++) {
              let want = 0;
              let tol = 2 ** -140;
              for (let k = 0; k < K; k++) {
                const [gk, ek, xk] = at(i, j, k);
                want += gk * xk;
                tol += ek * Math.abs(xk) + (K + 2) * U * Math.abs(gk * xk);
              }
              assert.ok(
                Math.abs(got[i * cols + j]! - want) <= tol,
                `${what}[${i}, ${j}] ${got[i * cols + j]} vs ${want} (tol ${tol})`,
              );
            }
        };
        check('dh', dh, N, D, V, (n, d, v) => [G[n * V + v]!, dzErr[n * V + v]!, w[v * D + d]!]);
        check('dw', dw, V, D, N, (v, d, n) => [G[n * V + v]!, dzErr[n * V + v]!, h[n * D + d]!]);
        check('db', db, V, 1, N, (v, _, n) => [G[n * V + v]!, dzErr[n * V + v]!, 1]);
      },
    ),
    { numRuns: 40 },
  );
});

test('the backward pass is the same bit for bit for every vocabulary block size and thread count', { skip }, () => {
  const r = rng(7);
  const [N, D, V] = [23, 19, 301];
  const h = logits(r, N * D, 2);
  const w = logits(r, V * D, 2);
  const bias = logits(r, V, 1);
  const y = targetsFor(r, N, V, 5);
  const stats = new Float64Array(4 * N);
  nt!.lceForward({ h, w, bias, targets: y, N, D, V, vocabBlock: V, stats });
  const c = crossEntropyFromStats(stats, y, V, { labelSmoothing: 0.1 }).coefficients;
  const run = (vb: number, threads: number) => {
    const out = { dh: new Float32Array(N * D), dw: new Float32Array(V * D), db: new Float32Array(V) };
    withIsa(nt!, nt!.info().isa, threads, () =>
      nt!.lceBackward({ h, w, bias, targets: y, N, D, V, vocabBlock: vb, stats, ...c, ...out }),
    );
    return out;
  };
  const want = run(V, 1);
  for (const vb of [1, 13, 64, 300, 1000])
    for (const th of [1, 2, 3]) assert.deepEqual(run(vb, th), want, `vb ${vb}, ${th} thread(s)`);
  // the forward's online log-sum-exp merges blocks: the maxima, target logits and Σ w·z agree (the
  // last up to float64 reassociation); log Σ within twice the exp error bound, since the float32
  // terms exp(z − running max) round differently as the running max moves
  const { z } = materialise(h, w, bias, N, D, V);
  for (const vb of [1, 13, 64]) {
    const s = new Float64Array(4 * N);
    nt!.lceForward({ h, w, bias, targets: y, N, D, V, vocabBlock: vb, stats: s });
    for (let n = 0; n < N; n++) {
      const at = (k: number): [number, number] => [s[4 * n + k]!, stats[4 * n + k]!];
      assert.equal(...at(0), `vb ${vb} max, row ${n}`);
      assert.equal(...at(2), `vb ${vb} target logit, row ${n}`);
      assert.ok(Math.abs(at(3)[0] - at(3)[1]) <= 1e-13 * (1 + Math.abs(at(3)[1])), `vb ${vb} Σ w·z, row ${n}`);
      const tol = 2 * rowFacts(z, n * V, V).lseErr;
      assert.ok(Math.abs(at(1)[0] - at(1)[1]) <= tol, `vb ${vb} log Σ, row ${n}: ${at(1)[0]} vs ${at(1)[1]}`);
    }
  }
});

test('targets out of range and mismatched shapes are refused, naming the argument', { skip }, () => {
  const z = new Float32Array(12);
  assert.throws(
    () =>
      nt!.ceRows({
        z,
        V: 4,
        targets: Int32Array.from([0, 4, 1]),
        scale: 1,
        grad: true,
        lossOut: new Float64Array(3),
        ceOut: new Float64Array(3),
      }),
    (e: unknown) =>
      e instanceof XentError &&
      e.code === 'index_out_of_range' &&
      e.fields.arg === 'targets' &&
      /targets\[1\] = 4 is out of range \[0, 4\)/.test(e.message),
  );
  assert.throws(
    () => nt!.ceStats({ z, V: 5, targets: Int32Array.from([0, 1, 2]), stats: new Float64Array(12) }),
    (e: unknown) => e instanceof XentError && e.code === 'shape_mismatch' && e.fields.arg === 'z',
  );
  assert.throws(
    () =>
      nt!.lceForward({
        h: new Float32Array(6),
        w: new Float32Array(6),
        targets: Int32Array.from([0, 1]),
        N: 2,
        D: 3,
        V: 2,
        vocabBlock: 0,
        stats: new Float64Array(8),
      }),
    (e: unknown) => e instanceof XentError && e.code === 'invalid_argument' && e.fields.arg === 'vb',
  );
});
