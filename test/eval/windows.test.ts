import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import { planWindows } from '../../src/eval/windows.js';

test("chunk mode is llama-perplexity's: floor(L/ctx) chunks, scoring ctx/2 … ctx−2", () => {
  const p = planWindows('t', 22155, 128, { addsBos: true });
  assert.equal(p.windows.length, 173);
  assert.deepEqual(p.windows[1], { start: 128, length: 128, from: 64, bosFirst: true });
  assert.equal(p.tokensScored, 173 * 63);
  assert.equal(planWindows('t', 22155, 128, { addsBos: true, chunks: 20 }).windows.length, 20);
  assert.equal(planWindows('t', 22155, 127, { addsBos: false }).windows[0]!.from, 63);
});

test('chunk mode: too short names the token counts', () => {
  assert.throws(
    () => planWindows('t', 100, 128, { addsBos: true }),
    (e: unknown) =>
      e instanceof XentError &&
      e.code === 'too_short' &&
      /100 tokens/.test(e.message) &&
      /at least 128/.test(e.message),
  );
});

test('stride mode scores every token after the first exactly once, with ≤ ctx − S context (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 3000 }),
      fc.integer({ min: 4, max: 300 }),
      fc.integer({ min: 1, max: 299 }),
      (L, ctx, s0) => {
        const S = 1 + (s0 % (ctx - 1));
        const p = planWindows('t', L, ctx, { addsBos: false, stride: S });
        const seen = new Uint8Array(L);
        let prevEnd = 0;
        for (const [i, w] of p.windows.entries()) {
          assert.ok(w.length <= ctx && w.length >= 2);
          assert.equal(w.start, i * S);
          for (let k = w.from + 1; k < w.length; k++) seen[w.start + k]!++;
          // The first scored token of a later window has ctx − S tokens before it in the window.
          if (i > 0) assert.equal(w.from + 1, prevEnd - w.start);
          prevEnd = w.start + w.length;
        }
        assert.equal(seen[0], 0);
        for (let k = 1; k < L; k++) assert.equal(seen[k], 1, `token ${k}`);
        assert.equal(p.tokensScored, L - 1);
      },
    ),
    { numRuns: 300 },
  );
});

test('stride must lie below ctx', () => {
  assert.throws(
    () => planWindows('t', 1000, 128, { addsBos: false, stride: 128 }),
    (e: unknown) => e instanceof XentError && e.fields.arg === '--stride',
  );
});
