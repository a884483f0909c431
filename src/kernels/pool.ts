/**
 * The one worker pool every kernel module runs on. A call runs a kernel as `nparts` parts: the
 * calling thread wakes nparts − 1 workers, runs part 0 itself, then blocks in `Atomics.wait`
 * until the workers are done, so every kernel call stays synchronous and uses nparts cores.
 * How a kernel divides its work among the parts is its own contract (rows split in JavaScript
 * for the loss kernels, (part, nparts) arguments for the trainer's); each output is computed
 * by one part with the same code, so results are bit-identical for every thread count.
 *
 * Workers serve every module: the first time a worker is asked to run a kernel of a memory
 * (a `PoolClient`: one module instantiated over one memory), the calling thread posts it the
 * compiled module and the shared memory on its MessagePort, and the worker instantiates the
 * module over that memory, lazily, when it reads the job (`receiveMessageOnPort`, so it never
 * needs its event loop). `forgetClient` tells the workers to drop an instance when its memory
 * is closed.
 *
 * Errors: a trap in any part is caught where it happens (a worker posts its message back on
 * its port); the call waits for every part, then throws the XentError of kernel-error.ts for
 * the first part that trapped. The workers go back to waiting, so the pool stays usable.
 *
 * Node only: workers come from `node:worker_threads`, reached through
 * `process.getBuiltinModule` (Node ≥ 20.16) so that src/kernels/ keeps no static Node import
 * and bundles for browsers. Browsers' main thread cannot `Atomics.wait`; there (and in older
 * Node) every call runs as one part on the calling thread.
 *
 * Control block (Int32Array over a SharedArrayBuffer):
 *   [0] parts still running   [1] workers started   [2] parts that trapped
 *   [STATE + i] worker i: 0 idle, 1 run, 2 quit, 3 read its messages
 *   [MAIL + i]  messages posted to worker i so far
 * Arguments: Float64Array, SLOTS per worker: [client id, kernel index, argc, args…].
 */
import { kernelError } from './kernel-error.js';

const MAX_WORKERS = 63;
const SLOTS = 24;
const HEADER = 3;
const STATE = 8;
const MAIL = STATE + MAX_WORKERS + 1;
const CTRL_INTS = MAIL + MAX_WORKERS + 1;
const START_TIMEOUT_MS = 15000;

/** What the pool needs of a kernel memory (runtime.ts's KernelInstance). */
export interface PoolClient {
  /** Unique per memory, never reused. */
  readonly id: number;
  /** The module family's name and its kernels (by index), for errors and for the workers. */
  readonly moduleName: string;
  readonly kernelNames: readonly string[];
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** The calling thread's instance's kernels, by index. */
  readonly fns: readonly ((...a: number[]) => unknown)[];
}

export interface WorkerLike {
  unref(): void;
  terminate(): Promise<number>;
  on(event: string, fn: (...a: unknown[]) => void): unknown;
}
interface PortLike {
  postMessage(value: unknown): void;
  unref?(): void;
  close(): void;
}
export interface WorkerThreadsModule {
  Worker: new (code: string, options: { eval: true; workerData: unknown; transferList?: unknown[] }) => WorkerLike;
  MessageChannel: new () => { port1: PortLike; port2: PortLike };
  receiveMessageOnPort(port: PortLike): { message: unknown } | undefined;
  isMainThread: boolean;
}
interface OsModule {
  availableParallelism?: () => number;
  cpus(): unknown[];
}

