/**
 * linearCrossEntropy's backends below the loss library: the argument types every backend
 * shares, the WebAssembly driver (module `lce`: assembly/lce.ts) and the native one (the
 * addon's lceForward / lceBackward, native-train.ts). The float64 JavaScript reference they are
 * tested against is src/loss/linear-cross-entropy-kernel.ts; the public op is
 * src/loss/linear-cross-entropy.ts.
 *
 * Shapes: hidden [N, H], weight [V, H], bias [V], target [N]; a block Z_b [N, Vb] of the
 * logits Z = hidden · weightᵀ + bias. Every backend takes two passes over the vocabulary
 * (statistics, then — when gradients are wanted — the block gradients through the layer),
 * recomputing Z_b in the second: the [N, V] logits never exist.
 *
 * WebAssembly memory (one instance for the process, grown on demand and reused): hidden and
 * its packed copy, dHidden, the [N, Vb] block, one block of weight rows and its two packings,
 * the block's dWeight and dBias, the per-row statistics — about 3·N·H + N·Vb + 4·Vb·H floats,
 * whatever V.
 */
import type { FloatArray } from '../core/tensor.js';
import { LCE_MODULE, type LceKernel } from './modules.js';
import { loadNativeTrain } from './native-train.js';
import { canUseThreads } from './pool.js';
import { enableRelaxedSimd } from './relaxed-simd.js';
import { KernelInstance, loadModule, relaxedBuildsWanted } from './runtime.js';

/** Everything a linear + cross-entropy backend needs (the public op builds and validates it). */
export interface LinearCrossEntropyArgs {
  hidden: FloatArray;
  weight: FloatArray;
  bias: FloatArray | null;
  n: number;
  h: number;
  v: number;
  target: Int32Array;
  /** Per-class weights [V] (PyTorch's `weight` of cross_entropy), or null. */
  classWeight: Float64Array | null;
  ignoreIndex: number;
  /** Vocabulary rows per block (≥ 1). */
  vocabBlock: number;
  /** Threads for the WebAssembly and native backends. */
  threads: number;
  /** Gradient outputs (null: not wanted); written, never accumulated into. */
  dHidden: FloatArray | null;
  dWeight: FloatArray | null;
  dBias: FloatArray | null;
}

/** α, β, γ per row ([N] each, float64): dL/dZ_nv = α_n·softmax(Z)_nv − γ_n·w_v − β_n·[v = y_n]. */
export interface LinearCrossEntropyCoefficients {
  alpha: Float64Array;
  beta: Float64Array;
  gamma: Float64Array;
}

/**
 * A backend: fills stats [N, 4] (max, log Σ exp(z − max), z_y, Σ_v w_v·z_v per row; zeros for
 * ignored rows), asks `coefficients(stats)` for the gradient's coefficients (null: no gradient
 * wanted) and writes the gradients. Returns the bytes of working memory it used besides its
 * arguments (the block, and the WebAssembly backend's copies), so that the bound on the extra
 * memory can be checked.
 */
export type LinearCrossEntropyBackend = (
  a: LinearCrossEntropyArgs,
  stats: Float64Array,
  coefficients: (stats: Float64Array) => LinearCrossEntropyCoefficients | null,
) => number;

// ---------- native ----------

/** Whether the native kernels are here (the addon is built and loads). */
export function nativeLinearCrossEntropyAvailable(): boolean {
  return loadNativeTrain() !== undefined;
}

const f32 = (a: FloatArray | Float64Array | null): Float32Array | null =>
  a === null ? null : a instanceof Float32Array ? a : Float32Array.from(a);

/** The addon's block-wise kernels (native/xent-train-ops.c); float32 arguments only. */
export const linearCrossEntropyNative: LinearCrossEntropyBackend = (a, stats, coefficients) => {
  const nt = loadNativeTrain();
  if (!nt) throw new Error('linearCrossEntropyNative: the native kernels are not loaded');
  const vb = Math.min(a.vocabBlock, a.v);
  const l = {
    h: a.hidden as Float32Array,
    w: a.weight as Float32Array,
    bias: a.bias as Float32Array | null,
    targets: a.target,
    ignoreIndex: a.ignoreIndex,
    weight: f32(a.classWeight),
    N: a.n,
    D: a.h,
    V: a.v,
    vocabBlock: vb,
  };
  const prev = nt.setThreads(a.threads);
  try {
    nt.lceForward({ ...l, stats });
    const co = coefficients(stats);
    if (co !== null) {
      nt.lceBackward({
        ...l,
        stats,
        ...co,
        dh: a.dHidden as Float32Array | null,
        dw: a.dWeight as Float32Array | null,
        db: a.dBias as Float32Array | null,
      });
    }
  } finally {
    nt.setThreads(prev);
  }
  // the addon's scratch block (xt_scratch: N·Vb floats), kept between calls
  return a.n * vb * 4;
};

// ---------- WebAssembly ----------

let instance: KernelInstance<LceKernel> | undefined;

/** The `lce` module's instance (created on first use); exported for the tests of the error contract. */
export function lceInstance(): KernelInstance<LceKernel> {
  if (instance === undefined) {
    if (relaxedBuildsWanted()) enableRelaxedSimd();
    instance = new KernelInstance(loadModule(LCE_MODULE), 1 << 20);
  }
  return instance;
}

/** Bytes of the WebAssembly memory linearCrossEntropy's kernels hold (0 before their first use). */
export function linearCrossEntropyWasmMemoryBytes(): number {
  return instance === undefined ? 0 : instance.memory.buffer.byteLength;
}

const packed = (k: number, n: number): number => k * Math.ceil(n / 8) * 8;

