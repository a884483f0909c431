/**
 * linearCrossEntropy against PyTorch 1.13 (test/loss/data/linear-cross-entropy/reference.json,
 * made by make_fixtures.py beside it: F.linear + F.cross_entropy in float64 on float32-exact
 * inputs, forward and autograd backward, and the plain cross-entropy `nll` beside the loss), on
 * every backend, with several vocabulary blocks.
 *
 * Bounds (stated per path, tied to the dtype):
 *  - JavaScript on Float64Array inputs: every value within 1e-9·(|r| + ‖r‖∞) of the reference r
 *    (float64 throughout; ‖r‖∞ over the whole array, so entries near 0 are judged on its scale).
 *  - JavaScript on Float32Array inputs: the same float64 arithmetic, gradients stored as float32:
 *    within 2^-23·(|r| + ‖r‖∞) + 1e-9·‖r‖∞ for gradients, 1e-9 for the loss.
 *  - WebAssembly and native (float32 products over H terms, float32 exp): the logits carry an
 *    absolute error up to about H·2^-24·K, K = max_nv (|b_v| + Σ_k |h_nk·w_vk|), which softmax
 *    passes on as a relative error of the same size; bound (1e-5 + 2·H·2^-24·K)·(|r| + ‖r‖∞),
 *    1e-5 covering the exp approximations (≤ 3e-7 relative) and float32 rounding of the outputs,
 *    plus an absolute 1e-12: where PyTorch's gradient is exactly 0 (V = 1: softmax is 1 and the
 *    terms cancel) float32 leaves a residue of order 2^-24 × the terms (~1e-18 here).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { XentError } from '../../src/core/errors.js';
import { linearCrossEntropy } from '../../src/loss/linear-cross-entropy.js';
import { nativeTrainForTests } from '../helpers/native-train.js';
import { flat, num } from './fixture.js';

interface LceCase {
  name: string;
  N: number;
  H: number;
  V: number;
  hidden: unknown[];
  weight: unknown[];
  bias: unknown[] | null;
  target: number[];
  options: {
    reduction: 'mean' | 'sum' | 'none';
    ignoreIndex: number;
    labelSmoothing: number;
    weight: unknown[] | null;
    zLoss: number;
    unit: 'nats' | 'bits';
  };
  gradOutput: unknown[] | null;
  loss: unknown[];
  /** F.nll_loss(F.log_softmax(logits), …): the same reduction and unit without smoothing and z-loss. */
  nll: unknown[];
  dHidden: unknown[];
  dWeight: unknown[];
  dBias: unknown[] | null;
}

const FILE = new URL('./data/linear-cross-entropy/reference.json', import.meta.url);
const fixture = JSON.parse(readFileSync(FILE, 'utf8')) as { meta: { n_cases: number }; cases: LceCase[] };
const { skip: nativeSkip } = nativeTrainForTests();

const EPS32 = 2 ** -24;

function normInf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i] as number)) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/** |got − want| ≤ rel·(|want| + ‖want‖∞) + abs·‖want‖∞ + floor elementwise; NaN only where the reference is NaN. */
function assertNear(what: string, got: ArrayLike<number>, want: number[], rel: number, abs = 0, floor = 0): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const scale = normInf(want);
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    if (Number.isNaN(w)) {
      assert.ok(Number.isNaN(g), `${what}[${i}] = ${g}, expected NaN`);
      continue;
    }
    const bound = rel * (Math.abs(w) + scale) + abs * scale + floor;
    assert.ok(Math.abs(g - w) <= bound, `${what}[${i}] = ${g}, expected ${w} (|diff| ${Math.abs(g - w)} > ${bound})`);
  }
}

/** K = max over n, v of |b_v| + Σ_k |h_nk·w_vk|: the scale of the logits' float32 rounding. */
function logitScale(c: LceCase, h: number[], w: number[], b: number[] | null): number {
  let k = 0;
  for (let i = 0; i < c.N; i++)
    for (let j = 0; j < c.V; j++) {
      let s = b === null ? 0 : Math.abs(b[j] as number);
      for (let d = 0; d < c.H; d++) s += Math.abs((h[i * c.H + d] as number) * (w[j * c.H + d] as number));
      k = Math.max(k, s);
    }
  return k;
}

