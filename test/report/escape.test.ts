import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { displayText, escapeHtml, jsonForScript } from '../../src/report/escape.js';

/** Undoes escapeHtml's five entities (the inverse a browser applies when parsing). */
function unescapeHtml(s: string): string {
  return s.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!,
  );
}

/** True when a string has no lone surrogate (String.prototype.isWellFormed, not typed in ES2022 lib). */
function wellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

test('escapeHtml: hostile markup becomes inert text', () => {
  assert.equal(escapeHtml('<script>alert(1)</script>'), '&lt;script&gt;alert(1)&lt;/script&gt;');
  assert.equal(escapeHtml(`"><img src=x onerror='x'>`), '&quot;&gt;&lt;img src=x onerror=&#39;x&#39;&gt;');
  assert.equal(escapeHtml('a & b'), 'a &amp; b');
  assert.equal(escapeHtml('&amp;'), '&amp;amp;');
});

test('escapeHtml: output never contains markup characters, and unescapes to displayText(input)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const e = escapeHtml(s);
      assert.ok(!/[<>"']/.test(e));
      assert.ok(!/&(?!(amp|lt|gt|quot|#39);)/.test(e), 'every & starts an entity');
      assert.equal(unescapeHtml(e), displayText(s));
    }),
    { numRuns: 500 },
  );
});

test('displayText: lone surrogates become U+FFFD, pairs survive, controls become visible', () => {
  assert.equal(displayText('a\ud800b'), 'a\ufffdb');
  assert.equal(displayText('\udfffx\ud83d'), '\ufffdx\ufffd');
  assert.equal(displayText('😀'), '😀');
  assert.equal(displayText('\u0000\u0007\t\n\r'), '\u2400\u2407\t\n\r');
  assert.equal(displayText('\u007f\u009b'), '\u2421\ufffd');
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const d = displayText(s);
      assert.ok(wellFormed(d));
      // eslint-disable-next-line no-control-regex
      assert.ok(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(d));
      assert.equal(d.length, s.length, 'each replaced UTF-16 unit becomes one unit');
      if (wellFormed(s) && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(s)) assert.equal(d, s);
    }),
    { numRuns: 500 },
  );
});

test('jsonForScript: round-trips and cannot close its <script> element', () => {
  const hostile = { t: ['</script><script>x()</script>', '<!--', '\u2028', '&lt;', '\ud800'] };
  const j = jsonForScript(hostile);
  assert.ok(!/[<>&\u2028\u2029]/.test(j));
  assert.deepEqual(JSON.parse(j), hostile);
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const s = jsonForScript(v);
      assert.ok(!/<\/|<!--|[<>&]/.test(s));
      assert.deepEqual(JSON.parse(s), JSON.parse(JSON.stringify(v)));
    }),
    { numRuns: 300 },
  );
});
