/**
 * The kernels' runtime: the embedded module is the one the build compiled, every top-level
 * AssemblyScript entry has its generated module, every module's static data lies below the
 * heap, the allocator hands out disjoint aligned blocks and reuses freed ones, wasm-resident
 * arrays are used without copies, and the worker pool stops cleanly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { crossEntropy } from '../../src/index.js';
import { WASM_BASE64, WASM_SHA256 } from '../../src/kernels/generated/ce.wasm.js';
import { WASM_BASE64 as RELAXED_BASE64 } from '../../src/kernels/generated/ce-relaxed.wasm.js';
import { WASM_BASE64 as KLD_BASE64 } from '../../src/kernels/generated/kld.wasm.js';
import { WASM_BASE64 as LCE_BASE64 } from '../../src/kernels/generated/lce.wasm.js';
import { WASM_BASE64 as LCE_RELAXED_BASE64 } from '../../src/kernels/generated/lce-relaxed.wasm.js';
import { WASM_BASE64 as TRAIN_BASE64 } from '../../src/kernels/generated/train-kernels.wasm.js';
import { WASM_BASE64 as TRAIN_RELAXED_BASE64 } from '../../src/kernels/generated/train-kernels-relaxed.wasm.js';
import { kernelWorkerCount, shutdownKernelWorkers } from '../../src/kernels/pool.js';
import {
  allocFloat32,
  freeFloat32,
  HEAP_BASE,
  isKernelResident,
  kernelMemoryBytes,
  kernelRuntime,
  kernelsAvailable,
} from '../../src/kernels/runtime.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { randomLogits, randomTargets, rng } from './helpers.js';

test('the embedded module matches its recorded hash (and dist/kernels/ce.wasm when built); every entry file is compiled', () => {
  const bytes = Buffer.from(WASM_BASE64, 'base64');
  assert.equal(createHash('sha256').update(bytes).digest('hex'), WASM_SHA256);
  const dist = join(REPO_ROOT, 'dist', 'kernels', 'ce.wasm');
  if (existsSync(dist)) assert.equal(createHash('sha256').update(readFileSync(dist)).digest('hex'), WASM_SHA256);
  const entries = readdirSync(join(REPO_ROOT, 'src', 'kernels', 'assembly')).filter((f) => f.endsWith('.ts'));
  for (const f of entries)
    assert.ok(
      existsSync(join(REPO_ROOT, 'src', 'kernels', 'generated', f.replace(/\.ts$/, '.wasm.ts'))),
      `no generated module for ${f}`,
    );
  assert.ok(WebAssembly.validate(bytes));
  assert.ok(kernelsAvailable());
});

test('allocFloat32: zeroed, 64-byte aligned, disjoint views on the shared memory; freed blocks are reused and coalesced', () => {
  const a = allocFloat32(1000);
  const b = allocFloat32(3);
  const c = allocFloat32(70000);
  for (const x of [a, b, c]) {
    assert.ok(isKernelResident(x));
    assert.equal(x.byteOffset % 64, 0);
    assert.ok(x.every((v) => v === 0));
  }
  assert.ok(a.byteOffset + a.byteLength <= b.byteOffset || b.byteOffset + b.byteLength <= a.byteOffset);
  assert.ok(b.byteOffset + b.byteLength <= c.byteOffset || c.byteOffset + c.byteLength <= b.byteOffset);
  assert.ok(!isKernelResident(new Float32Array(4)));
  a.fill(1);
  c.fill(2);
  const aAt = a.byteOffset;
  freeFloat32(a);
  freeFloat32(b);
  const d = allocFloat32(1003); // fits in the coalesced a + b hole
  assert.equal(d.byteOffset, aAt);
  assert.ok(d.every((v) => v === 0));
  assert.ok(c.every((v) => v === 2));
  freeFloat32(c);
  freeFloat32(d);
  assert.throws(() => allocFloat32(-1), RangeError);
  const before = kernelMemoryBytes();
  const big = allocFloat32(5_000_000); // grows the memory
  assert.ok(kernelMemoryBytes() >= before);
  assert.ok(isKernelResident(big)); // a view on the grown buffer is still recognised
  freeFloat32(big);
  assert.equal(kernelRuntime().heap.usedBytes, 0);
});

test('wasm-resident logits and out: no scratch copy of the N×V arrays (extra heap use is O(N))', () => {
  const n = 16;
  const v = 4099;
  const x = allocFloat32(n * v);
  x.set(randomLogits(rng(31), n, v));
  const out = allocFloat32(n * v);
  const t = randomTargets(rng(32), n, v);
  const heap = kernelRuntime().heap;
  const reserved = kernelMemoryBytes();
  const r = crossEntropy({ data: x, shape: [n, v] }, t, { out, backend: 'wasm', threads: 2 });
  assert.equal(r.grad, out);
  // The heap did not need to grow for a copy; everything allocated for the call was released.
  assert.equal(kernelMemoryBytes(), reserved);
  assert.equal(heap.usedBytes, 2 * Math.ceil((n * v * 4) / 64) * 64);
  freeFloat32(x);
  freeFloat32(out);
});

test('worker pool: workers start on demand and shut down cleanly; later calls restart them', async () => {
  const x = randomLogits(rng(33), 8, 5000);
  const t = randomTargets(rng(34), 8, 5000);
  const a = crossEntropy({ data: x, shape: [8, 5000] }, t, { backend: 'wasm', threads: 3 }).loss;
  assert.ok(kernelWorkerCount() >= 2);
  await shutdownKernelWorkers();
  assert.equal(kernelWorkerCount(), 0);
  const b = crossEntropy({ data: x, shape: [8, 5000] }, t, { backend: 'wasm', threads: 3 }).loss;
  assert.ok(Object.is(a, b));
  await shutdownKernelWorkers();
});

/** [offset, length] of every active data segment with an i32.const offset (wasm binary format §5.5.14). */
function dataSegments(bytes: Uint8Array): Array<[number, number]> {
  let p = 8;
  const u32 = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++] as number;
      r += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return r;
    }
  };
  const out: Array<[number, number]> = [];
  while (p < bytes.length) {
    const id = bytes[p++] as number;
    const size = u32();
    const end = p + size;
    if (id === 11) {
      const count = u32();
      for (let i = 0; i < count; i++) {
        const kind = u32();
        assert.equal(kind, 0, 'only active segments in memory 0 are expected');
        assert.equal(bytes[p++], 0x41, 'i32.const offset');
        let off = 0;
        let shift = 0;
        for (;;) {
          const b = bytes[p++] as number;
          off += (b & 0x7f) * 2 ** shift;
          shift += 7;
          if (b < 0x80) break;
        }
        assert.equal(bytes[p++], 0x0b, 'end of the offset expression');
        const len = u32();
        out.push([off, len]);
        p += len;
      }
    }
    p = end;
  }
  return out;
}

