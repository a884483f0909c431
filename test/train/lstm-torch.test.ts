// The LSTM language model against PyTorch (fixtures/train/lstm_reference.json, made by
// fixtures/train/make_lstm_fixture.py): same initial weights (rebuilt from xent's
// counter RNG on both sides), same loss and gradients.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomTokens } from '../../src/core/rng.js';
import {
  createLstmModel,
  type LstmModel,
  lstmModelFromParams,
  PARAM_NAMES,
  type ParamName,
} from '../../src/models/lstm/lstm.js';
import { lstmLossAndGrad } from '../../src/models/lstm/lstm-grad.js';
import { adamStep, createAdamState } from '../../src/train/adam.js';
import { clipGradNorm } from '../../src/train/clip.js';
import { REPO_ROOT } from '../helpers/shared.js';

interface Case {
  name: string;
  V: number;
  E: number;
  H: number;
  B: number;
  T: number;
  seed: number;
  inputs_stream: number;
  targets_stream: number;
  dtype: string;
  loss?: number;
  grads?: Record<ParamName, number[]>;
  label_smoothing?: number;
  ignored_positions?: number[];
  optimizer?: 'adam' | 'adamw';
  clip?: number;
  losses?: number[];
  grad_norms?: number[];
  params_after?: Record<ParamName, number[]>;
  grad_stats?: Record<
    ParamName,
    { sum: number; l2: number; max_abs: number; first64: number[]; rows?: Record<string, number[] | number> }
  >;
}
const fixture = JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures', 'train', 'lstm_reference.json'), 'utf8')) as {
  cases: Case[];
};
const byName = (n: string): Case => fixture.cases.find((c) => c.name === n)!;

function setup(c: Case, f64: boolean): { model: LstmModel; x: Int32Array; y: Int32Array } {
  let model = createLstmModel({ V: c.V, E: c.E, H: c.H, seed: c.seed });
  if (f64) model = lstmModelFromParams(model.config, Float64Array.from(model.params.flat));
  return {
    model,
    x: randomTokens(c.B * c.T, c.V, c.seed, c.inputs_stream),
    y: randomTokens(c.B * c.T, c.V, c.seed, c.targets_stream),
  };
}

/** max |a − b| / max(1e-30, max |b|) per tensor. */
function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0,
    s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / Math.max(s, 1e-30);
}

for (const [name, f64, tol] of [
  ['small_float64', true, 1e-9],
  ['small_float32', false, 1e-5],
] as const) {
  test(`loss and gradients match PyTorch: ${name}`, () => {
    const c = byName(name);
    const { model, x, y } = setup(c, f64);
    const r = lstmLossAndGrad(model, x, y, c.B, c.T);
    assert.ok(Math.abs(r.loss - c.loss!) <= tol * Math.abs(c.loss!), `loss ${r.loss} vs ${c.loss}`);
    for (const p of PARAM_NAMES) {
      const d = relMaxDiff(r.grads[p], c.grads![p]);
      assert.ok(d <= tol, `${p}: relative max diff ${d}`);
    }
  });
}

test('label smoothing and ignore_index match PyTorch (float64)', () => {
  const c = byName('small_smoothing_ignore');
  const { model, x, y } = setup(c, true);
  for (const i of c.ignored_positions!) y[i] = -100;
  const r = lstmLossAndGrad(model, x, y, c.B, c.T, { labelSmoothing: c.label_smoothing! });
  assert.equal(r.count, c.B * c.T - c.ignored_positions!.length);
  assert.ok(Math.abs(r.loss - c.loss!) <= 1e-9 * c.loss!, `loss ${r.loss} vs ${c.loss}`);
  for (const p of PARAM_NAMES) assert.ok(relMaxDiff(r.grads[p], c.grads![p]) <= 1e-9, p);
});

