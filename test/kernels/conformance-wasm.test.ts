/**
 * The whole conformance fixture file (../shared/fixtures/torch_reference.json, PyTorch float64),
 * and the extra PyTorch cases of test/loss/extra_reference.json, through the WebAssembly backend: every case with float32 inputs, XENT_BACKEND=wasm making
 * 'auto' mean 'wasm' for every call (the float64 inputs of the same file keep the JS path and
 * are covered by test/loss/conformance.test.ts). Tolerance: 1e-5 relative (float32 inputs).
 * Ops with a kernel (cross_entropy, logsumexp, binary_cross_entropy_with_logits, kl_div,
 * perplexity through crossEntropy) must actually run one; the others (nll, BCE on
 * probabilities, entropy, Wasserstein…) have no kernel and run the JS path, still checked.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kernelCallCount } from '../../src/kernels/pool.js';
import { skipUnlessShared } from '../helpers/requires.js';
import type { Fixture } from '../loss/fixture.js';
import { assertClose, FIXTURE, loadFixture } from '../loss/fixture.js';
import { runCase, TOL } from '../loss/run-case.js';

process.env.XENT_BACKEND = 'wasm';
const fixture = loadFixture();
const skip = skipUnlessShared(...FIXTURE);
const KERNEL_OPS = new Set([
  'cross_entropy',
  'logsumexp',
  'log_softmax',
  'softmax',
  'binary_cross_entropy_with_logits',
  'kl_div',
  'perplexity',
]);

test('the fixture file is present and complete', { skip }, () => {
  assert.ok(fixture);
  assert.equal(fixture.cases.length, fixture.meta.n_cases);
});

// The extra PyTorch cases (test/loss/extra_reference.json), when present, go through the same path.
const extraPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'loss', 'extra_reference.json');
const extra = existsSync(extraPath) ? (JSON.parse(readFileSync(extraPath, 'utf8')) as Fixture) : undefined;
const cases = [
  ...(fixture?.cases ?? []).map((c) => ['torch_reference', c] as const),
  ...(extra?.cases ?? []).map((c) => ['extra_reference', c] as const),
];

for (const [file, c] of cases) {
  test(`${file}: ${c.name} (${c.op}) [float32, wasm backend]`, () => {
    const { rtol, atol } = TOL.float32;
    const before = kernelCallCount();
    const out = runCase(c, 'float32');
    if (KERNEL_OPS.has(c.op)) assert.ok(kernelCallCount() > before, `${c.name}: no WebAssembly kernel ran`);
    const names = Object.keys(out.values);
    assert.ok(names.length > 0);
    if (c.grad !== null && c.grad !== undefined)
      assert.ok(names.includes('grad'), `${c.name}: the fixture gradient was not checked`);
    for (const [name, [got, want]] of Object.entries(out.values))
      assertClose(`${c.name} ${name}`, got, want, rtol, atol);
  });
}
