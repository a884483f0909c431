/**
 * Typed entry points of the trainer's kernel module (`train`:
 * src/kernels/assembly/train-kernels.ts, relaxed build train-kernels-relaxed.ts), one per
 * export, on a kernel instance of its own (runtime.ts: one shared memory and its allocator per
 * TrainKernels) and the one worker pool (pool.ts). Every parallel kernel takes (…, part,
 * nparts) and does its share, so each call runs it as `threads` parts, part 0 on the calling
 * thread, and waits for all; each output has one owner, so results are bit-identical for every
 * thread count. A trap in any thread throws the kernel XentError (kernel-error.ts).
 *
 * The relaxed-SIMD build (fused multiply-add) is used when this Node accepts it: Node 20 needs
 * V8's --experimental-wasm-relaxed-simd, which the constructor switches on at run time
 * (relaxed-simd.ts; workers share the flag and run the same module). XENT_WASM_RELAXED=0 or
 * XENT_WASM_SIMD=plain forces plain SIMD.
 *
 * Pointers are byte offsets into the instance's memory; matrices are float32 row-major.
 */
import { TRAIN_MODULE, type TrainKernel } from './modules.js';
import { availableCores, canUseThreads } from './pool.js';
import { enableRelaxedSimd } from './relaxed-simd.js';
import { KernelInstance, loadModule, relaxedBuildsWanted } from './runtime.js';

export interface TrainKernelsOptions {
  /** Bytes of working memory to reserve up front (the memory grows beyond them on demand). */
  bytes: number;
  /** Threads including the calling one (default: min(2, available cores)). */
  threads?: number;
}

export class TrainKernels {
  readonly instance: KernelInstance<TrainKernel>;
  /** Threads every call runs on (1 where threads cannot be used). */
  readonly threads: number;
  /** Whether the relaxed-SIMD build runs. */
  readonly relaxed: boolean;
  /** An i32 in kernel memory: the work counter of mm's dynamic split. */
  private readonly counterPtr: number;
  private readonly counter: Int32Array;

  constructor(opts: TrainKernelsOptions) {
    if (relaxedBuildsWanted()) enableRelaxedSimd();
    const loaded = loadModule(TRAIN_MODULE);
    this.relaxed = loaded.build === 'relaxed-simd';
    const want = Math.max(1, Math.floor(opts.threads ?? Math.min(2, availableCores())));
    this.threads = want > 1 && !canUseThreads() ? 1 : want;
    this.instance = new KernelInstance(loaded, opts.bytes + 64);
    this.counterPtr = this.instance.alloc(4);
    this.counter = this.instance.i32(this.counterPtr, 1);
  }

  get memory(): WebAssembly.Memory {
    return this.instance.memory;
  }

  /** Reserves `n` float32 (or int32) elements, 64-byte aligned; returns the byte offset. */
  alloc(n: number): number {
    return this.instance.alloc(n * 4);
  }

  /** Returns a block from `alloc`. */
  release(ptr: number): void {
    this.instance.release(ptr);
  }

  f32(ptr: number, n: number): Float32Array {
    return this.instance.f32(ptr, n);
  }
  i32(ptr: number, n: number): Int32Array {
    return this.instance.i32(ptr, n);
  }
  f64(ptr: number, n: number): Float64Array {
    return this.instance.f64(ptr, n);
  }

  /** Runs `kernel` on every thread with (…args, part, nparts); returns the part count used. */
  private runAll(kernel: TrainKernel, args: readonly number[]): number {
    let used = 1;
    this.instance.run(kernel, this.threads, (part, parts) => {
      used = parts;
      return [...args, part, parts];
    });
    return used;
  }

  /** Floats a packed B of K rows and N columns takes: N rounded up to 8-column panels. */
  static packedSize(K: number, N: number): number {
    return K * Math.ceil(N / 8) * 8;
  }

  /**
   * Packs B [K, N], B(k, n) = b[k·strideK + n·strideN] (row-major B: strideK = N, strideN = 1;
   * B = Wᵀ of a row-major W [N, K]: strideK = 1, strideN = K), into 8-column panels at `packed`
   * (packedSize(K, N) floats).
   */
  packB(a: { packed: number; b: number; strideK: number; strideN: number; K: number; N: number }): void {
    this.runAll('packB', [a.packed, a.b, a.strideK, a.strideN, a.K, a.N]);
  }

