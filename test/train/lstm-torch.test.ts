// The LSTM language model against PyTorch (fixtures/train/lstm_reference.json, made by
// fixtures/train/make_lstm_fixture.py): same initial weights (rebuilt from xent's
// counter RNG on both sides), same loss and gradients.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomTokens } from '../../src/core/rng.js';
import { createLstmModel, type LstmModel, lstmModelFromParams, PARAM_NAMES } from '../../src/models/lstm/lstm.js';
import { lstmLossAndGrad } from '../../src/models/lstm/lstm-grad.js';
import { adamStep, createAdamState } from '../../src/train/adam.js';
import { clipGradNorm } from '../../src/train/clip.js';
import { lstmCase as byName, type LstmCase as Case, checkSeedGrads, relMaxDiff } from './lstm-fixture.js';

function setup(c: Case, f64: boolean): { model: LstmModel; x: Int32Array; y: Int32Array } {
  let model = createLstmModel({ V: c.V, E: c.E, H: c.H, seed: c.seed });
  if (f64) model = lstmModelFromParams(model.config, Float64Array.from(model.params.flat));
  return {
    model,
    x: randomTokens(c.B * c.T, c.V, c.seed, c.inputs_stream),
    y: randomTokens(c.B * c.T, c.V, c.seed, c.targets_stream),
  };
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
    checkSeedGrads(c, tr.grads);
  } finally {
    tr.close();
  }
});