function run(c: LceCase, backend: 'js' | 'wasm' | 'native', dtype: 'f32' | 'f64', vocabBlock: number, threads = 1) {
  const A = dtype === 'f32' ? Float32Array : Float64Array;
  const bias = c.bias === null ? null : A.from(flat(c.bias));
  return linearCrossEntropy(
    { data: A.from(flat(c.hidden)), shape: [c.N, c.H] },
    { data: A.from(flat(c.weight)), shape: [c.V, c.H] },
    Int32Array.from(c.target),
    {
      bias,
      reduction: c.options.reduction,
      ignoreIndex: c.options.ignoreIndex,
      labelSmoothing: c.options.labelSmoothing,
      ...(c.options.weight === null ? {} : { weight: flat(c.options.weight) }),
      zLoss: c.options.zLoss,
      unit: c.options.unit === 'bits' ? 'bit' : 'nat',
      grad: true,
      ...(c.gradOutput === null ? {} : { gradOutput: flat(c.gradOutput) }),
      backend,
      vocabBlock,
      threads,
    },
  );
}

function check(c: LceCase, backend: 'js' | 'wasm' | 'native', dtype: 'f32' | 'f64', vocabBlock: number): void {
  const r = run(c, backend, dtype, vocabBlock);
  assert.equal(r.backend, dtype === 'f64' ? 'js' : backend);
  const h = flat(c.hidden);
  const w = flat(c.weight);
  const b = c.bias === null ? null : flat(c.bias);
  let lossRel: number;
  let gradRel: number;
  let gradAbs = 0;
  let floor = 0;
  if (backend === 'js' && dtype === 'f64') {
    lossRel = gradRel = 1e-9;
  } else if (backend === 'js') {
    lossRel = 1e-9;
    gradRel = 2 ** -23;
    gradAbs = 1e-9;
  } else {
    lossRel = gradRel = 1e-5 + 2 * c.H * EPS32 * logitScale(c, h, w, b);
    floor = 1e-12;
  }
  const loss = typeof r.loss === 'number' ? [r.loss] : Array.from(r.loss);
  assertNear(`${c.name} loss`, loss, c.loss.map(num), lossRel);
  const nll = typeof r.nll === 'number' ? [r.nll] : Array.from(r.nll);
  assertNear(`${c.name} nll`, nll, c.nll.map(num), lossRel);
  assertNear(`${c.name} dHidden`, r.dHidden as ArrayLike<number>, flat(c.dHidden), gradRel, gradAbs, floor);
  assertNear(`${c.name} dWeight`, r.dWeight as ArrayLike<number>, flat(c.dWeight), gradRel, gradAbs, floor);
  if (c.dBias !== null)
    assertNear(`${c.name} dBias`, r.dBias as ArrayLike<number>, flat(c.dBias), gradRel, gradAbs, floor);
  else assert.equal(r.dBias, undefined);
}

test('fixture file has the cases the suite expects', () => {
  assert.equal(fixture.cases.length, fixture.meta.n_cases);
  assert.equal(fixture.cases.length, 30);
});

for (const c of fixture.cases) {
  test(`${c.name} [js, float64, blocks of 7 and 256]`, () => {
    check(c, 'js', 'f64', 7);
    check(c, 'js', 'f64', 256);
  });
  test(`${c.name} [js, float32, blocks of 5]`, () => check(c, 'js', 'f32', 5));
  test(`${c.name} [wasm, blocks of 7 and 64]`, () => {
    check(c, 'wasm', 'f32', 7);
    check(c, 'wasm', 'f32', 64);
  });
  test(`${c.name} [native, blocks of 7 and 64]`, { skip: nativeSkip }, () => {
    check(c, 'native', 'f32', 7);
    check(c, 'native', 'f32', 64);
  });
}

const allOptions = fixture.cases.find((c) => c.name === 'all options') as LceCase;

for (const backend of ['wasm', 'native'] as const) {
  test(`${backend}: the same bits on 1, 2 and 3 threads`, { skip: backend === 'native' ? nativeSkip : false }, () => {
    const one = run(allOptions, backend, 'f32', 16, 1);
    for (const t of [2, 3]) {
      const r = run(allOptions, backend, 'f32', 16, t);
      assert.equal(r.loss, one.loss);
      assert.deepEqual(r.dHidden, one.dHidden);
      assert.deepEqual(r.dWeight, one.dWeight);
      assert.deepEqual(r.dBias, one.dBias);
    }
  });
}

