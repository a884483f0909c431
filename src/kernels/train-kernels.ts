/**
 * Loads the trainer's WebAssembly SIMD kernels (src/kernels/assembly/train-kernels.ts)
 * into one shared memory and runs them on the main thread plus `threads − 1`
 * worker threads. Every parallel kernel takes (…, part, nparts) and does its share,
 * so `run(name, args)` calls it on every thread with a different part and waits for
 * all of them (Atomics on a shared control block; no messages per call).
 *
 * The module bytes come from the build (scripts/build-wasm.mjs embeds each compiled
 * kernel as base64 in src/kernels/generated/). The relaxed-SIMD build (fused
 * multiply-add, train-kernels-relaxed.ts) is used when this Node accepts it (Node 20
 * needs V8's --experimental-wasm-relaxed-simd, which src/kernels/relaxed-simd.ts switches
 * on at run time; workers share the flag and get the same module); XENT_WASM_RELAXED=0
 * forces plain SIMD.
 */
import { WASM_BASE64 as PLAIN_BASE64 } from './generated/train-kernels.wasm.js';
import { WASM_BASE64 as RELAXED_BASE64 } from './generated/train-kernels-relaxed.wasm.js';
import { availableCores, builtin, type WorkerLike, type WorkerThreadsModule } from './pool.js';
import { enableRelaxedSimd } from './relaxed-simd.js';
import { decodeBase64 } from './runtime.js';

export const KERNELS = [
  'pack_b',
  'mm_pb',
  'ce_rows',
  'lstm_forward',
  'lstm_backward',
  'col_sum_acc',
  'sum_sq',
  'scale',
  'adam',
] as const;
export type KernelName = (typeof KERNELS)[number];

const PAGE = 65536;
/** First byte handed out: the modules' static data (math tables) lives below it. */
const HEAP_BASE = 65536;
const MAX_ARGS = 16;
// control block (Int32): [0] sequence number, [1] workers done, [2] kernel index, [3] arg count, [4] stop
const CTRL_SEQ = 0,
  CTRL_DONE = 1,
  CTRL_FN = 2,
  CTRL_NARGS = 3,
  CTRL_STOP = 4;

let relaxedOk: boolean | undefined;
const cache: { plain?: WebAssembly.Module; relaxed?: WebAssembly.Module } = {};

function compile(): { module: WebAssembly.Module; relaxed: boolean } {
  if (process.env.XENT_WASM_RELAXED !== '0' && relaxedOk !== false) {
    try {
      if (!cache.relaxed) {
        enableRelaxedSimd();
        cache.relaxed = new WebAssembly.Module(decodeBase64(RELAXED_BASE64) as BufferSource);
      }
      relaxedOk = true;
      return { module: cache.relaxed, relaxed: true };
    } catch {
      relaxedOk = false;
    }
  }
  cache.plain ??= new WebAssembly.Module(decodeBase64(PLAIN_BASE64) as BufferSource);
  return { module: cache.plain, relaxed: false };
}

