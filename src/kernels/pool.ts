/**
 * A synchronous worker pool for the kernels: the main thread splits rows into T contiguous
 * parts, wakes T − 1 workers (each holding its own instance of the same module over the
 * same shared memory), computes part 0 itself, then blocks in `Atomics.wait` until the
 * workers are done. The public losses stay synchronous and use T cores.
 *
 * Each row is computed by exactly one thread with the same code, and cross-row reductions
 * are done afterwards on the main thread in row order, so results are bit-identical for
 * every thread count.
 *
 * Node only: workers come from `node:worker_threads`, reached through
 * `process.getBuiltinModule` (Node ≥ 20.16) so that the library keeps no static Node
 * import and bundles for browsers. Browsers' main thread cannot `Atomics.wait`; there (and
 * in older Node) everything runs on the calling thread.
 *
 * Control block (Int32Array over a SharedArrayBuffer):
 *   [0] parts still running  [1] workers ready  [2] worker failures
 *   [8 + i] worker i state: 0 idle, 1 run, 2 quit
 * Arguments: Float64Array, 16 slots per worker: [kernel index, argc, args…].
 */

import type { KernelName, KernelRuntime } from './runtime.js';
import { KERNEL_NAMES, kernelRuntime } from './runtime.js';

const MAX_WORKERS = 63;
const SLOTS = 16;
const START_TIMEOUT_MS = 15000;

export interface WorkerLike {
  unref(): void;
  terminate(): Promise<number>;
  on(event: string, fn: (...a: unknown[]) => void): unknown;
}
export interface WorkerThreadsModule {
  Worker: new (code: string, options: { eval: true; workerData: unknown }) => WorkerLike;
  isMainThread: boolean;
}
interface OsModule {
  availableParallelism?: () => number;
  cpus(): unknown[];
}

