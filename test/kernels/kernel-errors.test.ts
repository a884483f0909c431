/**
 * The kernels' one error contract (src/kernels/kernel-error.ts), for every module family (the
 * losses' `ce`, the trainer's `train`, the KL divergence's `kld`): a trap on the calling thread
 * or in a worker makes the call throw an XentError 'kernel_error' whose op, message and fields
 * name the module and the kernel and carry the trap's message; nothing is returned; and the one
 * worker pool keeps serving correct results afterwards. The trap comes from each module's
 * test-only export `trapForTesting` (src/kernels/assembly/lib/trap-for-testing.ts): part
 * `trapPart` traps with `unreachable` (kind 0) or an out-of-bounds load (kind 1).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { XentError } from '../../src/core/errors.js';
import { crossEntropy } from '../../src/index.js';
import { trapForTesting } from '../../src/kernels/ce-kernels.js';
import { kldKernels } from '../../src/kernels/kld.js';
import { baseRowWidth, kldRowExact, newKldRow, quantizeBaseRow } from '../../src/kernels/kld-rows.js';
import { lceInstance } from '../../src/kernels/linear-cross-entropy.js';
import { kernelWorkerCount, shutdownKernelWorkers } from '../../src/kernels/pool.js';
import { TrainKernels } from '../../src/kernels/train-kernels.js';
import { linearCrossEntropy } from '../../src/loss/linear-cross-entropy.js';
import { randomLogits, randomTargets, rng } from './helpers.js';

type Trap = (a: { trapPart: number; kind: 0 | 1 }, threads: number) => void;

/** Asserts that `call` throws the kernel error of `module`'s trapForTesting, trapped in `part` of `parts`. */
function assertTrap(call: () => void, module: string, part: number, parts: number, trap: RegExp): void {
  let returned = false;
  assert.throws(
    () => {
      call();
      returned = true;
    },
    (e: unknown) => {
      assert.ok(e instanceof XentError, `an XentError, got ${String(e)}`);
      assert.equal(e.code, 'kernel_error');
      assert.equal(e.op, `${module}.trapForTesting`);
      assert.equal(e.fields.module, module);
      assert.equal(e.fields.kernel, 'trapForTesting');
      assert.equal(e.fields.part, part);
      assert.equal(e.fields.parts, parts);
      assert.equal(e.fields.thread, part === 0 ? 'calling' : 'worker');
      assert.match(String(e.fields.trap), trap);
      assert.match(e.message, new RegExp(`^${module}\\.trapForTesting: `));
      assert.match(e.message, part === 0 ? /the calling thread/ : new RegExp(`worker thread ${part}`));
      assert.match(e.message, trap);
      return true;
    },
  );
  assert.equal(returned, false);
}

/** Every way one family's kernel can trap: each thread, each kind, one and two threads. */
function checkFamily(module: string, run: Trap): void {
  assertTrap(() => run({ trapPart: 0, kind: 0 }, 2), module, 0, 2, /unreachable/);
  assertTrap(() => run({ trapPart: 1, kind: 0 }, 2), module, 1, 2, /unreachable/);
  assertTrap(() => run({ trapPart: 0, kind: 1 }, 2), module, 0, 2, /out of bounds/);
  assertTrap(() => run({ trapPart: 1, kind: 1 }, 2), module, 1, 2, /out of bounds/);
  assertTrap(() => run({ trapPart: 0, kind: 0 }, 1), module, 0, 1, /unreachable/);
  // No part traps: the call returns, and no report of the earlier traps is left behind.
  run({ trapPart: 5, kind: 0 }, 2);
  run({ trapPart: 5, kind: 1 }, 1);
}

test('ce: a trap in the calling thread or a worker throws the kernel XentError; the losses still agree with the float64 path after it', async () => {
  await shutdownKernelWorkers();
  checkFamily('ce', trapForTesting);
  assert.equal(kernelWorkerCount(), 1, 'the pool kept its worker');
  const n = 32;
  const v = 3001;
  const x = randomLogits(rng(71), n, v);
  const t = randomTargets(rng(72), n, v);
  const js = crossEntropy({ data: Float64Array.from(x), shape: [n, v] }, t, { backend: 'js' }).loss as number;
  const one = crossEntropy({ data: x, shape: [n, v] }, t, { backend: 'wasm', threads: 1 }).loss as number;
  const two = crossEntropy({ data: x, shape: [n, v] }, t, { backend: 'wasm', threads: 2 }).loss as number;
  assert.ok(Math.abs(two - js) <= 1e-5 * Math.abs(js), `wasm ${two} vs float64 ${js}`);
  assert.ok(Object.is(one, two), 'threads changed a bit');
});