test('without grad: the loss alone, the same as with grad', () => {
  for (const backend of ['js', 'wasm'] as const) {
    const c = allOptions;
    const withGrad = run(c, backend, 'f32', 16);
    const r = linearCrossEntropy(
      { data: Float32Array.from(flat(c.hidden)), shape: [c.N, c.H] },
      { data: Float32Array.from(flat(c.weight)), shape: [c.V, c.H] },
      Int32Array.from(c.target),
      {
        bias: Float32Array.from(flat(c.bias as unknown[])),
        ignoreIndex: c.options.ignoreIndex,
        labelSmoothing: c.options.labelSmoothing,
        weight: flat(c.options.weight),
        zLoss: c.options.zLoss,
        unit: c.options.unit === 'bits' ? 'bit' : 'nat',
        backend,
        vocabBlock: 16,
      },
    );
    assert.equal(r.loss, withGrad.loss);
    assert.equal(r.dHidden, undefined);
  }
});

test('the JavaScript backend holds one [N, Vb] block (and N·H for dHidden), whatever V', () => {
  const n = 6;
  const h = 5;
  const sizes = [40, 4000].map((v) => {
    const r = linearCrossEntropy(
      { data: new Float64Array(n * h).fill(0.25), shape: [n, h] },
      { data: new Float64Array(v * h).fill(-0.5), shape: [v, h] },
      new Int32Array(n).fill(3),
      { grad: true, vocabBlock: 32, backend: 'js' },
    );
    return r.workspaceBytes;
  });
  assert.equal(sizes[0], 8 * n * 32 + 8 * n * h);
  assert.equal(sizes[1], sizes[0]);
});

function shapeError(f: () => unknown, code: string, ...parts: string[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof XentError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.op, 'linearCrossEntropy');
    for (const p of parts) assert.ok(e.message.includes(p), `${e.message} should name ${p}`);
    return true;
  });
}

test('bad input: shapes that disagree name both shapes', () => {
  const hid = { data: new Float32Array(12), shape: [3, 4] as [number, number] };
  const w = { data: new Float32Array(15), shape: [5, 3] as [number, number] };
  const w4 = { data: new Float32Array(20), shape: [5, 4] as [number, number] };
  shapeError(() => linearCrossEntropy(hid, w, new Int32Array(3)), 'shape_mismatch', '[3, 4]', '[5, 3]');
  shapeError(() => linearCrossEntropy(hid, w4, new Int32Array(2)), 'shape_mismatch', '[2]', '[3, 4]', '[5, 4]');
  shapeError(
    () => linearCrossEntropy(hid, w4, new Int32Array(3), { bias: new Float32Array(4) }),
    'shape_mismatch',
    '[4]',
    '[5, 4]',
  );
  shapeError(
    () => linearCrossEntropy(hid, w4, new Int32Array(3), { reduction: 'none', grad: true, gradOutput: [1, 2] }),
    'invalid_argument',
    'gradOutput',
    '[3, 4]',
  );
  shapeError(
    () => linearCrossEntropy(hid, w4, new Int32Array(3), { gradOutput: [1, 2, 3] }),
    'invalid_argument',
    'gradOutput',
  );
  shapeError(() => linearCrossEntropy(hid, w4, Int32Array.from([0, 5, 1])), 'index_out_of_range', 'target[1] = 5');
  const bad = new Float32Array(20);
  bad[9] = Number.NaN;
  shapeError(
    () => linearCrossEntropy(hid, { data: bad, shape: [5, 4] }, new Int32Array(3)),
    'non_finite',
    'weight[2, 1]',
  );
  shapeError(
    () => linearCrossEntropy(hid, w4, new Int32Array(3), { backend: 'gpu' as 'js' }),
    'invalid_argument',
    'backend',
  );
  shapeError(() => linearCrossEntropy(hid, w4, new Int32Array(3), { vocabBlock: 0 }), 'invalid_argument', 'vocabBlock');
  shapeError(
    () => linearCrossEntropy(hid, { data: new Float32Array(0), shape: [0, 4] }, new Int32Array(3)),
    'empty_input',
    '[0, 4]',
  );
});