test("every module's static data lies below the heap (the allocator starts at 64 KiB)", () => {
  assert.equal(HEAP_BASE, 65536);
  const modules: Array<[string, string]> = [
    ['ce', WASM_BASE64],
    ['ce-relaxed', RELAXED_BASE64],
    ['train-kernels', TRAIN_BASE64],
    ['train-kernels-relaxed', TRAIN_RELAXED_BASE64],
    ['kld', KLD_BASE64],
    ['lce', LCE_BASE64],
    ['lce-relaxed', LCE_RELAXED_BASE64],
  ];
  // Every generated module is in the list.
  const generated = readdirSync(join(REPO_ROOT, 'src', 'kernels', 'generated')).filter((f) => f.endsWith('.wasm.ts'));
  assert.deepEqual(generated.map((f) => f.replace(/\.wasm\.ts$/, '')).sort(), modules.map(([n]) => n).sort());
  for (const [name, b64] of modules) {
    const segs = dataSegments(Buffer.from(b64, 'base64'));
    for (const [off, len] of segs)
      assert.ok(off + len <= 65536, `${name}: data segment [${off}, ${off + len}) overlaps the heap`);
  }
});

test('XENT_WASM_SIMD=plain and XENT_WASM_RELAXED=0 each force the plain build of every module family', () => {
  const src = `import { enableRelaxedSimd } from './src/kernels/relaxed-simd.ts';
enableRelaxedSimd();
const rt = await import('./src/kernels/runtime.ts');
const { TrainKernels } = await import('./src/kernels/train-kernels.ts');
const { crossEntropy } = await import('./src/index.ts');
crossEntropy({ data: new Float32Array(4096 * 8).fill(0.5), shape: [4096, 8] }, new Int32Array(4096), { backend: 'wasm' });
const k = new TrainKernels({ bytes: 0, threads: 1 });
console.log(JSON.stringify({ ce: rt.kernelBuild(), train: k.relaxed ? 'relaxed-simd' : 'simd' }));
k.close();`;
  const run = (env: Record<string, string>): { ce: string; train: string } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, XENT_WASM_SIMD: '', XENT_WASM_RELAXED: '', ...env },
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ce: string; train: string };
  };
  assert.deepEqual(run({}), { ce: 'relaxed-simd', train: 'relaxed-simd' });
  assert.deepEqual(run({ XENT_WASM_SIMD: 'plain' }), { ce: 'simd', train: 'simd' });
  assert.deepEqual(run({ XENT_WASM_RELAXED: '0' }), { ce: 'simd', train: 'simd' });
});