// Plain JavaScript run by each worker (eval'd: no file to locate in dist/ or under tsx).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, args, index, names } = workerData;
let fns;
try {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  fns = names.map((n) => inst.exports[n]);
} catch (e) {
  Atomics.add(ctrl, 2, 1);
}
Atomics.add(ctrl, 1, 1);
Atomics.notify(ctrl, 1);
const S = 8 + index, base = index * ${SLOTS};
for (;;) {
  Atomics.wait(ctrl, S, 0);
  if (Atomics.load(ctrl, S) === 2) break;
  try {
    const f = fns[args[base]];
    const n = args[base + 1];
    const a = [];
    for (let k = 0; k < n; k++) a.push(args[base + 2 + k]);
    f(...a);
  } catch (e) {
    Atomics.add(ctrl, 2, 1);
  }
  Atomics.store(ctrl, S, 0);
  if (Atomics.sub(ctrl, 0, 1) === 1) Atomics.notify(ctrl, 0);
}
`;

interface Pool {
  workers: WorkerLike[];
  ctrl: Int32Array;
  args: Float64Array;
}

let pool: Pool | null = null;
let kernelCalls = 0;

/** How many kernel runs this process has made (tests use it to prove a call took the WebAssembly path). */
export function kernelCallCount(): number {
  return kernelCalls;
}
let poolBroken = '';

/** A Node built-in module without a static import (undefined outside Node or before Node 20.16). */
export function builtin<T>(name: string): T | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  try {
    return p?.getBuiltinModule?.(name) as T | undefined;
  } catch {
    return undefined;
  }
}

/** Whether the calling thread may block in Atomics.wait and spawn workers (Node main or worker thread). */
function canUseThreads(): boolean {
  return builtin<WorkerThreadsModule>('node:worker_threads') !== undefined && poolBroken === '';
}

/** Cores available to this process (1 where unknown). */
export function availableCores(): number {
  const os = builtin<OsModule>('node:os');
  if (os) return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}

/** The thread count actually used for a request of `threads` (undefined: all cores, at most 8). */
export function resolveThreads(threads: number | undefined): number {
  const want = threads ?? Math.min(availableCores(), 8);
  if (want <= 1 || !canUseThreads()) return 1;
  return Math.min(want, MAX_WORKERS + 1);
}

function ensureWorkers(rt: KernelRuntime, count: number): Pool | null {
  const wt = builtin<WorkerThreadsModule>('node:worker_threads');
  if (!wt) return null;
  if (pool === null) {
    pool = {
      workers: [],
      ctrl: new Int32Array(new SharedArrayBuffer(4 * (8 + MAX_WORKERS + 1))),
      args: new Float64Array(new SharedArrayBuffer(8 * SLOTS * (MAX_WORKERS + 1))),
    };
  }
  const p = pool;
  const before = p.workers.length;
  if (before >= count) return p;
  const names = KERNEL_NAMES.slice();
  for (let i = before; i < count; i++) {
    const w = new wt.Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: rt.module, memory: rt.memory, ctrl: p.ctrl, args: p.args, index: i, names },
    });
    w.unref(); // idle workers never keep the process alive
    w.on('error', () => {
      poolBroken = 'a kernel worker failed';
    });
    p.workers.push(w);
  }
  // Wait (synchronously) until the new workers have instantiated the module.
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const ready = Atomics.load(p.ctrl, 1);
    if (ready >= count) break;
    const left = deadline - Date.now();
    if (left <= 0) {
      poolBroken = `kernel workers did not start within ${START_TIMEOUT_MS} ms`;
      return null;
    }
    Atomics.wait(p.ctrl, 1, ready, Math.min(left, 100));
  }
  if (Atomics.load(p.ctrl, 2) !== 0) {
    poolBroken = 'a kernel worker could not instantiate the WebAssembly module';
    return null;
  }
  return p;
}

/**
 * Runs `kernel` over [0, total) split into `threads` contiguous parts whose boundaries are
 * multiples of `align` (use the element chunk for elementwise kernels, 1 for rows).
 * `argsFor(lo, hi)` gives the kernel's arguments for one part. Synchronous.
 */
export function runParts(
  kernel: KernelName,
  total: number,
  threads: number,
  align: number,
  argsFor: (lo: number, hi: number) => number[],
): void {
  const rt = kernelRuntime();
  kernelCalls++;
  const units = Math.ceil(total / align);
  const t = Math.max(1, Math.min(threads, units));
  const fn = rt.exports[kernel] as unknown as (...a: number[]) => void;
  if (t === 1) {
    if (total > 0) fn(...argsFor(0, total));
    return;
  }
  const p = ensureWorkers(rt, t - 1);
  if (p === null) {
    fn(...argsFor(0, total));
    return;
  }
  // Part k covers units [floor(k·units/t), floor((k+1)·units/t)).
  const bound = (k: number): number => Math.min(total, Math.floor((k * units) / t) * align);
  const kIndex = KERNEL_NAMES.indexOf(kernel);
  Atomics.store(p.ctrl, 2, 0);
  Atomics.store(p.ctrl, 0, t - 1);
  for (let k = 1; k < t; k++) {
    const a = argsFor(bound(k), bound(k + 1));
    const base = (k - 1) * SLOTS;
    p.args[base] = kIndex;
    p.args[base + 1] = a.length;
    for (let j = 0; j < a.length; j++) p.args[base + 2 + j] = a[j] as number;
    Atomics.store(p.ctrl, 8 + k - 1, 1);
    Atomics.notify(p.ctrl, 8 + k - 1, 1);
  }
  let ownError: unknown;
  try {
    fn(...argsFor(0, bound(1)));
  } catch (e) {
    ownError = e;
  }
  for (;;) {
    const left = Atomics.load(p.ctrl, 0);
    if (left === 0) break;
    Atomics.wait(p.ctrl, 0, left, 1000);
  }
  if (ownError !== undefined) throw ownError;
  if (Atomics.load(p.ctrl, 2) !== 0) throw new Error(`xent kernel ${kernel} failed in a worker thread`);
}

/** Stops the worker threads (they are idle and unref'd, so this is only needed for tidy shutdowns and tests). */
export async function shutdownKernelWorkers(): Promise<void> {
  const p = pool;
  if (p === null) return;
  pool = null;
  for (let i = 0; i < p.workers.length; i++) {
    Atomics.store(p.ctrl, 8 + i, 2);
    Atomics.notify(p.ctrl, 8 + i, 1);
  }
  await Promise.all(p.workers.map((w) => w.terminate()));
}

/** Workers currently started (for tests and the bench). */
export function kernelWorkerCount(): number {
  return pool?.workers.length ?? 0;
}