// Worker body (plain JS, evaluated as a string so it runs the same under tsx and from dist).
const WORKER_SRC = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, args, part, nparts, names } = workerData;
const inst = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm abort'); } } });
const fns = names.map((n) => inst.exports[n]);
const c = new Int32Array(ctrl);
const a = new Float64Array(args);
let seq = 0;
for (;;) {
  Atomics.wait(c, ${CTRL_SEQ}, seq);
  seq = Atomics.load(c, ${CTRL_SEQ});
  if (Atomics.load(c, ${CTRL_STOP})) break;
  const f = fns[c[${CTRL_FN}]];
  const n = c[${CTRL_NARGS}];
  const v = new Array(n + 2);
  for (let i = 0; i < n; i++) v[i] = a[i];
  v[n] = part; v[n + 1] = nparts;
  try { f(...v); } catch (e) { console.error('xent kernel worker:', e); }
  Atomics.add(c, ${CTRL_DONE}, 1);
  Atomics.notify(c, ${CTRL_DONE});
}
`;

export interface TrainKernelsOptions {
  /** Bytes of working memory needed (rounded up to pages). */
  bytes: number;
  /** Threads including the main one (default: min(2, available cores)). */
  threads?: number;
}

export class TrainKernels {
  readonly memory: WebAssembly.Memory;
  readonly threads: number;
  readonly relaxed: boolean;
  private readonly fns: ((...a: number[]) => void)[];
  private readonly workers: WorkerLike[] = [];
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private next = HEAP_BASE;
  private readonly limit: number;
  /** An i32 in kernel memory: the work counter of mm_pb's dynamic split. */
  private readonly counterPtr: number;
  private readonly counter: Int32Array;

  constructor(opts: TrainKernelsOptions) {
    const { module, relaxed } = compile();
    this.relaxed = relaxed;
    this.threads = Math.max(1, Math.floor(opts.threads ?? Math.min(2, availableCores())));
    const pages = Math.ceil((HEAP_BASE + opts.bytes + 64 * 64) / PAGE);
    this.limit = pages * PAGE;
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const inst = new WebAssembly.Instance(module, {
      env: {
        memory: this.memory,
        abort: () => {
          throw new Error('wasm abort');
        },
      },
    });
    this.fns = KERNELS.map((n) => inst.exports[n] as (...a: number[]) => void);
    this.counterPtr = this.alloc(16); // inside the 64·64-byte slack the page count reserves
    this.counter = this.i32(this.counterPtr, 1);
    const ctrl = new SharedArrayBuffer(64);
    const args = new SharedArrayBuffer(8 * MAX_ARGS);
    this.ctrl = new Int32Array(ctrl);
    this.args = new Float64Array(args);
    for (let p = 1; p < this.threads; p++) {
      const wt = builtin<WorkerThreadsModule>('node:worker_threads');
      if (!wt) throw new Error('TrainKernels: more than one thread needs node:worker_threads (Node ≥ 20.16)');
      const w = new wt.Worker(WORKER_SRC, {
        eval: true,
        workerData: { module, memory: this.memory, ctrl, args, part: p, nparts: this.threads, names: KERNELS },
      });
      w.unref();
      this.workers.push(w);
    }
  }

  /** Reserves `n` float32 (or int32) elements, 16-byte aligned; returns the byte offset. */
  alloc(n: number): number {
    const p = this.next;
    this.next = p + Math.ceil((n * 4) / 64) * 64;
    if (this.next > this.limit) throw new Error(`TrainKernels: out of reserved memory (${this.next} > ${this.limit})`);
    return p;
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }
  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, n);
  }
  f64(ptr: number, n: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, n);
  }

  /** Runs kernel `name` on every thread (parts 0 … threads−1) and waits for all. */
  run(name: KernelName, ...a: number[]): void {
    const fi = KERNELS.indexOf(name);
    const f = this.fns[fi]!;
    if (this.threads === 1) {
      f(...a, 0, 1);
      return;
    }
    const c = this.ctrl;
    for (let i = 0; i < a.length; i++) this.args[i] = a[i]!;
    c[CTRL_FN] = fi;
    c[CTRL_NARGS] = a.length;
    Atomics.store(c, CTRL_DONE, 0);
    Atomics.add(c, CTRL_SEQ, 1);
    Atomics.notify(c, CTRL_SEQ);
    f(...a, 0, this.threads);
    const want = this.threads - 1;
    for (;;) {
      const d = Atomics.load(c, CTRL_DONE);
      if (d >= want) break;
      Atomics.wait(c, CTRL_DONE, d, 50);
    }
  }

  /** Floats a packed B (pack) of K rows and N columns takes: N rounded up to 8 panels' width. */
  static packedSize(K: number, N: number): number {
    return K * Math.ceil(N / 8) * 8;
  }

  /** Packs B(k, n) = b[k·sbk + n·sbn] (K × N; byte offset b) into 8-column panels at bp (pack_b). */
  pack(bp: number, b: number, sbk: number, sbn: number, K: number, N: number): void {
    this.run('pack_b', bp, b, sbk, sbn, K, N);
  }

  /**
   * out[M, N] = (acc ? out : 0) + (bias ? bias[n] : 0) + A·B with A(m, k) = a[m·sam + k·sak]
   * (row-major A: sam = K, sak = 1; A stored transposed: sam = 1, sak = M) and B packed by `pack`.
   */
  mm(
    out: number,
    a: number,
    sam: number,
    sak: number,
    bp: number,
    bias: number,
    M: number,
    K: number,
    N: number,
    acc: boolean,
  ): void {
    this.counter[0] = 0; // mm_pb's work counter (published to the workers by run's Atomics)
    this.run('mm_pb', out, a, sam, sak, bp, bias, M, K, N, acc ? 1 : 0, this.counterPtr);
  }

  /** Runs kernel `name` on the main thread only, as one part. */
  runLocal(name: KernelName, ...a: number[]): void {
    this.fns[KERNELS.indexOf(name)]!(...a, 0, 1);
  }

  /** Stops the workers. */
  close(): void {
    Atomics.store(this.ctrl, CTRL_STOP, 1);
    Atomics.add(this.ctrl, CTRL_SEQ, 1);
    Atomics.notify(this.ctrl, CTRL_SEQ);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