// Plain JavaScript run by each worker (eval'd: no file to locate in dist/ or under tsx).
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { ctrl, args, index, port } = workerData;
const S = ${STATE} + index, M = ${MAIL} + index, base = index * ${SLOTS};
const clients = new Map();
const nap = new Int32Array(new SharedArrayBuffer(4));
let read = 0;
function readMessages() {
  while (read < Atomics.load(ctrl, M)) {
    const m = receiveMessageOnPort(port);
    if (m === undefined) { Atomics.wait(nap, 0, 0, 1); continue; }
    read++;
    const msg = m.message;
    if (msg.drop !== undefined) clients.delete(msg.drop);
    else clients.set(msg.id, { module: msg.module, memory: msg.memory, names: msg.names, fns: null });
  }
}
function abort() { throw new Error('abort() called'); }
Atomics.add(ctrl, 1, 1);
Atomics.notify(ctrl, 1);
for (;;) {
  Atomics.wait(ctrl, S, 0);
  const state = Atomics.load(ctrl, S);
  if (state === 2) break;
  readMessages();
  if (state === 3) { Atomics.compareExchange(ctrl, S, 3, 0); continue; }
  try {
    const c = clients.get(args[base]);
    if (c.fns === null) {
      const inst = new WebAssembly.Instance(c.module, { env: { memory: c.memory, abort } });
      c.fns = c.names.map((n) => inst.exports[n]);
    }
    const n = args[base + 2];
    const a = new Array(n);
    for (let k = 0; k < n; k++) a[k] = args[base + ${HEADER} + k];
    c.fns[args[base + 1]](...a);
  } catch (e) {
    port.postMessage(e && e.message !== undefined ? String(e.message) : String(e));
    Atomics.add(ctrl, 2, 1);
  }
  Atomics.store(ctrl, S, 0);
  if (Atomics.sub(ctrl, 0, 1) === 1) Atomics.notify(ctrl, 0);
}
`;

interface PoolWorker {
  worker: WorkerLike;
  /** The calling thread's end of the worker's MessagePort. */
  port: PortLike;
  /** Clients whose module and memory were posted to this worker. */
  sent: Set<number>;
}

interface Pool {
  workers: PoolWorker[];
  ctrl: Int32Array;
  args: Float64Array;
}

let pool: Pool | null = null;
let poolBroken = '';
let kernelCalls = 0;

/** How many kernel calls this process has made (tests use it to prove a call took the WebAssembly path). */
export function kernelCallCount(): number {
  return kernelCalls;
}

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
export function canUseThreads(): boolean {
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

/** The pool with at least `count` workers started, or null where threads cannot be used. */
function ensureWorkers(count: number): Pool | null {
  const wt = builtin<WorkerThreadsModule>('node:worker_threads');
  if (!wt || poolBroken !== '') return null;
  if (pool === null) {
    pool = {
      workers: [],
      ctrl: new Int32Array(new SharedArrayBuffer(4 * CTRL_INTS)),
      args: new Float64Array(new SharedArrayBuffer(8 * SLOTS * MAX_WORKERS)),
    };
  }
  const p = pool;
  if (p.workers.length >= count) return p;
  for (let i = p.workers.length; i < count; i++) {
    const { port1, port2 } = new wt.MessageChannel();
    const worker = new wt.Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ctrl: p.ctrl, args: p.args, index: i, port: port2 },
      transferList: [port2],
    });
    worker.unref(); // idle workers never keep the process alive
    port1.unref?.();
    worker.on('error', () => {
      poolBroken = 'a kernel worker failed';
    });
    p.workers.push({ worker, port: port1, sent: new Set() });
  }
  // Wait (synchronously) until the new workers run their loop.
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
  return p;
}

/** Posts `c`'s module and memory to worker i unless it has them. */
function introduce(p: Pool, i: number, c: PoolClient): void {
  const w = p.workers[i] as PoolWorker;
  if (w.sent.has(c.id)) return;
  w.port.postMessage({ id: c.id, module: c.module, memory: c.memory, names: c.kernelNames });
  w.sent.add(c.id);
  Atomics.add(p.ctrl, MAIL + i, 1);
}

/**
 * Runs kernel `kernel` (an index into `c.kernelNames`) as `nparts` parts, part 0 on the calling
 * thread; `argsFor(part, parts)` gives one part's arguments. `parts` may be fewer than asked
 * (1 where threads cannot be used), so kernels must split their work by it. Synchronous; a trap
 * in any part throws the kernel XentError (kernel-error.ts) once every part has finished.
 */
export function runParts(
  c: PoolClient,
  kernel: number,
  nparts: number,
  argsFor: (part: number, parts: number) => readonly number[],
): void {
  kernelCalls++;
  const fn = c.fns[kernel] as (...a: number[]) => unknown;
  const p = nparts > 1 ? ensureWorkers(nparts - 1) : null;
  const t = p === null ? 1 : nparts;
  const own = argsFor(0, t);
  if (p === null) {
    try {
      fn(...own);
    } catch (e) {
      throw kernelError({ module: c.moduleName, kernel: c.kernelNames[kernel] ?? '?', part: 0, parts: 1 }, e);
    }
    return;
  }
  // Everything that can throw before any worker is woken.
  const parts: (readonly number[])[] = [];
  for (let k = 1; k < t; k++) {
    const a = argsFor(k, t);
    if (a.length > SLOTS - HEADER) throw new RangeError(`runParts: ${a.length} arguments (at most ${SLOTS - HEADER})`);
    introduce(p, k - 1, c);
    parts.push(a);
  }
  Atomics.store(p.ctrl, 2, 0);
  Atomics.store(p.ctrl, 0, t - 1);
  for (let k = 1; k < t; k++) {
    const i = k - 1;
    const a = parts[i] as readonly number[];
    const base = i * SLOTS;
    p.args[base] = c.id;
    p.args[base + 1] = kernel;
    p.args[base + 2] = a.length;
    for (let j = 0; j < a.length; j++) p.args[base + HEADER + j] = a[j] as number;
    Atomics.store(p.ctrl, STATE + i, 1);
    Atomics.notify(p.ctrl, STATE + i, 1);
  }
  let ownError: unknown;
  let ownFailed = false;
  try {
    fn(...own);
  } catch (e) {
    ownError = e;
    ownFailed = true;
  }
  for (;;) {
    const left = Atomics.load(p.ctrl, 0);
    if (left === 0) break;
    Atomics.wait(p.ctrl, 0, left, 1000);
  }
  const name = c.kernelNames[kernel] ?? '?';
  // Read every worker's report, so that none is left behind for a later call.
  let first: { part: number; message: unknown } | undefined;
  if (Atomics.load(p.ctrl, 2) !== 0) {
    const wt = builtin<WorkerThreadsModule>('node:worker_threads') as WorkerThreadsModule;
    for (let k = 1; k < t; k++) {
      const m = wt.receiveMessageOnPort((p.workers[k - 1] as PoolWorker).port);
      if (m !== undefined && first === undefined) first = { part: k, message: m.message };
    }
  }
  if (ownFailed) throw kernelError({ module: c.moduleName, kernel: name, part: 0, parts: t }, ownError);
  if (first !== undefined)
    throw kernelError({ module: c.moduleName, kernel: name, part: first.part, parts: t }, first.message);
}

/**
 * Runs kernel `kernel` once on the calling thread and returns its result (for kernels that
 * return a value); a trap throws the kernel XentError.
 */
export function callKernel(c: PoolClient, kernel: number, args: readonly number[]): number {
  kernelCalls++;
  try {
    return (c.fns[kernel] as (...a: number[]) => number)(...args);
  } catch (e) {
    throw kernelError({ module: c.moduleName, kernel: c.kernelNames[kernel] ?? '?', part: 0, parts: 1 }, e);
  }
}

/** Tells the workers to drop their instance of `c` (its memory is closed); they do it at once, without a reply. */
export function forgetClient(c: PoolClient): void {
  const p = pool;
  if (p === null) return;
  p.workers.forEach((w, i) => {
    if (!w.sent.delete(c.id)) return;
    w.port.postMessage({ drop: c.id });
    Atomics.add(p.ctrl, MAIL + i, 1);
    if (Atomics.compareExchange(p.ctrl, STATE + i, 0, 3) === 0) Atomics.notify(p.ctrl, STATE + i, 1);
  });
}

/** Stops the worker threads (they are idle and unref'd, so this is only needed for tidy shutdowns and tests). */
export async function shutdownKernelWorkers(): Promise<void> {
  const p = pool;
  if (p === null) return;
  pool = null;
  p.workers.forEach((_, i) => {
    Atomics.store(p.ctrl, STATE + i, 2);
    Atomics.notify(p.ctrl, STATE + i, 1);
  });
  await Promise.all(p.workers.map((w) => w.worker.terminate()));
  for (const w of p.workers) w.port.close();
}

/** Workers currently started (for tests and the bench). */
export function kernelWorkerCount(): number {
  return pool?.workers.length ?? 0;
}
