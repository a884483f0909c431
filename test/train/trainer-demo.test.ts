// The demo's training section on the embedded Brown corpus, run short (--train-steps):
// both models trained on the train split, scored on the test split with xent eval's
// semantics, figures in JSON with units in the keys, curves the demo report can draw.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { validateTrainCurves } from '../../src/results/schema.js';
import { CLI } from '../helpers/shared.js';

test('xent demo --train-steps 10: an LSTM and a 4-gram trained on Brown, scored on its test split', {
  timeout: 180_000,
}, () => {
  const r = spawnSync(
    process.execPath,
    [CLI, 'demo', '--json', '--no-report', '--train-steps', '10', '--train-eval-chunks', '8'],
    { encoding: 'utf8', timeout: 170_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { brown_training: Record<string, unknown> };
  const d = j.brown_training as { [k: string]: number } & { lstm_curves: unknown };
  const num = (k: string): number => {
    assert.equal(typeof d[k], 'number', k);
    return d[k]!;
  };
  assert.equal(d.vocab_size, 1024);
  assert.equal(d.train_documents, 392);
  assert.equal(d.test_documents, 54);
  assert.equal(d.lstm_steps, 10);
  // 8 chunks of 512 tokens, second halves scored: 8 × 255 predictions per model.
  assert.equal(d.lstm_test_tokens_scored, 8 * 255);
  assert.equal(d.ngram_test_tokens_scored, 8 * 255);
  for (const k of ['lstm_test_bits_per_byte', 'ngram_test_bits_per_byte'])
    assert.ok(d[k]! > 0.5 && d[k]! < 8, `${k} = ${d[k]}`);
  // 10 steps move the LSTM off the uniform guess, but the 4-gram counted all 1.8M tokens.
  assert.ok(num('lstm_val_nats_per_token') < Math.log(1024) - 0.3, `LSTM validation ${d.lstm_val_nats_per_token}`);
  assert.ok(num('ngram_test_bits_per_byte') < num('lstm_test_bits_per_byte'));
  const curves = validateTrainCurves(d.lstm_curves, { file: 'demo' });
  assert.equal(curves.val.at(-1)!.step, 10);
  assert.match(r.stderr, /training an LSTM on the Brown train split \(10 steps\)/);
});
