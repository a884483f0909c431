/**
 * The native LSTM kernels (lstmForward / lstmBackward, native/xent-train-ops.c) and a whole
 * training step composed from the native kernels (bench/lib/native-lstm.ts) against the
 * reference gradients of src/models/lstm/lstm-grad.ts (float64 model), clipping and Adam
 * against src/train/clip.ts and src/train/adam.ts; the gradient into the initial state against
 * finite differences of the float64 reference loss; the vector recurrence against the scalar
 * one; and results that do not depend on the thread count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NativeLstmStep } from '../../bench/lib/native-lstm.js';
import { randomTokens } from '../../src/core/rng.js';
import type { NativeTrainIsa, NativeTrainKernels } from '../../src/kernels/native-train.js';
import { createLstmModel, lstmModelFromParams, PARAM_NAMES } from '../../src/models/lstm/lstm.js';
import { lstmLossAndGrad } from '../../src/models/lstm/lstm-grad.js';
import { adamStep, createAdamState } from '../../src/train/adam.js';
import { clipGradNorm } from '../../src/train/clip.js';
import { fastIsas, nativeTrainForTests, withIsa } from '../helpers/native-train.js';
import { rng } from '../helpers/rng.js';

const { nt, skip } = nativeTrainForTests();

function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / Math.max(s, 1e-30);
}

// Odd sizes reach every tail: H = 13 (not a multiple of 8 or 16 lanes), B = 1 (a second thread
// owns no rows), V = 300 and chunks of 7 rows, G = 4H not a multiple of the 32-column tile.
const configs = [
  { V: 37, E: 6, H: 7, B: 3, T: 5, R: 4 },
  { V: 130, E: 16, H: 24, B: 5, T: 7, R: 1000 },
  { V: 300, E: 3, H: 13, B: 1, T: 6, R: 7 },
];

for (const c of configs) {
  test(`native training step = reference gradients, clipping and AdamW (V=${c.V} E=${c.E} H=${c.H} B=${c.B} T=${c.T}), every implementation, 1 and 2 threads`, {
    skip,
  }, () => {
    const cfg = { V: c.V, E: c.E, H: c.H, seed: 4 };
    for (const isa of ['scalar', ...fastIsas(nt)] as NativeTrainIsa[]) {
      for (const threads of [1, 2]) {
        withIsa(nt!, isa, threads, () => {
          const ref = lstmModelFromParams(cfg, Float64Array.from(createLstmModel(cfg).params.flat));
          const step = new NativeLstmStep(
            nt!,
            { ...cfg },
            { B: c.B, T: c.T, rowsPerChunk: c.R, labelSmoothing: 0.05 },
            createLstmModel(cfg).params.flat as Float32Array,
          );
          const st = createAdamState(ref.params.flat.length);
          const opt = { lr: 0.01, weightDecay: 0.01, decoupled: true };
          const what = `${isa}, ${threads} thread(s)`;
          for (let s = 0; s < 3; s++) {
            const x = randomTokens(c.B * c.T, c.V, s, 1);
            const y = randomTokens(c.B * c.T, c.V, s, 2);
            y[3] = -100;
            const r = lstmLossAndGrad(ref, x, y, c.B, c.T, { labelSmoothing: 0.05 });
            const f = step.lossAndGrad(x, y);
            assert.equal(f.count, r.count);
            assert.ok(Math.abs(f.loss - r.loss) <= 1e-5 * r.loss, `${what} step ${s} loss ${f.loss} vs ${r.loss}`);
            assert.ok(Math.abs(f.ceNats - r.ceNats) <= 1e-5 * r.ceNats, what);
            for (const p of PARAM_NAMES) {
              const d = relMaxDiff(step.grads[p], r.grads[p]);
              assert.ok(d <= 1e-4, `${what} step ${s} grad ${p}: relative max diff ${d}`);
            }
            const nr = clipGradNorm(r.grads.flat, 0.3);
            const nf = step.clipGradNorm(0.3);
            assert.ok(Math.abs(nf - nr) <= 1e-5 * nr, `${what} norm ${nf} vs ${nr}`);
            adamStep(ref.params.flat, r.grads.flat, st, opt);
            step.adamStep(opt);
          }
          assert.ok(relMaxDiff(step.params.flat, ref.params.flat) <= 1e-4, `${what}: parameters after 3 AdamW steps`);
        });
      }
    }
  });
}

interface Rec {
  B: number;
  H: number;
  T: number;
  seed: number;
}

/** Random recurrence inputs (weights of PyTorch's initial scale 1/√H) and both passes' outputs. */
function recurrence(k: NativeTrainKernels, r: Rec, dh0?: Float32Array, dc0?: Float32Array) {
  const { B, H, T } = r;
  const G = 4 * H;
  const g = rng(r.seed);
  const u = (n: number, a: number): Float32Array => Float32Array.from({ length: n }, () => (g() * 2 - 1) * a);
  const xg = u(T * B * G, 1.5);
  const wHh = u(G * H, 1 / Math.sqrt(H));
  const h = new Float32Array((T + 1) * B * H);
  const c = new Float32Array((T + 1) * B * H);
  h.set(u(B * H, 0.5));
  c.set(u(B * H, 0.5));
  const act = new Float32Array(T * B * G);
  k.lstmForward({ xg, wHh, h, c, act, B, H, T });
  const dhs = u(T * B * H, 1);
  const dz = new Float32Array(T * B * G);
  const dh = dh0 ? dh0.slice() : u(B * H, 0.2);
  const dc = dc0 ? dc0.slice() : u(B * H, 0.2);
  k.lstmBackward({ act, c, dhs, wHh, dz, dh, dc, B, H, T });
  return { xg, wHh, h, c, act, dhs, dz, dh, dc };
}

