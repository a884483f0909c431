/**
 * linearCrossEntropy's extra memory stays bounded whatever V (its own file: a fresh process, so
 * the WebAssembly memory measured here is the first and only growth of linearCrossEntropy's
 * kernel instance). The memory a WebAssembly.Memory holds is exact (its buffer's byteLength),
 * unlike process RSS, so this is a measurement, not an estimate.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearCrossEntropyWasmMemoryBytes } from '../../src/kernels/linear-cross-entropy.js';
import { linearCrossEntropy } from '../../src/loss/linear-cross-entropy.js';
import { nativeTrainForTests } from '../helpers/native-train.js';

const { skip: nativeSkip } = nativeTrainForTests();

function inputs(n: number, h: number, v: number) {
  const hidden = new Float32Array(n * h);
  const weight = new Float32Array(v * h);
  for (let i = 0; i < hidden.length; i++) hidden[i] = Math.sin(i) * 0.5;
  for (let i = 0; i < weight.length; i++) weight[i] = Math.cos(i * 0.7) * 0.1;
  const target = new Int32Array(n);
  for (let i = 0; i < n; i++) target[i] = (i * 7919) % v;
  return {
    hidden: { data: hidden, shape: [n, h] as [number, number] },
    weight: { data: weight, shape: [v, h] as [number, number] },
    target,
  };
}

test('WebAssembly: the kernel memory holds a block and copies of hidden, not [N, V] nor [V, H]', () => {
  const n = 64;
  const h = 64;
  const vb = 256;
  const v = 20000;
  const x = inputs(n, h, v);
  assert.equal(linearCrossEntropyWasmMemoryBytes(), 0);
  const r = linearCrossEntropy(x.hidden, x.weight, x.target, {
    grad: true,
    bias: new Float32Array(v),
    backend: 'wasm',
    vocabBlock: vb,
    threads: 2,
  });
  assert.equal(r.backend, 'wasm');
  // What the driver reserves: hidden, its packing and dHidden (3·N·H), the block (N·Vb), one
  // block of weight rows, its two packings and its dWeight (4·Vb·H), bias and dBias blocks,
  // targets and the per-row statistics and coefficients (f64).
  const bound = 4 * (3 * n * h + n * vb + 4 * vb * h) + 4 * vb + 8 * vb + 4 * n + 8 * 7 * n + 4;
  assert.ok(r.workspaceBytes <= bound, `workspace ${r.workspaceBytes} > ${bound}`);
  // The memory: the instance's initial 1 MiB and 64 KiB of static data, plus the workspace
  // (allocations 64-byte aligned, growth in 64 KiB pages).
  const memory = linearCrossEntropyWasmMemoryBytes();
  const limit = (1 << 20) + 65536 + bound + 16 * 64 + 65536;
  assert.ok(memory <= limit, `kernel memory ${memory} > ${limit}`);
  // … far below what holding the logits or the weight would take.
  assert.ok(memory < n * v * 4 && memory < v * h * 4);
  // A second call with 5× the vocabulary does not grow it.
  const y = inputs(n, h, 5 * v);
  linearCrossEntropy(y.hidden, y.weight, y.target, { grad: true, backend: 'wasm', vocabBlock: vb, threads: 2 });
  assert.equal(linearCrossEntropyWasmMemoryBytes(), memory);
});

test('native: the block the addon holds is [N, Vb] float32, whatever V', { skip: nativeSkip }, () => {
  const n = 32;
  const h = 16;
  const sizes = [1000, 30000].map((v) => {
    const x = inputs(n, h, v);
    return linearCrossEntropy(x.hidden, x.weight, x.target, { grad: true, backend: 'native', vocabBlock: 128 })
      .workspaceBytes;
  });
  assert.deepEqual(sizes, [n * 128 * 4, n * 128 * 4]);
});
