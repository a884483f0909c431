/**
 * Conformance: every case of ../shared/fixtures/torch_reference.json (PyTorch 1.13 /
 * SciPy 1.10 / scikit-learn 1.2, float64), values and gradients, run twice:
 *   float64 inputs — within 1e-9 relative (absolute floor 1e-13 for values near 0);
 *   float32 inputs — within 1e-5 relative (absolute floor 1e-8); gradients come back as Float32Array.
 * Op and parameter names are PyTorch's; run-case.ts maps them to xent's. A case whose op
 * is not mapped fails (it is never skipped). Skipped only where ../shared is absent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skipUnlessShared } from '../helpers/requires.js';
import { assertClose, FIXTURE, loadFixture } from './fixture.js';
import { runCase, TOL } from './run-case.js';

const fixture = loadFixture();
const skip = skipUnlessShared(...FIXTURE);

test('fixture file has the 69 cases the suite expects', { skip }, () => {
  assert.ok(fixture);
  assert.equal(fixture.cases.length, fixture.meta.n_cases);
  assert.equal(fixture.cases.length, 69);
});

for (const dtype of ['float64', 'float32'] as const) {
  for (const c of fixture?.cases ?? []) {
    test(`${c.name} (${c.op}) [${dtype}]`, () => {
      const { rtol, atol } = TOL[dtype];
      const out = runCase(c, dtype);
      const names = Object.keys(out.values);
      assert.ok(names.length > 0);
      if (c.grad !== null && c.grad !== undefined)
        assert.ok(names.includes('grad'), `${c.name}: the fixture has a gradient that was not checked`);
      for (const [name, [got, want]] of Object.entries(out.values))
        assertClose(`${c.name} ${name}`, got, want, rtol, atol);
    });
  }
}