const recArb = fc.record({
  B: fc.integer({ min: 1, max: 7 }),
  H: fc.oneof(fc.constantFrom(1, 8, 13, 16, 17, 33), fc.integer({ min: 1, max: 40 })),
  T: fc.integer({ min: 1, max: 8 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

test('the vector recurrence = the scalar reference within 2^-20·(T + 1) per unit of magnitude, forward and backward (property)', {
  skip,
}, () => {
  // σ and tanh are within 5 and 4 ulp of libm's (native/xent-train-select.c); each step adds
  // differences of that order to states of magnitude ≤ 1, which the next steps carry on.
  fc.assert(
    fc.property(recArb, (r) => {
      const want = withIsa(nt!, 'scalar', 1, () => recurrence(nt!, r));
      for (const isa of fastIsas(nt)) {
        const got = withIsa(nt!, isa, 2, () => recurrence(nt!, r));
        for (const k of ['h', 'c', 'act', 'dz', 'dh', 'dc'] as const) {
          const a = want[k];
          const b = got[k];
          for (let i = 0; i < a.length; i++) {
            const tol = 2 ** -20 * (r.T + 1) * Math.max(1, Math.abs(a[i]!));
            assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${isa} ${k}[${i}] ${b[i]} vs ${a[i]} (${JSON.stringify(r)})`);
          }
        }
      }
    }),
    { numRuns: 60 },
  );
});

test('the recurrence gives the same bits on 1, 2 and 3 threads, and backward in two pieces = backward in one (property)', {
  skip,
}, () => {
  fc.assert(
    fc.property(recArb, (r) => {
      const isa = nt!.info().isa;
      const one = withIsa(nt!, isa, 1, () => recurrence(nt!, r));
      for (const th of [2, 3])
        assert.deepEqual(
          withIsa(nt!, isa, th, () => recurrence(nt!, r)),
          one,
          `${th} threads`,
        );
      if (r.T < 2) return;
      // steps k … T−1 first, then 0 … k−1 with the gradient into state k carried over
      const { B, H, T } = r;
      const G = 4 * H;
      const k = Math.floor(T / 2);
      const dh = new Float32Array(B * H);
      const dc = new Float32Array(B * H);
      const full = withIsa(nt!, isa, 1, () => recurrence(nt!, r, dh, dc));
      const dz = new Float32Array(T * B * G);
      const dh2 = dh.slice();
      const dc2 = dc.slice();
      const late = {
        act: full.act.subarray(k * B * G),
        c: full.c.subarray(k * B * H),
        dhs: full.dhs.subarray(k * B * H),
      };
      nt!.lstmBackward({ ...late, wHh: full.wHh, dz: dz.subarray(k * B * G), dh: dh2, dc: dc2, B, H, T: T - k });
      const early = {
        act: full.act.subarray(0, k * B * G),
        c: full.c.subarray(0, (k + 1) * B * H),
        dhs: full.dhs.subarray(0, k * B * H),
      };
      nt!.lstmBackward({ ...early, wHh: full.wHh, dz: dz.subarray(0, k * B * G), dh: dh2, dc: dc2, B, H, T: k });
      assert.deepEqual(dz, full.dz);
      assert.deepEqual(dh2, full.dh);
      assert.deepEqual(dc2, full.dc);
    }),
    { numRuns: 40 },
  );
});

test('the gradient into the initial state = finite differences of the float64 reference loss', { skip }, () => {
  const [V, E, H, B, T] = [11, 3, 4, 2, 3];
  const cfg = { V, E, H, seed: 9 };
  const model32 = createLstmModel(cfg);
  const ref = lstmModelFromParams(cfg, Float64Array.from(model32.params.flat));
  const x = randomTokens(B * T, V, 1, 1);
  const y = randomTokens(B * T, V, 1, 2);
  const r = rng(3);
  const h0 = Float64Array.from({ length: B * H }, () => Math.fround(r() - 0.5));
  const c0 = Float64Array.from({ length: B * H }, () => Math.fround(r() - 0.5));
  const loss = (h: Float64Array, c: Float64Array): number => lstmLossAndGrad(ref, x, y, B, T, { state: { h, c } }).loss;
  // native: the reference's output-layer gradient d loss / d h_t, then the native backward pass
  // from the native forward pass started at (h0, c0); rows of the reference are b·T + t
  const p = model32.params;
  const G = 4 * H;
  const xg = new Float32Array(T * B * G);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++)
      for (let j = 0; j < G; j++) {
        let s = p.bIh[j]! + p.bHh[j]!;
        for (let e = 0; e < E; e++) s += p.emb[x[b * T + t]! * E + e]! * p.wIh[j * E + e]!;
        xg[(t * B + b) * G + j] = s;
      }
  const h = new Float32Array((T + 1) * B * H);
  const c = new Float32Array((T + 1) * B * H);
  h.set(h0);
  c.set(c0);
  const act = new Float32Array(T * B * G);
  nt!.lstmForward({ xg, wHh: p.wHh as Float32Array, h, c, act, B, H, T });
  // d loss / d h_t from the output layer, in float64: W_outᵀ·(softmax − onehot)/count per row
  const dhs = new Float32Array(T * B * H);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      const hr = h.subarray((t + 1) * B * H + b * H, (t + 1) * B * H + b * H + H);
      const z = Array.from({ length: V }, (_, v) => {
        let s = p.bOut[v]!;
        for (let k = 0; k < H; k++) s += hr[k]! * p.wOut[v * H + k]!;
        return s;
      });
      const m = Math.max(...z);
      const se = z.reduce((a, v) => a + Math.exp(v - m), 0);
      for (let k = 0; k < H; k++) {
        let s = 0;
        for (let v = 0; v < V; v++)
          s += ((Math.exp(z[v]! - m) / se - (v === y[b * T + t] ? 1 : 0)) / (B * T)) * p.wOut[v * H + k]!;
        dhs[(t * B + b) * H + k] = s;
      }
    }
  const dh = new Float32Array(B * H);
  const dc = new Float32Array(B * H);
  nt!.lstmBackward({ act, c, dhs, wHh: p.wHh as Float32Array, dz: new Float32Array(T * B * G), dh, dc, B, H, T });
  const step = 1e-5;
  for (const [name, state, got] of [
    ['dh', h0, dh],
    ['dc', c0, dc],
  ] as const) {
    const fd = new Float64Array(B * H);
    for (let i = 0; i < B * H; i++) {
      const plus = state.slice();
      const minus = state.slice();
      plus[i]! += step;
      minus[i]! -= step;
      fd[i] =
        name === 'dh'
          ? (loss(plus, c0) - loss(minus, c0)) / (2 * step)
          : (loss(h0, plus) - loss(h0, minus)) / (2 * step);
    }
    assert.ok(relMaxDiff(got, fd) <= 1e-4, `${name}: relative max diff ${relMaxDiff(got, fd)} (${got} vs ${fd})`);
  }
});

test('lstmForward and lstmBackward refuse mismatched shapes and aliased outputs', { skip }, () => {
  const [B, H, T] = [2, 3, 4];
  const G = 4 * H;
  const ok = {
    xg: new Float32Array(T * B * G),
    wHh: new Float32Array(G * H),
    h: new Float32Array((T + 1) * B * H),
    c: new Float32Array((T + 1) * B * H),
    act: new Float32Array(T * B * G),
    B,
    H,
    T,
  };
  assert.throws(
    () => nt!.lstmForward({ ...ok, h: new Float32Array(T * B * H) }),
    /lstmForward: h has 24 elements; \[\(T\+1\)·B, H\] needs 30/,
  );
  assert.throws(() => nt!.lstmForward({ ...ok, act: ok.xg }), /act and xg overlap/);
  assert.throws(
    () =>
      nt!.lstmBackward({
        act: ok.act,
        c: ok.c,
        dhs: new Float32Array(T * B * H),
        wHh: ok.wHh,
        dz: new Float32Array(T * B * G),
        dh: new Float32Array(B * H),
        dc: new Float32Array(B * H),
        B,
        H,
        T: 5,
      }),
    /act has 96 elements/,
  );
});
