// The WebAssembly trainer against the plain TypeScript reference (same loss,
// gradients, clipping and Adam), on 1 and 2 threads, plain and relaxed SIMD.
// (The matrix product alone, at more shapes: matmul-kernel.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomTokens } from '../../src/core/rng.js';
import { createLstmModel, lstmModelFromParams, PARAM_NAMES } from '../../src/models/lstm/lstm.js';
import { lstmLossAndGrad } from '../../src/models/lstm/lstm-grad.js';
import { adamStep, createAdamState } from '../../src/train/adam.js';
import { clipGradNorm } from '../../src/train/clip.js';
import { FastLstmTrainer } from '../../src/train/fast-trainer.js';
import { relMaxDiff } from './lstm-fixture.js';

// Odd sizes exercise every kernel tail: the 4×8 product tile (M % 4, N % 8, K < 4), rows
// per chunk, the 4-lane LSTM pointwise loop and its scalar tail (H = 13), B = 1 (the second
// thread owns no batch rows), V = 300 > 256 (the dhs product runs two K blocks).
const configs = [
  { V: 37, E: 6, H: 7, B: 3, T: 5, R: 4 },
  { V: 130, E: 16, H: 24, B: 5, T: 7, R: 9 },
  { V: 300, E: 3, H: 13, B: 1, T: 6, R: 5 },
];
for (const relaxed of ['0', '1']) {
  for (const threads of [1, 2]) {
    for (const c of configs) {
      test(`fast trainer = reference (V=${c.V} E=${c.E} H=${c.H} B=${c.B} T=${c.T}, ${threads} thread(s), relaxed=${relaxed})`, () => {
        process.env.XENT_WASM_RELAXED = relaxed;
        const ref = lstmModelFromParams(
          { V: c.V, E: c.E, H: c.H },
          Float64Array.from(createLstmModel({ V: c.V, E: c.E, H: c.H, seed: 4 }).params.flat),
        );
        const fast = new FastLstmTrainer(
          { V: c.V, E: c.E, H: c.H },
          { B: c.B, T: c.T, threads, rowsPerChunk: c.R, labelSmoothing: 0.05 },
          createLstmModel({ V: c.V, E: c.E, H: c.H, seed: 4 }).params.flat as Float32Array,
        );
        try {
          const st = createAdamState(ref.params.flat.length);
          const opt = { lr: 0.01, weightDecay: 0.01, decoupled: true };
          for (let s = 0; s < 3; s++) {
            const x = randomTokens(c.B * c.T, c.V, s, 1);
            const y = randomTokens(c.B * c.T, c.V, s, 2);
            y[3] = -100;
            const r = lstmLossAndGrad(ref, x, y, c.B, c.T, { labelSmoothing: 0.05 });
            const f = fast.lossAndGrad(x, y);
            assert.equal(f.count, r.count);
            assert.ok(Math.abs(f.loss - r.loss) <= 1e-5 * r.loss, `step ${s} loss ${f.loss} vs ${r.loss}`);
            assert.ok(Math.abs(f.ceNats - r.ceNats) <= 1e-5 * r.ceNats);
            for (const p of PARAM_NAMES) {
              const d = relMaxDiff(fast.grads[p], r.grads[p]);
              assert.ok(d <= 1e-4, `step ${s} grad ${p}: relative max diff ${d}`);
            }
            const nr = clipGradNorm(r.grads.flat, 0.3);
            const nf = fast.clipGradNorm(0.3);
            assert.ok(Math.abs(nf - nr) <= 1e-5 * nr, `norm ${nf} vs ${nr}`);
            adamStep(ref.params.flat, r.grads.flat, st, opt);
            fast.adamStep(opt);
            const ev = fast.evaluate(x, y);
            assert.equal(ev.count, r.count);
          }
          assert.ok(relMaxDiff(fast.model.params.flat, ref.params.flat) <= 1e-4, 'parameters after 3 AdamW steps');
        } finally {
          fast.close();
          delete process.env.XENT_WASM_RELAXED;
        }
      });
    }
  }
}
