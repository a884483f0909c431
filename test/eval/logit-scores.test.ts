import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import { scoreLogitRows } from '../../src/models/gguf/logit-scores.js';

/** Straight from the definition, in float64: −log softmax(l)[t], rank = #{v: l_v > l_t}. */
function naive(row: number[], t: number): { nats: number; rank: number; top1: number; p1: number } {
  const z = row.reduce((a, x) => a + Math.exp(x), 0);
  const top1 = row.indexOf(Math.max(...row));
  return {
    nats: Math.log(z) - row[t]!,
    rank: row.filter((x) => x > row[t]!).length,
    top1,
    p1: Math.exp(row[top1]!) / z,
  };
}

test('scoreLogitRows matches the float64 definition (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }).chain((V) =>
        fc.tuple(
          fc.constant(V),
          fc.array(
            fc.tuple(
              fc.array(fc.float({ min: -30, max: 30, noNaN: true }), { minLength: V, maxLength: V }),
              fc.integer({ min: 0, max: V - 1 }),
            ),
            {
              minLength: 1,
              maxLength: 5,
            },
          ),
        ),
      ),
      ([V, rows]) => {
        const logits = new Float32Array(rows.flatMap(([r]) => r));
        const targets = Int32Array.from(rows.map(([, t]) => t));
        const s = scoreLogitRows('test', logits, V, targets, true);
        rows.forEach(([r, t], i) => {
          const row = Array.from(logits.subarray(i * V, (i + 1) * V));
          const want = naive(row, t);
          assert.ok(
            Math.abs(s.nats[i]! - want.nats) <= 1e-9 * Math.max(1, Math.abs(want.nats)),
            `nats ${s.nats[i]} vs ${want.nats}`,
          );
          assert.equal(s.rank[i], want.rank);
          assert.equal(s.top1[i], want.top1);
          assert.ok(Math.abs(s.top1Prob[i]! - want.p1) < 1e-12);
          // log-probabilities: exp sums to 1 and the true entry is −nats.
          const lp = Array.from(s.logProbs!.subarray(i * V, (i + 1) * V));
          assert.ok(Math.abs(lp.reduce((a, x) => a + Math.exp(x), 0) - 1) < 1e-5);
          assert.ok(Math.abs(lp[t]! + s.nats[i]!) < 1e-5 * Math.max(1, s.nats[i]!));
          void r;
        });
      },
    ),
    { numRuns: 200 },
  );
});

test('scoreLogitRows is invariant to adding a constant to a row (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: 2, maxLength: 50 }),
      fc.integer({ min: -1000, max: 1000 }),
      (row, c) => {
        const V = row.length;
        const a = scoreLogitRows('t', Float32Array.from(row), V, Int32Array.of(V - 1));
        const b = scoreLogitRows(
          't',
          Float32Array.from(row, (x) => x + c),
          V,
          Int32Array.of(V - 1),
        );
        assert.ok(Math.abs(a.nats[0]! - b.nats[0]!) < 1e-3, `${a.nats[0]} vs ${b.nats[0]}`); // float32 rounding of x + c
      },
    ),
  );
});

test('scoreLogitRows: -Infinity logits are masked, NaN and +Infinity stop with the row and token', () => {
  const ok = scoreLogitRows('t', Float32Array.of(0, -Infinity, 0, 1, 2, 3), 3, Int32Array.of(0, 2));
  assert.ok(Math.abs(ok.nats[0]! - Math.log(2)) < 1e-12);
  for (const bad of [NaN, Infinity]) {
    assert.throws(
      () => scoreLogitRows('op', Float32Array.of(0, 1, 2, 3, bad, 5), 3, Int32Array.of(0, 1)),
      (e: unknown) =>
        e instanceof XentError &&
        e.code === 'numerical_error' &&
        e.fields.row === 1 &&
        e.fields.column === 1 &&
        /row 1/.test(e.message),
    );
  }
  assert.throws(
    () => scoreLogitRows('op', Float32Array.of(0, 1), 2, Int32Array.of(2)),
    (e: unknown) => e instanceof XentError && e.code === 'index_out_of_range',
  );
});

test('the WebAssembly log-sum-exp path agrees with the float64 loop at real vocabulary sizes', () => {
  const V = 32000;
  const n = 6;
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 20 - 10;
  const logits = Float32Array.from({ length: n * V }, rnd);
  const targets = Int32Array.of(0, 5, 31999, 12345, 777, 2);
  const a = scoreLogitRows('t', logits, V, targets, true, 'js');
  const b = scoreLogitRows('t', logits, V, targets, true, 'wasm');
  for (let r = 0; r < n; r++) {
    assert.ok(Math.abs(a.nats[r]! - b.nats[r]!) < 1e-6 * Math.max(1, a.nats[r]!), `${a.nats[r]} vs ${b.nats[r]}`);
    assert.equal(a.rank[r], b.rank[r]);
    assert.equal(a.top1[r], b.top1[r]);
  }
  for (let i = 0; i < a.logProbs!.length; i += 997) assert.ok(Math.abs(a.logProbs![i]! - b.logProbs![i]!) < 1e-5);
  logits[3 * V + 17] = NaN;
  assert.throws(
    () => scoreLogitRows('t', logits, V, targets, false, 'wasm'),
    (e: unknown) => e instanceof XentError && e.fields.row === 3 && e.fields.column === 17,
  );
});
