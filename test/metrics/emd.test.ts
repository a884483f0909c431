import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { tokenEmd, tokenEmd1d, wassersteinDistance } from '../../src/index.js';
import { skipUnlessShared } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';
import { close, isCode } from './helpers.js';

/** Cost |x_i − x_j| of tokens placed on a line: the exact EMD is then the 1-D Wasserstein distance. */
function lineCost(x: number[]) {
  const V = x.length;
  const data = new Float64Array(V * V);
  for (let i = 0; i < V; i++) for (let j = 0; j < V; j++) data[i * V + j] = Math.abs(x[i]! - x[j]!);
  return { data, shape: [V, V] as const };
}

// Zeros, ordinary probabilities and softmax-tail masses (down to 1e-40) that must be moved too.
const dist = (V: number) =>
  fc
    .array(
      fc.oneof(
        fc.constant(0),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        fc.double({ min: 1e-40, max: 1e-12, noNaN: true }),
      ),
      { minLength: V, maxLength: V },
    )
    .filter((a) => a.some((x) => x > 1e-3));

test('scipy.stats.wasserstein_distance cases of ../shared/fixtures/torch_reference.json (re-exported from src/loss)', {
  skip: skipUnlessShared('fixtures/torch_reference.json'),
}, () => {
  const cases = JSON.parse(readFileSync(sharedPath('fixtures/torch_reference.json')!, 'utf8')).cases.filter(
    (c: { op: string }) => c.op === 'scipy_wasserstein_distance',
  );
  assert.equal(cases.length, 2);
  for (const c of cases) {
    const i = c.inputs;
    close(wassersteinDistance(i.u_values, i.v_values, i.u_weights, i.v_weights), c.expected, 1e-9, c.name);
  }
});

test('exact EMD under a line cost equals scipy-semantics 1-D Wasserstein (property, V ≤ 40)', () => {
  fc.assert(
    fc.property(
      fc
        .integer({ min: 1, max: 40 })
        .chain((V) =>
          fc.tuple(
            dist(V),
            dist(V),
            fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: V, maxLength: V }),
          ),
        ),
      ([p, q, x]) => {
        const e = tokenEmd(p, q, lineCost(x), { method: 'exact' });
        assert.equal(e.method, 'exact');
        assert.equal(e.errorBound, 0);
        const w = tokenEmd1d(p, q, x);
        assert.ok(Math.abs(e.distance - w) <= 1e-12 * Math.max(1, w), `${e.distance} vs ${w}`);
      },
    ),
    { numRuns: 150 },
  );
});

test('EMD is a metric on distributions under a metric cost: symmetry, identity, triangle inequality', () => {
  fc.assert(
    fc.property(
      fc
        .integer({ min: 2, max: 12 })
        .chain((V) =>
          fc.tuple(
            dist(V),
            dist(V),
            dist(V),
            fc.array(
              fc.tuple(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true })),
              { minLength: V, maxLength: V },
            ),
          ),
        ),
      ([p, q, r, pts]) => {
        // Euclidean distances between 2-D token embeddings: a metric, and not reducible to 1-D.
        const V = pts.length;
        const data = new Float64Array(V * V);
        for (let i = 0; i < V; i++)
          for (let j = 0; j < V; j++) data[i * V + j] = Math.hypot(pts[i]![0] - pts[j]![0], pts[i]![1] - pts[j]![1]);
        const C = { data, shape: [V, V] as const };
        const pq = tokenEmd(p, q, C).distance;
        const qp = tokenEmd(q, p, C).distance;
        const pr = tokenEmd(p, r, C).distance;
        const rq = tokenEmd(r, q, C).distance;
        assert.ok(Math.abs(pq - qp) <= 1e-12 * Math.max(1, pq));
        assert.ok(Math.abs(tokenEmd(p, p, C).distance) <= 1e-12);
        assert.ok(pq <= pr + rq + 1e-12);
      },
    ),
    { numRuns: 100 },
  );
});

