// Finite-difference checks of the LSTM language model's gradients (float64 model),
// float32 against float64, and bad input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import { randomTokens } from '../../src/core/rng.js';
import { createLstmModel, type LstmModel, lstmForward, lstmModelFromParams } from '../../src/models/lstm/lstm.js';
import { lstmLossAndGrad } from '../../src/models/lstm/lstm-grad.js';

function f64(m: LstmModel): LstmModel {
  return lstmModelFromParams(m.config, Float64Array.from(m.params.flat));
}

test('gradients agree with central finite differences (float64, random configs)', () => {
  fc.assert(
    fc.property(
      fc.record({
        V: fc.integer({ min: 2, max: 9 }),
        E: fc.integer({ min: 1, max: 4 }),
        H: fc.integer({ min: 1, max: 5 }),
        B: fc.integer({ min: 1, max: 3 }),
        T: fc.integer({ min: 1, max: 4 }),
        seed: fc.nat(1000),
        ls: fc.constantFrom(0, 0.2),
      }),
      ({ V, E, H, B, T, seed, ls }) => {
        const model = f64(createLstmModel({ V, E, H, seed }));
        const x = randomTokens(B * T, V, seed, 11);
        const y = randomTokens(B * T, V, seed, 12);
        if (B * T > 1) y[0] = -100; // one ignored position
        const { grads } = lstmLossAndGrad(model, x, y, B, T, { labelSmoothing: ls });
        const p = model.params.flat;
        const h = 1e-6;
        // every parameter of small models, a stride through larger ones
        const stride = Math.max(1, Math.floor(p.length / 60));
        for (let i = 0; i < p.length; i += stride) {
          const keep = p[i]!;
          p[i] = keep + h;
          const lp = lstmLossAndGrad(model, x, y, B, T, { labelSmoothing: ls }).loss;
          p[i] = keep - h;
          const lm = lstmLossAndGrad(model, x, y, B, T, { labelSmoothing: ls }).loss;
          p[i] = keep;
          const fd = (lp - lm) / (2 * h);
          const g = grads.flat[i]!;
          assert.ok(
            Math.abs(fd - g) <= 1e-7 + 1e-5 * Math.abs(fd),
            `param ${i}: analytic ${g} vs finite difference ${fd}`,
          );
        }
      },
    ),
    { numRuns: 25, seed: 42 },
  );
});

test('float32 forward and gradients agree with the float64 path to float32 precision', () => {
  const m32 = createLstmModel({ V: 50, E: 8, H: 16, seed: 7 });
  const m64 = f64(m32);
  const x = randomTokens(3 * 9, 50, 7, 1);
  const y = randomTokens(3 * 9, 50, 7, 2);
  const a = lstmForward(m32, x, 3, 9);
  const b = lstmForward(m64, x, 3, 9);
  assert.ok(a.data instanceof Float32Array && b.data instanceof Float64Array);
  for (let i = 0; i < a.data.length; i++)
    assert.ok(Math.abs(a.data[i]! - b.data[i]!) <= 1e-5 * (1 + Math.abs(b.data[i]!)));
  const ga = lstmLossAndGrad(m32, x, y, 3, 9);
  const gb = lstmLossAndGrad(m64, x, y, 3, 9);
  assert.ok(Math.abs(ga.loss - gb.loss) <= 1e-5 * gb.loss);
  let mx = 0;
  for (let i = 0; i < gb.grads.flat.length; i++) mx = Math.max(mx, Math.abs(gb.grads.flat[i]!));
  for (let i = 0; i < gb.grads.flat.length; i++)
    assert.ok(Math.abs(ga.grads.flat[i]! - gb.grads.flat[i]!) <= 1e-5 * mx, `grad ${i}`);
});

test('forward logits are the loss: mean CE of lstmForward rows equals lstmLossAndGrad.loss', () => {
  const m = f64(createLstmModel({ V: 13, E: 4, H: 6, seed: 1 }));
  const x = randomTokens(10, 13, 1, 3);
  const y = randomTokens(10, 13, 1, 4);
  const { data } = lstmForward(m, x, 2, 5);
  let s = 0;
  for (let n = 0; n < 10; n++) {
    let mx = -Infinity;
    for (let v = 0; v < 13; v++) mx = Math.max(mx, data[n * 13 + v]!);
    let e = 0;
    for (let v = 0; v < 13; v++) e += Math.exp(data[n * 13 + v]! - mx);
    s += mx + Math.log(e) - data[n * 13 + y[n]!]!;
  }
  assert.ok(Math.abs(s / 10 - lstmLossAndGrad(m, x, y, 2, 5).loss) < 1e-12);
});

test('a carried state changes the output and equals running the concatenated sequence', () => {
  const m = f64(createLstmModel({ V: 9, E: 3, H: 4, seed: 5 }));
  const x = randomTokens(8, 9, 5, 1);
  const whole = lstmForward(m, x, 1, 8).data;
  const y = randomTokens(8, 9, 5, 2);
  const first = lstmLossAndGrad(m, x.subarray(0, 4), y.subarray(0, 4), 1, 4);
  const second = lstmForward(m, x.slice(4), 1, 4, first.state).data;
  for (let i = 0; i < second.length; i++) assert.ok(Math.abs(second[i]! - whole[4 * 9 + i]!) < 1e-12);
});

test('bad input names the op, the argument and the position', () => {
  const m = createLstmModel({ V: 5, E: 2, H: 3 });
  assert.throws(
    () => lstmForward(m, new Int32Array([0, 1, 5, 2]), 2, 2),
    (e: unknown) =>
      e instanceof XentError &&
      e.code === 'index_out_of_range' &&
      /tokens\[1, 0\] = 5 is out of range \[0, 5\)/.test(e.message),
  );
  assert.throws(
    () => lstmForward(m, new Int32Array(3), 2, 2),
    (e: unknown) => e instanceof XentError && e.code === 'shape_mismatch',
  );
  assert.throws(
    () => lstmLossAndGrad(m, new Int32Array(4), new Int32Array([0, 0, 7, 0]), 2, 2),
    (e: unknown) => e instanceof XentError && /targets\[1, 0\] = 7/.test(e.message),
  );
  assert.throws(
    () => createLstmModel({ V: 0, E: 2, H: 3 }),
    (e: unknown) => e instanceof XentError && /config.V/.test(e.message),
  );
});

test('initial weights follow PyTorch default distributions', () => {
  const m = createLstmModel({ V: 400, E: 50, H: 64, seed: 9 });
  const k = 1 / 8;
  let mean = 0,
    sq = 0;
  for (const v of m.params.emb) {
    mean += v;
    sq += v * v;
  }
  mean /= m.params.emb.length;
  const std = Math.sqrt(sq / m.params.emb.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(std - 1) < 0.02, `emb N(0,1): mean ${mean} std ${std}`);
  for (const n of ['wIh', 'wHh', 'bIh', 'bHh', 'wOut', 'bOut'] as const) {
    const a = m.params[n];
    let lo = Infinity,
      hi = -Infinity;
    for (const v of a) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.ok(lo >= -k && hi <= k && hi - lo > 1.8 * k, `${n} U(-1/√H, 1/√H): [${lo}, ${hi}]`);
  }
  assert.deepEqual(createLstmModel({ V: 400, E: 50, H: 64, seed: 9 }).params.flat, m.params.flat);
  assert.notDeepEqual(createLstmModel({ V: 400, E: 50, H: 64, seed: 10 }).params.flat, m.params.flat);
});
