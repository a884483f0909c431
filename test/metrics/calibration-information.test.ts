import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  calibrationError,
  entropyInBase,
  jensenShannonDistance,
  jensenShannonDivergence,
  reliabilityDiagram,
  topLabelConfidences,
} from '../../src/index.js';
import { skipUnlessShared } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';
import { close, isCode, REF } from './helpers.js';

test('calibration error: torchmetrics docs example (binary_calibration_error, n_bins=2)', () => {
  // torchmetrics docs: preds [0.25, 0.25, 0.55, 0.75, 0.75], target [0, 0, 1, 1, 1], n_bins=2 →
  // l1 0.2900, l2 0.2918, max 0.3167.
  const p = [0.25, 0.25, 0.55, 0.75, 0.75];
  const t = [0, 0, 1, 1, 1];
  assert.ok(Math.abs(calibrationError(p, t, { nBins: 2, norm: 'l1' }) - 0.29) < 5e-5);
  assert.ok(Math.abs(calibrationError(p, t, { nBins: 2, norm: 'l2' }) - 0.2918) < 5e-5);
  assert.ok(Math.abs(calibrationError(p, t, { nBins: 2, norm: 'max' }) - 0.3167) < 5e-5);
  // exact: bin [0, 0.5): conf 0.25 acc 0 (2 items); bin [0.5, 1): conf 2.05/3, acc 1 (3 items)
  close(calibrationError(p, t, { nBins: 2 }), (2 / 5) * 0.25 + (3 / 5) * (1 - 2.05 / 3));
});

test(`calibration error equals torchmetrics ${REF.torchmetrics.version} on ${REF.torchmetrics.cases.length} random cases (L1, L2, max; 15 and 10 bins)`, () => {
  for (const c of REF.torchmetrics.cases) {
    for (const norm of ['l1', 'l2', 'max'] as const) {
      for (const nb of [15, 10])
        close(
          calibrationError(c.confidences, c.correct, { norm, nBins: nb }),
          c[`${norm}_${nb}`],
          1e-12,
          `${norm} ${nb}`,
        );
    }
  }
});

test('reliability diagram: [lo, hi) bins plus the bin for confidence 1; right-closed variant; errors', () => {
  const d = reliabilityDiagram([0, 0.1, 0.5, 1, 1], [0, 0, 1, 1, 0], { nBins: 2 });
  assert.equal(d.bins.length, 3);
  assert.deepEqual(
    d.bins.map((b) => b.count),
    [2, 1, 2],
  );
  assert.deepEqual([d.bins[2]!.lo, d.bins[2]!.hi], [1, 1]);
  close(d.bins[2]!.accuracy, 0.5);
  const r = reliabilityDiagram([0, 0.1, 0.5, 1, 1], [0, 0, 1, 1, 0], { nBins: 2, intervals: 'right-closed' });
  assert.deepEqual(
    r.bins.map((b) => b.count),
    [2, 2],
  ); // (0, 0.5]: 0.1, 0.5; (0.5, 1]: 1, 1; 0 in no bin
  assert.equal(r.total, 4);
  assert.throws(() => calibrationError([1.5], [1]), isCode('invalid_argument', /confidences\[0\] = 1.5 is above 1/));
  assert.throws(
    () => calibrationError([0.5], [2]),
    isCode('invalid_argument', /correct\[0\] must be 0, 1 or a boolean/),
  );
  assert.throws(
    () => calibrationError([0.5, 0.2], [1]),
    isCode('shape_mismatch', /correct has length 1 but confidences has length 2/),
  );
  const tl = topLabelConfidences({ data: Float64Array.from([0.2, 0.7, 0.1, 0.5, 0.5, 0]), shape: [2, 3] }, [1, 1]);
  assert.deepEqual(Array.from(tl.confidences), [0.7, 0.5]);
  assert.deepEqual(Array.from(tl.correct), [1, 0]); // tie 0.5/0.5 → first maximum (index 0)
});

test('property: ECE ≤ MCE, L1 ≤ L2 ≤ MCE, all in [0, 1]; a perfectly calibrated bin has zero gap', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()), { minLength: 1, maxLength: 200 }),
      (xs) => {
        const c = xs.map((x) => x[0]);
        const y = xs.map((x) => x[1]);
        const d = reliabilityDiagram(c, y);
        assert.ok(d.ece <= d.l2 + 1e-12 && d.l2 <= d.mce + 1e-12 && d.mce <= 1 && d.ece >= 0);
      },
    ),
    { numRuns: 200 },
  );
  close(calibrationError([0.8, 0.8, 0.8, 0.8, 0.8], [1, 1, 1, 1, 0]), 0, 1e-15);
});

test('scipy.stats.entropy cases of ../shared/fixtures/torch_reference.json through entropyInBase', {
  skip: skipUnlessShared('fixtures/torch_reference.json'),
}, () => {
  const cases = JSON.parse(readFileSync(sharedPath('fixtures/torch_reference.json')!, 'utf8')).cases.filter(
    (c: { op: string }) => c.op === 'scipy_entropy',
  );
  assert.equal(cases.length, 3);
  for (const c of cases) {
    const v = entropyInBase(c.inputs.pk, { base: c.params.base ?? undefined, qk: c.inputs.qk });
    close(v, c.expected, 1e-9, c.name);
  }
});

test('Jensen–Shannon: scipy.spatial.distance.jensenshannon docs examples; divergence = distance²', () => {
  // scipy docs: jensenshannon([1, 0, 0], [0, 1, 0], 2.0) = 1.0; jensenshannon([1, 0], [0.5, 0.5]) = 0.46450140402245893;
  // jensenshannon([1, 0, 0], [1, 0, 0]) = 0.0
  close(jensenShannonDistance([1, 0, 0], [0, 1, 0], { base: 2 }), 1);
  close(jensenShannonDistance([1, 0], [0.5, 0.5]), 0.46450140402245893);
  assert.equal(jensenShannonDistance([1, 0, 0], [1, 0, 0]), 0);
  close(jensenShannonDivergence([1, 0, 0], [0, 1, 0]), Math.LN2);
  assert.throws(
    () => jensenShannonDivergence([1, 0], [1]),
    isCode('shape_mismatch', /q has length 1 but p has length 2/),
  );
  assert.throws(
    () => entropyInBase([1, 1], { base: 1 }),
    isCode('invalid_argument', /base must be a finite number > 0 and ≠ 1/),
  );
});

test('property: 0 ≤ JS ≤ ln 2, symmetric; the JS distance obeys the triangle inequality; entropy base change', () => {
  const d = (V: number) =>
    fc
      .array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: V, maxLength: V })
      .filter((a) => a.some((x) => x > 1e-3));
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 }).chain((V) => fc.tuple(d(V), d(V), d(V))),
      ([p, q, r]) => {
        const js = jensenShannonDivergence(p, q);
        assert.ok(js >= 0 && js <= Math.LN2 + 1e-15);
        close(js, jensenShannonDivergence(q, p), 1e-12);
        assert.ok(jensenShannonDivergence(p, q, { base: 2 }) <= 1 + 1e-15);
        assert.ok(jensenShannonDistance(p, q) <= jensenShannonDistance(p, r) + jensenShannonDistance(r, q) + 1e-12);
        close(entropyInBase(p, { base: 2 }), entropyInBase(p) / Math.LN2, 1e-12);
      },
    ),
    { numRuns: 200 },
  );
});