  /**
   * out [M, N] = (accumulate ? out : 0) + (bias ? bias[n] : 0) + A·B with A(m, k) = a[m·sam + k·sak]
   * (row-major A [M, K]: sam = K, sak = 1; A stored transposed: sam = 1, sak = M) and B packed by
   * packB; bias 0 for none.
   */
  mm(a: {
    out: number;
    a: number;
    sam: number;
    sak: number;
    packedB: number;
    bias: number;
    M: number;
    K: number;
    N: number;
    accumulate: boolean;
  }): void {
    this.counter[0] = 0; // mm's work counter (published to the workers by the pool's Atomics)
    this.runAll('mm', [
      a.out,
      a.a,
      a.sam,
      a.sak,
      a.packedB,
      a.bias,
      a.M,
      a.K,
      a.N,
      a.accumulate ? 1 : 0,
      this.counterPtr,
    ]);
  }

  /**
   * Output cross-entropy of `rows` rows of logits [rows, V] at `logits` against int32 `targets`:
   * per-row loss (label-smoothed) into float64 `lossOut`, plain cross-entropy into float64
   * `ceOut`; with `grad`, the logits are overwritten by scale·(softmax − smoothed one-hot).
   * Rows whose target is `ignoreIndex` get 0 and a zero gradient.
   */
  ceRows(a: {
    logits: number;
    targets: number;
    rows: number;
    V: number;
    labelSmoothing: number;
    ignoreIndex: number;
    scale: number;
    grad: boolean;
    lossOut: number;
    ceOut: number;
  }): void {
    this.runAll('ceRows', [
      a.logits,
      a.targets,
      a.rows,
      a.V,
      a.labelSmoothing,
      a.ignoreIndex,
      a.scale,
      a.grad ? 1 : 0,
      a.lossOut,
      a.ceOut,
    ]);
  }

  /**
   * The LSTM forward recurrence over T steps of batch B (time-major; layout in the kernel's
   * comment): gates `xg` [T·B, 4H] in, activations `act` [T·B, 4H], states c0/h0 [B, H]
   * followed by cs/hs [T·B, H] out; `gh` [B, 4H] scratch; `whhT_packed` = W_hhᵀ packed (H × 4H).
   */
  lstmForward(a: {
    gh: number;
    xg: number;
    act: number;
    c0: number;
    h0: number;
    whhT_packed: number;
    B: number;
    H: number;
    T: number;
  }): void {
    this.runAll('lstmForward', [a.gh, a.xg, a.act, a.c0, a.h0, a.whhT_packed, a.B, a.H, a.T]);
  }

  /**
   * The LSTM backward recurrence after lstmForward: d loss / d h from `dhs` [T·B, H] in, gate
   * gradients `dz` [T·B, 4H] out; `dhNext`, `dcNext` [B, H] zeroed scratch; `whh_packed` =
   * W_hh packed (4H × H).
   */
  lstmBackward(a: {
    act: number;
    c0: number;
    dhs: number;
    dhNext: number;
    dcNext: number;
    dz: number;
    whh_packed: number;
    B: number;
    H: number;
    T: number;
  }): void {
    this.runAll('lstmBackward', [a.act, a.c0, a.dhs, a.dhNext, a.dcNext, a.dz, a.whh_packed, a.B, a.H, a.T]);
  }

  /** out[n] += Σ_m a[m, n] over a [M, N]. */
  colSumAcc(a: { out: number; a: number; M: number; N: number }): void {
    this.runAll('colSumAcc', [a.out, a.a, a.M, a.N]);
  }

  /**
   * Σ x² over x [n] (float32 squares, float64 sums): each thread writes its part's sum to
   * `partial` (float64, one per thread), added here in part order.
   */
  sumSq(a: { x: number; n: number; partial: number }): number {
    const parts = this.runAll('sumSq', [a.x, a.n, a.partial]);
    const p = this.f64(a.partial, parts);
    let s = 0;
    for (let i = 0; i < parts; i++) s += p[i]!;
    return s;
  }

  /** x ← x·k over x [n]. */
  scale(a: { x: number; n: number; k: number }): void {
    this.runAll('scale', [a.x, a.n, a.k]);
  }

  /** One Adam(W) update of params [n] from grads with moments m, v (formulas: src/train/adam.ts). */
  adam(a: {
    params: number;
    grads: number;
    m: number;
    v: number;
    n: number;
    stepSize: number;
    beta1: number;
    beta2: number;
    eps: number;
    bc2Sqrt: number;
    decay: number;
    l2: number;
  }): void {
    this.runAll('adam', [
      a.params,
      a.grads,
      a.m,
      a.v,
      a.n,
      a.stepSize,
      a.beta1,
      a.beta2,
      a.eps,
      a.bc2Sqrt,
      a.decay,
      a.l2,
    ]);
  }

  /** Tests only: part `trapPart` of the call traps (kind 0: unreachable, 1: out-of-bounds load). */
  trapForTesting(a: { trapPart: number; kind: 0 | 1 }): void {
    this.runAll('trapForTesting', [a.trapPart, a.kind]);
  }

  /** Releases the memory: the pool's workers drop their instances of it. */
  close(): void {
    this.instance.close();
  }
}