test('train: a trap in the calling thread or a worker throws the kernel XentError; mm is still exact on both threads after it', () => {
  const k = new TrainKernels({ bytes: 1 << 20, threads: 2 });
  try {
    assert.equal(k.threads, 2);
    checkFamily('train', (a, threads) => {
      if (threads === k.threads) k.trapForTesting(a);
      else {
        const one = new TrainKernels({ bytes: 0, threads });
        try {
          one.trapForTesting(a);
        } finally {
          one.close();
        }
      }
    });
    assert.equal(kernelWorkerCount(), 1, 'the trainer runs on the same pool');
    // After the traps: a product with both threads, against float64 (|error| ≤ (K + 1)·2⁻²⁴·Σ|terms|).
    const M = 37;
    const K = 70;
    const N = 45;
    const r = rng(73);
    const pa = k.alloc(M * K);
    const pb = k.alloc(K * N);
    const pp = k.alloc(TrainKernels.packedSize(K, N));
    const po = k.alloc(M * N);
    const a = k.f32(pa, M * K).map(() => r() - 0.5);
    const b = k.f32(pb, K * N).map(() => r() - 0.5);
    k.f32(pa, M * K).set(a);
    k.f32(pb, K * N).set(b);
    k.packB({ packed: pp, b: pb, strideK: N, strideN: 1, K, N });
    k.mm({ out: po, a: pa, sam: K, sak: 1, packedB: pp, bias: 0, M, K, N, accumulate: false });
    const got = k.f32(po, M * N);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        let mag = 0;
        for (let i = 0; i < K; i++) {
          s += a[m * K + i]! * b[i * N + n]!;
          mag += Math.abs(a[m * K + i]! * b[i * N + n]!);
        }
        assert.ok(Math.abs(got[m * N + n]! - s) <= (K + 1) * 2 ** -24 * mag, `out[${m}, ${n}]`);
      }
  } finally {
    k.close();
  }
});

test('kld: a trap in the calling thread or a worker throws the kernel XentError; the row sums still agree with the float64 path after it', () => {
  const kk = kldKernels();
  assert.ok(kk, 'the kld kernels load');
  checkFamily('kld', (a, threads) => kk.trapForTesting(a, threads));
  // The calling-thread entry point that returns a value (instance.call) has the same contract.
  assertTrap(() => kk.instance.call('trapForTesting', 0, 1, 0, 1), 'kld', 0, 1, /out of bounds/);
  assert.equal(kernelWorkerCount(), 1, 'the kld module runs on the same pool');
  const V = 4099;
  const r = rng(74);
  const lse = (x: Float32Array): Float32Array => {
    let m = -Infinity;
    for (const y of x) m = Math.max(m, y);
    let s = 0;
    for (const y of x) s += Math.exp(y - m);
    return x.map((y) => y - m - Math.log(s));
  };
  const base = lse(randomLogits(r, 1, V));
  const model = lse(randomLogits(r, 1, V));
  const ra = newKldRow();
  const rb = newKldRow();
  kldRowExact(base, 0, model, 0, V, 7, ra, false, 0);
  kk.kldRowExact(base, 0, model, 0, V, 7, rb);
  assert.ok(Math.abs(rb.kld - ra.kld) < 1e-6 * Math.abs(ra.kld), `exact KLD ${rb.kld} vs ${ra.kld}`);
  const nv = baseRowWidth(V);
  const qa = new Uint16Array(nv);
  const qb = new Uint16Array(nv);
  quantizeBaseRow(base, 0, V, 7, qa, new Float32Array(qa.buffer), 0);
  kk.quantizeBaseRow(base, 0, V, 7, qb, new Float32Array(qb.buffer), 0);
  assert.deepEqual(qb.subarray(4), qa.subarray(4), 'the same quantised values');
});

test('lce: a trap in the calling thread or a worker throws the kernel XentError; linearCrossEntropy still agrees with the float64 path after it', () => {
  const inst = lceInstance();
  checkFamily('lce', (a, threads) =>
    inst.run('trapForTesting', threads, (part, parts) => [a.trapPart, a.kind, part, parts]),
  );
  const r = rng(91);
  const [N, H, V] = [9, 12, 301];
  const hidden = { data: Float32Array.from({ length: N * H }, () => r() - 0.5), shape: [N, H] as [number, number] };
  const weight = { data: Float32Array.from({ length: V * H }, () => r() - 0.5), shape: [V, H] as [number, number] };
  const target = randomTargets(r, N, V);
  const js = linearCrossEntropy(hidden, weight, target, { backend: 'js', grad: true });
  const wasm = linearCrossEntropy(hidden, weight, target, { backend: 'wasm', grad: true, threads: 2, vocabBlock: 64 });
  assert.ok(Math.abs(wasm.loss - js.loss) <= 1e-5 * Math.abs(js.loss));
  const dh = js.dHidden as Float32Array;
  const scale = Math.max(...Array.from(dh, Math.abs));
  for (const [i, g] of (wasm.dHidden as Float32Array).entries())
    assert.ok(Math.abs(g - dh[i]!) <= 1e-5 * (Math.abs(dh[i]!) + scale));
});
