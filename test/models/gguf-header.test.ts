import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import { readGgufHeader } from '../../src/models/gguf/gguf-header.js';
import { skipUnlessShared } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'xent-gguf-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const isInvalidFile = (re: RegExp) => (e: unknown) =>
  e instanceof XentError && e.code === 'invalid_file' && re.test(e.message);

test('reads the shared models: architecture, training context, vocabulary, tensor table ending at the file end', {
  skip: skipUnlessShared('models/stories260K.gguf'),
}, () => {
  const cases: [string, number, number, number][] = [
    ['stories260K.gguf', 2048, 512, 48],
    ['stories260K-bf16.gguf', 2048, 512, 48],
    ['llama-2-tiny-random.gguf', 4096, 32000, 12],
  ];
  for (const [f, ctx, V, nt] of cases) {
    const h = readGgufHeader(sharedPath('models', f)!);
    assert.equal(h.architecture, 'llama');
    assert.equal(h.contextLength, ctx);
    assert.equal(h.vocabSize, V);
    assert.equal(h.tensors.length, nt);
    // Every tensor's size is known and the last one ends exactly at the end of the file.
    const end = Math.max(...h.tensors.map((t) => h.dataOffset + t.offset + t.bytes!));
    assert.equal(end, h.fileBytes, f);
  }
});

test('refuses a missing file, a non-GGUF file and a tiny file', () => {
  assert.throws(() => readGgufHeader(join(dir, 'nope.gguf')), isInvalidFile(/does not exist/));
  const txt = join(dir, 'x.gguf');
  writeFileSync(txt, 'hello world, this is not a model at all');
  assert.throws(() => readGgufHeader(txt), isInvalidFile(/not a GGUF model: it starts with "hell"/));
  writeFileSync(txt, 'GGUF');
  assert.throws(() => readGgufHeader(txt), isInvalidFile(/shorter than a GGUF header/));
});

test('every truncation of a real model is refused before native code (property)', {
  skip: skipUnlessShared('models/stories260K.gguf'),
}, () => {
  const full = readFileSync(sharedPath('models', 'stories260K.gguf')!);
  const f = join(dir, 'trunc.gguf');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: full.length - 1 }), (n) => {
      writeFileSync(f, full.subarray(0, n));
      assert.throws(
        () => readGgufHeader(f),
        (e: unknown) => e instanceof XentError && e.code === 'invalid_file',
      );
    }),
    { numRuns: 60 },
  );
  // Corrupt counts and string lengths in an otherwise complete file.
  const bad = Buffer.from(full);
  bad.writeBigUInt64LE(1n << 40n, 8); // tensor_count
  writeFileSync(f, bad);
  assert.throws(() => readGgufHeader(f), isInvalidFile(/cannot fit/));
  const bad2 = Buffer.from(full);
  bad2.writeBigUInt64LE(1n << 30n, 24); // length of the first key
  writeFileSync(f, bad2);
  assert.throws(() => readGgufHeader(f), isInvalidFile(/claims|past the end/));
  const bad3 = Buffer.from(full);
  bad3.writeUInt32LE(7, 4); // version
  writeFileSync(f, bad3);
  assert.throws(() => readGgufHeader(f), isInvalidFile(/version 7/));
});

test('a corrupt length inside a skipped vocabulary names the element and its byte offset', {
  skip: skipUnlessShared('models/stories260K.gguf'),
}, () => {
  const full = readFileSync(sharedPath('models', 'stories260K.gguf')!);
  const f = join(dir, 'vocab.gguf');
  // tokenizer.ggml.tokens (512 strings, more than the 64 kept): key, type 9, element type 8,
  // count, then each element's u64 length and bytes. Element 100's length field:
  const key = 'tokenizer.ggml.tokens';
  let at = full.indexOf(Buffer.from(key)) + key.length;
  assert.equal(full.readUInt32LE(at), 9, 'an array');
  assert.equal(full.readUInt32LE(at + 4), 8, 'of strings');
  at += 16;
  for (let j = 0; j < 100; j++) at += 8 + Number(full.readBigUInt64LE(at));
  const past = Buffer.from(full);
  past.writeBigUInt64LE(BigInt(full.length), at);
  writeFileSync(f, past);
  assert.throws(
    () => readGgufHeader(f),
    isInvalidFile(new RegExp(`tokenizer\\.ggml\\.tokens\\[100\\] at byte ${at + 8} runs past the end of the file`)),
  );
  const huge = Buffer.from(full);
  huge.writeBigUInt64LE(1n << 60n, at);
  writeFileSync(f, huge);
  assert.throws(
    () => readGgufHeader(f),
    isInvalidFile(
      new RegExp(`length of tokenizer\\.ggml\\.tokens\\[100\\] = ${1n << 60n} at byte ${at} is impossibly large`),
    ),
  );
});
