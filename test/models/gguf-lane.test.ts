/**
 * How the native engine sizes and shares several llama.cpp contexts
 * (src/models/gguf/gguf-lane.ts): which models get two, and every thread given out, none
 * twice, no context without one. The contexts themselves are tested on real models in
 * gguf-batch.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoContexts, laneThreads } from '../../src/models/gguf/gguf-lane.js';

test('laneThreads: the threads shared as evenly as whole threads allow, the first contexts taking the remainder', () => {
  assert.deepEqual(laneThreads(2, 2), [1, 1]);
  assert.deepEqual(laneThreads(3, 2), [2, 1]);
  assert.deepEqual(laneThreads(8, 4), [2, 2, 2, 2]);
  assert.deepEqual(laneThreads(5, 4), [2, 1, 1, 1]);
  assert.deepEqual(laneThreads(4, 1), [4]);
});

test('laneThreads: never more contexts than threads (a context needs one)', () => {
  assert.deepEqual(laneThreads(1, 2), [1]);
  assert.deepEqual(laneThreads(3, 4), [1, 1, 1]);
  for (let t = 1; t <= 9; t++)
    for (let n = 1; n <= 4; n++) {
      const s = laneThreads(t, n);
      assert.equal(
        s.reduce((a, b) => a + b, 0),
        t,
        `${t} threads, ${n} contexts: all given out`,
      );
      assert.ok(
        s.every((x) => x >= 1),
        `${t}, ${n}: every context has a thread`,
      );
      assert.equal(s.length, Math.min(t, n));
    }
});

test('autoContexts: two up to a 512 MiB file with at most 65536 tokens, else one', () => {
  const MiB = 2 ** 20;
  assert.equal(autoContexts({ fileBytes: 1185376, vocabSize: 512 }), 2, 'stories260K');
  assert.equal(autoContexts({ fileBytes: 512 * MiB, vocabSize: 65536 }), 2);
  assert.equal(autoContexts({ fileBytes: 512 * MiB + 1, vocabSize: 32000 }), 1, 'a larger file');
  assert.equal(autoContexts({ fileBytes: 300 * MiB, vocabSize: 65537 }), 1, 'a larger vocabulary');
  assert.equal(autoContexts({ fileBytes: 300 * MiB, vocabSize: undefined }), 1, 'no tokenizer: unknown V');
});
