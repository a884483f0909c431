import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { firstInvalidUtf8 } from '../../src/core/utf8.js';
import { formatRunning, newAccumulator, summarize } from '../../src/eval/stats.js';

test("summarize: llama.cpp's PPL and ± formula, 95% CI, bits per byte", () => {
  const nll = [0.5, 1.5, 2.0, 0.25];
  const a = newAccumulator();
  for (const x of nll) {
    a.nllSum += x;
    a.nll2Sum += x * x;
    a.count++;
  }
  a.bytes = 10;
  a.top1Correct = 1;
  const s = summarize(a);
  const m = 4.25 / 4;
  const se = Math.sqrt(((0.25 + 2.25 + 4 + 0.0625) / 4 - m * m) / 3);
  assert.equal(s.perplexity, Math.exp(m));
  assert.ok(Math.abs(s.perplexity_pm - Math.exp(m) * se) < 1e-15);
  assert.ok(Math.abs(s.perplexity_ci95[1] - Math.exp(m + 1.96 * se)) < 1e-12);
  assert.ok(Math.abs(s.bits_per_byte - 4.25 / Math.LN2 / 10) < 1e-15);
  assert.equal(s.top1_accuracy, 0.25);
  assert.equal(formatRunning([114.14281, 101.76949]), '[1]114.1428,[2]101.7695');
});

test('firstInvalidUtf8 agrees with a fatal TextDecoder and names the offset (property)', () => {
  const dec = new TextDecoder('utf-8', { fatal: true });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), (junk, s) => {
      const good = new TextEncoder().encode(s);
      assert.equal(firstInvalidUtf8(good), -1);
      const b = new Uint8Array([...good, ...junk]);
      let valid = true;
      try {
        dec.decode(b);
      } catch {
        valid = false;
      }
      const at = firstInvalidUtf8(b);
      assert.equal(at === -1, valid);
      if (!valid) {
        // Everything before the offset decodes; the sequence at the offset does not.
        dec.decode(b.subarray(0, at));
        assert.ok(at >= good.length);
      }
    }),
    { numRuns: 500 },
  );
  assert.equal(firstInvalidUtf8(Uint8Array.of(0x61, 0xed, 0xa0, 0x80)), 1); // surrogate
  assert.equal(firstInvalidUtf8(Uint8Array.of(0xc0, 0x80)), 0); // overlong
});