test('a hand-checked transport: moving 0.5 of mass across a 3-token cost matrix', () => {
  // p = (1, 0, 0), q = (0, 0.5, 0.5): all mass from token 0; cost to 1 is 1, to 2 is 4 → 0.5·1 + 0.5·4
  const C = { data: Float64Array.from([0, 1, 4, 1, 0, 2, 4, 2, 0]), shape: [3, 3] as const };
  close(tokenEmd([1, 0, 0], [0, 0.5, 0.5], C).distance, 2.5);
  // unnormalised inputs are normalised first (scipy semantics)
  close(tokenEmd([2, 0, 0], [0, 3, 3], C).distance, 2.5);
  // p = (0.5, 0.5, 0), q = (0, 0.5, 0.5): optimal is 0→1 (0.5·1) and 1→2 (0.5·2) = 1.5, not 0→2 (0.5·4)
  close(tokenEmd([0.5, 0.5, 0], [0, 0.5, 0.5], C).distance, 1.5);
  assert.throws(
    () => tokenEmd([1, 0], [0, 1], C),
    isCode('shape_mismatch', /cost.shape \[3, 3\] must be \[V, V\] = \[2, 2\]/),
  );
  assert.throws(
    () => tokenEmd([1, 0, 0], [0, 1, 0], { data: Float64Array.from([0, -1, 4, 1, 0, 2, 4, 2, 0]), shape: [3, 3] }),
    isCode('invalid_argument', /cost\[0, 1\] = -1 is negative/),
  );
  assert.throws(() => tokenEmd([0, 0, 0], [0, 1, 0], C), isCode('invalid_argument', /p sums to 0/));
  // a cost function instead of a matrix
  close(tokenEmd([1, 0, 0], [0, 0.5, 0.5], (i, j) => C.data[i * 3 + j] as number).distance, 2.5);
});

test('Sinkhorn: never below the exact EMD, and within its reported error bound', () => {
  fc.assert(
    fc.property(
      fc
        .integer({ min: 2, max: 25 })
        .chain((V) =>
          fc.tuple(
            dist(V),
            dist(V),
            fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: V, maxLength: V }),
          ),
        ),
      ([p, q, x]) => {
        const C = lineCost(x);
        const exact = tokenEmd(p, q, C, { method: 'exact' }).distance;
        const s = tokenEmd(p, q, C, { method: 'sinkhorn', epsilon: 1e-2, maxIterations: 2000 });
        assert.equal(s.method, 'sinkhorn');
        assert.ok(s.distance >= exact - 1e-12, `${s.distance} < ${exact}`);
        assert.ok(s.distance <= exact + s.errorBound + 1e-12, `${s.distance} > ${exact} + ${s.errorBound}`);
      },
    ),
    { numRuns: 40 },
  );
});

test('Sinkhorn with subnormal costs: finite and equal to the exact EMD (fast-check counterexample)', () => {
  // x = [0, 0, 5e-324]: ε·max C underflowed to 0 and the plan was NaN before costs were rescaled.
  for (const [p, q, x] of [
    [
      [0, 0.0010000000000000002, 1e-40],
      [0, 0.0010000000000000002, 0],
      [0, 0, 5e-324],
    ],
    [
      [0.5, 0.5, 0],
      [0, 0.5, 0.5],
      [0, 1e-310, 3e-310],
    ],
  ] as const) {
    const C = lineCost([...x]);
    const exact = tokenEmd([...p], [...q], C, { method: 'exact' }).distance;
    const s = tokenEmd([...p], [...q], C, { method: 'sinkhorn' });
    assert.ok(Number.isFinite(s.distance) && Number.isFinite(s.errorBound), `${s.distance} ± ${s.errorBound}`);
    assert.ok(
      s.distance >= exact - 1e-300 && s.distance <= exact + s.errorBound + 1e-300,
      `${s.distance} vs exact ${exact} + ${s.errorBound}`,
    );
  }
});

test('topK keeps the mass-carrying tokens and reports the dropped mass', () => {
  const V = 50;
  const x = Array.from({ length: V }, (_, i) => i);
  const p = Array.from({ length: V }, (_, i) => (i < 3 ? 0.3 : 0.1 / (V - 3)));
  const q = Array.from({ length: V }, (_, i) => (i >= 2 && i < 5 ? 0.3 : 0.1 / (V - 3)));
  const r = tokenEmd(p, q, lineCost(x), { topK: 3 });
  assert.equal(r.rows, 5); // union of {0,1,2} and {2,3,4}, where p > 0
  close(r.droppedMass.p, 1 - (0.9 + 2 * (0.1 / 47)), 1e-12);
  // on the kept tokens the plan is exact: compare with the renormalised restriction
  const keep = [0, 1, 2, 3, 4];
  const pk = keep.map((i) => p[i]!);
  const qk = keep.map((i) => q[i]!);
  close(r.distance, tokenEmd1d(pk, qk, keep), 1e-12);
});