/** assembly/lce.ts over blocks of Vb vocabulary rows; float32 arguments only. */
export const linearCrossEntropyWasm: LinearCrossEntropyBackend = (a, stats, coefficients) => {
  const inst = lceInstance();
  const { n, h, v } = a;
  const vb = Math.min(a.vocabBlock, v);
  const threads = a.threads > 1 && canUseThreads() ? a.threads : 1;
  const wantGrad = a.dHidden !== null || a.dWeight !== null || a.dBias !== null;
  const sizes: Record<string, number> = {
    ctr: 4,
    hid: n * h * 4,
    tgt: n * 4,
    cw: a.classWeight === null ? 0 : v * 4,
    stats: n * 32,
    coef: wantGrad ? n * 24 : 0,
    wb: vb * h * 4,
    bias: a.bias === null ? 0 : vb * 4,
    zb: n * vb * 4,
    bpT: packed(h, vb) * 4,
    hp: wantGrad && a.dWeight !== null ? packed(n, h) * 4 : 0,
    bp: wantGrad && a.dHidden !== null ? packed(vb, h) * 4 : 0,
    dh: wantGrad && a.dHidden !== null ? n * h * 4 : 0,
    dwb: wantGrad && a.dWeight !== null ? vb * h * 4 : 0,
    db: wantGrad && a.dBias !== null ? vb * 8 : 0,
  };
  const ptr: Record<string, number> = {};
  let workspace = 0;
  try {
    for (const [k, bytes] of Object.entries(sizes)) {
      if (bytes === 0) {
        ptr[k] = 0;
        continue;
      }
      ptr[k] = inst.alloc(bytes);
      workspace += bytes;
    }
    const P = ptr as Record<keyof typeof sizes, number>;
    const ctr = inst.i32(P.ctr!, 1);
    const run = (kernel: LceKernel, args: readonly number[], parts = threads): void =>
      inst.run(kernel, parts, (part, parts) => [...args, part, parts]);
    const mm = (
      out: number,
      A: number,
      sam: number,
      sak: number,
      bp: number,
      bias: number,
      M: number,
      K: number,
      N: number,
      acc: boolean,
    ): void => {
      ctr[0] = 0;
      run('mm', [out, A, sam, sak, bp, bias, M, K, N, acc ? 1 : 0, P.ctr!]);
    };
    inst.f32(P.hid!, n * h).set(a.hidden);
    inst.i32(P.tgt!, n).set(a.target);
    if (a.classWeight !== null) inst.f32(P.cw!, v).set(a.classWeight);
    const st = inst.f64(P.stats!, 4 * n);
    for (let i = 0; i < n; i++) {
      st[4 * i] = -Infinity;
      st[4 * i + 1] = 0;
      st[4 * i + 2] = 0;
      st[4 * i + 3] = 0;
    }
    // Z_b = hidden · W_bᵀ + bias_b into zb (weight rows copied in, then packed as the panels of W_bᵀ).
    const blockLogits = (v0: number, nb: number): void => {
      inst.f32(P.wb!, nb * h).set(a.weight.subarray(v0 * h, (v0 + nb) * h));
      if (a.bias !== null) inst.f32(P.bias!, nb).set(a.bias.subarray(v0, v0 + nb));
      run('packB', [P.bpT!, P.wb!, 1, h, h, nb]);
      mm(P.zb!, P.hid!, h, 1, P.bpT!, a.bias === null ? 0 : P.bias!, n, h, nb, false);
    };
    for (let v0 = 0; v0 < v; v0 += vb) {
      const nb = Math.min(vb, v - v0);
      blockLogits(v0, nb);
      run('lceStats', [P.zb!, nb, v0, n, P.tgt!, a.ignoreIndex, P.cw!, P.stats!]);
    }
    for (let i = 0; i < n; i++) {
      if (a.target[i] === a.ignoreIndex) st[4 * i] = 0;
      else st[4 * i + 1] = Math.log(st[4 * i + 1] as number);
    }
    stats.set(st);
    const co = coefficients(stats);
    if (co === null || !wantGrad) return workspace;

    const coef = P.coef!;
    inst.f64(coef, n).set(co.alpha);
    inst.f64(coef + n * 8, n).set(co.beta);
    inst.f64(coef + n * 16, n).set(co.gamma);
    if (a.dWeight !== null) run('packB', [P.hp!, P.hid!, h, 1, n, h]);
    for (let v0 = 0; v0 < v; v0 += vb) {
      const nb = Math.min(vb, v - v0);
      blockLogits(v0, nb);
      run('lceGrad', [P.zb!, nb, v0, n, P.tgt!, a.ignoreIndex, P.cw!, P.stats!, coef, coef + n * 8, coef + n * 16]);
      if (a.dHidden !== null) {
        // dHidden (+)= dZ_b · W_b: W_b [nb, H] as B [K = nb, N = H]
        run('packB', [P.bp!, P.wb!, h, 1, nb, h]);
        mm(P.dh!, P.zb!, nb, 1, P.bp!, 0, n, nb, h, v0 > 0);
      }
      if (a.dWeight !== null) {
        // dWeight_b = dZ_bᵀ · hidden: A = dZ_b read transposed (sam = 1, sak = nb)
        mm(P.dwb!, P.zb!, 1, nb, P.hp!, 0, nb, n, h, false);
        a.dWeight.set(inst.f32(P.dwb!, nb * h), v0 * h);
      }
      if (a.dBias !== null) {
        run('colSum64', [P.db!, P.zb!, n, nb]);
        a.dBias.set(inst.f64(P.db!, nb), v0);
      }
    }
    if (a.dHidden !== null) a.dHidden.set(inst.f32(P.dh!, n * h));
    return workspace;
  } finally {
    for (const p of Object.values(ptr)) if (p !== 0) inst.release(p);
  }
};