for (const opt of ['adam', 'adamw'] as const) {
  test(`three ${opt} steps with gradient clipping match torch.optim`, () => {
    const c = byName(`small_${opt}`);
    const { model, x, y } = setup(c, true);
    const state = createAdamState(model.params.flat.length);
    const o =
      opt === 'adam'
        ? { lr: 0.01, weightDecay: 0.01 }
        : { lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: true };
    for (let s = 0; s < 3; s++) {
      const r = lstmLossAndGrad(model, x, y, c.B, c.T);
      assert.ok(
        Math.abs(r.loss - c.losses![s]!) <= 1e-9 * c.losses![s]!,
        `step ${s} loss ${r.loss} vs ${c.losses![s]}`,
      );
      const norm = clipGradNorm(r.grads.flat, c.clip!);
      assert.ok(
        Math.abs(norm - c.grad_norms![s]!) <= 1e-9 * c.grad_norms![s]!,
        `step ${s} norm ${norm} vs ${c.grad_norms![s]}`,
      );
      // Adam keeps float32 moments (as xent stores them); compare at float32 precision.
      adamStep(model.params.flat, r.grads.flat, state, o);
    }
    for (const p of PARAM_NAMES) {
      const d = relMaxDiff(model.params[p], c.params_after![p]);
      assert.ok(d <= 1e-5, `${p} after 3 steps: relative max diff ${d}`);
    }
  });
}

test('seed configuration (V=10000, E=128, H=256, B=32, T=50): fast trainer loss and gradients match PyTorch within 1e-4', async () => {
  const c = byName('seed');
  const { FastLstmTrainer } = await import('../../src/train/fast-trainer.js');
  const init = createLstmModel({ V: c.V, E: c.E, H: c.H, seed: c.seed });
  const tr = new FastLstmTrainer(init.config, { B: c.B, T: c.T }, init.params.flat as Float32Array);
  try {
    const x = randomTokens(c.B * c.T, c.V, c.seed, c.inputs_stream);
    const y = randomTokens(c.B * c.T, c.V, c.seed, c.targets_stream);
    const r = tr.lossAndGrad(x, y);
    assert.ok(Math.abs(r.loss - c.loss!) <= 1e-4, `loss ${r.loss} vs PyTorch ${c.loss}`);
    for (const p of PARAM_NAMES) {
      const s = c.grad_stats![p];
      const g = tr.grads[p];
      let sum = 0,
        sq = 0,
        mx = 0;
      for (let i = 0; i < g.length; i++) {
        sum += g[i]!;
        sq += g[i]! * g[i]!;
        mx = Math.max(mx, Math.abs(g[i]!));
      }
      // elementwise within 1e-4 of PyTorch's largest |gradient| in the tensor, and matching summaries
      const tol = 1e-4 * s.max_abs;
      assert.ok(Math.abs(Math.sqrt(sq) - s.l2) <= 1e-4 * s.l2, `${p}: L2 ${Math.sqrt(sq)} vs ${s.l2}`);
      assert.ok(Math.abs(mx - s.max_abs) <= tol, `${p}: max|g| ${mx} vs ${s.max_abs}`);
      assert.ok(Math.abs(sum - s.sum) <= 1e-4 * s.l2 * Math.sqrt(g.length) + 1e-9, `${p}: sum ${sum} vs ${s.sum}`);
      for (let i = 0; i < s.first64.length; i++)
        assert.ok(Math.abs(g[i]! - s.first64[i]!) <= tol, `${p}[${i}]: ${g[i]} vs ${s.first64[i]}`);
      if (s.rows) {
        for (const [tok, row] of Object.entries(s.rows)) {
          const t = Number(tok);
          if (typeof row === 'number') assert.ok(Math.abs(g[t]! - row) <= tol, `${p}[${t}]`);
          else
            for (let j = 0; j < row.length; j++)
              assert.ok(
                Math.abs(g[t * row.length + j]! - row[j]!) <= tol,
                `${p}[${t}, ${j}]: ${g[t * row.length + j]} vs ${row[j]}`,
              );
        }
      }
    }
  } finally {
    tr.close();
  }
});
