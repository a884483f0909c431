// The native trainer (src/train/native-trainer.ts: NativeLstmEngine, and the output layer as
// linearCrossEntropy on the native kernels) against PyTorch for one step: nn.Embedding → nn.LSTM
// → F.linear + F.cross_entropy (fixtures/train/lstm_reference.json, made by
// fixtures/train/make_lstm_fixture.py), loss, plain cross-entropy and every parameter's gradient.
// Same initial weights and batches (xent's counter RNG on both sides).
//
// Bounds: float32 kernels against PyTorch in float32 (small_float32) or float64 on the same
// float32 weights (small_smoothing_ignore): 1e-5 relative to the tensor's largest |value|, the
// bound of the float32 reference path in lstm-torch.test.ts; the seed case (V = 10000) with the
// bounds of the WebAssembly trainer's seed test (1e-4, summaries and slices).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLstmModel, PARAM_NAMES } from '../../src/models/lstm/lstm.js';
import { NativeLstmTrainer } from '../../src/train/native-trainer.js';
import { nativeTrainForTests } from '../helpers/native-train.js';
import { checkSeedGrads, type LstmCase, lstmBatch, lstmCase, relMaxDiff } from './lstm-fixture.js';

const { nt, skip } = nativeTrainForTests();

function trainer(c: LstmCase, opts: { labelSmoothing?: number; threads?: number } = {}): NativeLstmTrainer {
  const init = createLstmModel({ V: c.V, E: c.E, H: c.H, seed: c.seed });
  return new NativeLstmTrainer(nt!, init.config, { B: c.B, T: c.T, ...opts }, init.params.flat as Float32Array);
}

for (const threads of [1, 2]) {
  test(`native trainer, one step = PyTorch float32 (small_float32, ${threads} thread(s))`, { skip }, () => {
    const c = lstmCase('small_float32');
    const tr = trainer(c, { threads });
    try {
      const { x, y } = lstmBatch(c);
      const r = tr.lossAndGrad(x, y);
      assert.equal(r.count, c.B * c.T);
      assert.ok(Math.abs(r.loss - c.loss!) <= 1e-5 * Math.abs(c.loss!), `loss ${r.loss} vs ${c.loss}`);
      // no smoothing: the plain cross-entropy is the loss
      assert.ok(Math.abs(r.ceNats - c.loss!) <= 1e-5 * Math.abs(c.loss!), `ceNats ${r.ceNats} vs ${c.loss}`);
      for (const p of PARAM_NAMES) {
        const d = relMaxDiff(tr.grads[p], c.grads![p]);
        assert.ok(d <= 1e-5, `${p}: relative max diff ${d}`);
      }
      // evaluate: the sums over the kept positions, the same loss
      const e = tr.evaluate(x, y);
      assert.equal(e.count, c.B * c.T);
      assert.ok(Math.abs(e.sumNats / e.count - c.loss!) <= 1e-5 * c.loss!, `evaluate ${e.sumNats / e.count}`);
    } finally {
      tr.close();
    }
  });
}

test('native trainer, label smoothing 0.1 and ignore_index = PyTorch: loss, plain cross-entropy, gradients', {
  skip,
}, () => {
  const c = lstmCase('small_smoothing_ignore');
  const tr = trainer(c, { labelSmoothing: c.label_smoothing! });
  try {
    const { x, y } = lstmBatch(c);
    for (const i of c.ignored_positions!) y[i] = -100;
    const r = tr.lossAndGrad(x, y);
    assert.equal(r.count, c.B * c.T - c.ignored_positions!.length);
    assert.ok(Math.abs(r.loss - c.loss!) <= 1e-5 * c.loss!, `loss ${r.loss} vs ${c.loss}`);
    assert.ok(Math.abs(r.ceNats - c.ce_nats!) <= 1e-5 * c.ce_nats!, `ceNats ${r.ceNats} vs ${c.ce_nats}`);
    for (const p of PARAM_NAMES) {
      const d = relMaxDiff(tr.grads[p], c.grads![p]);
      assert.ok(d <= 1e-5, `${p}: relative max diff ${d}`);
    }
    const e = tr.evaluate(x, y);
    assert.equal(e.count, r.count);
    assert.ok(Math.abs(e.sumNats / e.count - c.loss!) <= 1e-5 * c.loss!, `evaluate loss ${e.sumNats / e.count}`);
    assert.ok(
      Math.abs(e.sumCeNats / e.count - c.ce_nats!) <= 1e-5 * c.ce_nats!,
      `evaluate ce ${e.sumCeNats / e.count}`,
    );
  } finally {
    tr.close();
  }
});

test('seed configuration (V=10000, E=128, H=256, B=32, T=50): native trainer loss and gradients match PyTorch within 1e-4', {
  skip,
}, () => {
  const c = lstmCase('seed');
  const tr = trainer(c);
  try {
    const { x, y } = lstmBatch(c);
    const r = tr.lossAndGrad(x, y);
    assert.ok(Math.abs(r.loss - c.loss!) <= 1e-4, `loss ${r.loss} vs PyTorch ${c.loss}`);
    checkSeedGrads(c, tr.grads);
  } finally {
    tr.close();
  }
});
