import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { base64, cspHash, sha256 } from '../../src/report/sha256.js';

test('sha256: FIPS 180-4 test vectors', () => {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  assert.equal(
    hex(sha256(new TextEncoder().encode('abc'))),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
  assert.equal(hex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(
    hex(sha256(new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
});

test('sha256 and base64 equal node:crypto on random bytes, including every padding boundary', () => {
  for (let n = 0; n <= 130; n++) {
    const b = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255);
    assert.equal(base64(sha256(b)), createHash('sha256').update(b).digest('base64'), `length ${n}`);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      assert.equal(base64(sha256(b)), createHash('sha256').update(b).digest('base64'));
      assert.equal(base64(b), Buffer.from(b).toString('base64'));
    }),
    { numRuns: 300 },
  );
});

test('cspHash: the CSP source form of a UTF-8 text', () => {
  const t = 'console.log("π ≈ 3.14")';
  assert.equal(cspHash(t), `'sha256-${createHash('sha256').update(t, 'utf8').digest('base64')}'`);
});
