/**
 * The native training kernels (native/xent-train.c, compiled into build/native/xent-llama.node
 * by scripts/build-native.mjs): a matrix product, the cross-entropy rows, a fused linear +
 * cross-entropy over vocabulary blocks, the LSTM recurrence, column sums, the sum of squares,
 * scaling and Adam, in C with AVX2 + FMA and AVX-512 paths beside a plain scalar reference, on
 * a persistent thread pool inside the addon. The WebAssembly kernels stay the portable path;
 * these are the fast one where the addon is built.
 *
 * Every call is synchronous and works in place on the typed arrays it is given — plain arrays
 * or views into a WebAssembly.Memory, shared or not — with no copy. Shapes are checked in the
 * addon; its errors come back as XentErrors (op `nativeTrain.<function>`, the argument named).
 * Results are the same for every thread count (work is split by output rows or columns).
 *
 * Letters: N rows, V vocabulary, D hidden width of the output layer, B batch, T time, H hidden
 * (G = 4H gate rows, PyTorch's order i, f, g, o). All matrices row-major.
 *
 * Browser-safe module: Node's modules are reached through `builtin` at run time, so importing
 * this file outside Node costs nothing and `loadNativeTrain()` returns undefined there.
 */
import {
  type CrossEntropyArgs,
  crossEntropyCoefficients,
  crossEntropyDenominators,
  reduceCrossEntropy,
} from '../core/cross-entropy-coefficients.js';
import { XentError, type XentErrorCode } from '../core/errors.js';
import { NeumaierSum } from '../core/sum.js';
import type { Reduction } from '../core/tensor.js';
import { builtin } from './pool.js';

export type NativeTrainIsa = 'scalar' | 'avx2' | 'avx512';

export interface NativeTrainInfo {
  /** The implementation in use. */
  isa: NativeTrainIsa;
  /** Those this CPU has and that passed the self-check against the scalar reference. */
  available: NativeTrainIsa[];
  /** Why an implementation this CPU has was refused by the self-check ('' when none was). */
  refused: string;
  threads: number;
}

/** The addon's `train` object (native/xent-train.c documents each function). */
interface TrainBinding {
  info(): NativeTrainInfo;
  setIsa(name: string): NativeTrainIsa;
  setThreads(n: number): number;
  sgemm(...a: unknown[]): void;
  ceRows(...a: unknown[]): void;
  ceStats(...a: unknown[]): void;
  ceGrad(...a: unknown[]): void;
  lceForward(...a: unknown[]): void;
  lceBackward(...a: unknown[]): void;
  lstmForward(...a: unknown[]): void;
  lstmBackward(...a: unknown[]): void;
  colSum(...a: unknown[]): void;
  sumSq(x: Float32Array): number;
  scale(x: Float32Array, k: number): void;
  adam(...a: unknown[]): void;
}

interface NodeFs {
  existsSync(p: string): boolean;
}
interface NodeModuleModule {
  createRequire(url: string): (id: string) => unknown;
}
interface NodeUrl {
  fileURLToPath(u: string): string;
}
interface NodePath {
  join(...p: string[]): string;
  dirname(p: string): string;
}

let addon: { exports: Record<string, unknown> } | null | undefined;
let addonError: string | undefined;

/**
 * The raw exports of build/native/xent-llama.node, loaded once (without initialising llama.cpp:
 * that is the evaluation side's `init`); undefined when it was not built, XENT_NATIVE=0, or
 * outside Node (see `nativeAddonUnavailableReason`).
 */
export function loadNativeAddon(): Record<string, unknown> | undefined {
  if (addon !== undefined) return addon?.exports;
  addon = null;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  const fs = builtin<NodeFs>('node:fs');
  const mod = builtin<NodeModuleModule>('node:module');
  const url = builtin<NodeUrl>('node:url');
  const path = builtin<NodePath>('node:path');
  if (env.XENT_NATIVE === '0') addonError = 'disabled by XENT_NATIVE=0';
  else if (!fs || !mod || !url || !path) addonError = 'the native binding needs Node (≥ 20.16)';
  else {
    // this file is src/kernels/native-train.ts or dist/kernels/native-train.js: the package root is two up
    const root = path.join(path.dirname(url.fileURLToPath(import.meta.url)), '..', '..');
    const file = path.join(root, 'build', 'native', 'xent-llama.node');
    if (!fs.existsSync(file))
      addonError = `the native binding ${file} was not built (scripts/build-native.mjs needs node-llama-cpp, git and a C compiler)`;
    else {
      try {
        addon = { exports: mod.createRequire(import.meta.url)(file) as Record<string, unknown> };
      } catch (e) {
        addonError = `the native binding failed to load: ${(e as Error).message}`;
      }
    }
  }
  return addon?.exports;
}

/** Why `loadNativeAddon()` returned undefined. */
export function nativeAddonUnavailableReason(): string | undefined {
  return addonError;
}

let kernels: NativeTrainKernels | null | undefined;

/** The native training kernels, or undefined where the addon is absent (see `nativeTrainUnavailableReason`). */
export function loadNativeTrain(): NativeTrainKernels | undefined {
  if (kernels !== undefined) return kernels ?? undefined;
  const ex = loadNativeAddon();
  const b = ex?.train as TrainBinding | undefined;
  kernels = b && typeof b.sgemm === 'function' ? new NativeTrainKernels(b) : null;
  if (ex && !kernels) addonError = 'the native binding predates the training kernels: rebuild it (npm run build)';
  return kernels ?? undefined;
}

/** Why `loadNativeTrain()` returned undefined. */
export function nativeTrainUnavailableReason(): string | undefined {
  return addonError;
}

const CODES = new Set<XentErrorCode>(['invalid_argument', 'shape_mismatch', 'index_out_of_range']);

/** Runs a binding call; the addon's errors become XentErrors named after the function. */
function call<R>(fn: string, f: () => R): R {
  try {
    return f();
  } catch (e) {
    const err = e as { code?: string; arg?: string; message?: string };
    if (typeof err?.code === 'string' && CODES.has(err.code as XentErrorCode)) {
      const message = (err.message ?? '').replace(/^\w+: /, '');
      throw new XentError(
        err.code as XentErrorCode,
        `nativeTrain.${fn}`,
        message,
        err.arg !== undefined ? { arg: err.arg } : {},
      );
    }
    throw e;
  }
}

export interface SgemmArgs {
  transA?: boolean;
  transB?: boolean;
  M: number;
  N: number;
  K: number;
  /** [M, K] (or [K, M] with transA), row stride lda (default its row width). */
  A: Float32Array;
  lda?: number;
  /** [K, N] (or [N, K] with transB), row stride ldb. */
  B: Float32Array;
  ldb?: number;
  /** [M, N], row stride ldc (default N). */
  C: Float32Array;
  ldc?: number;
  /** C += … instead of C = … */
  accumulate?: boolean;
  /** [N], added to every row. */
  bias?: Float32Array | null;
}

/** Per-row statistics ([N, 4] float64) and gradient coefficients of the cross-entropy kernels. */
export interface CeCoefficients {
  /** [N, 4]: max, log Σ exp(z − max), z_target, Σ w·z of each row (zeros for ignored rows). */
  stats: Float64Array;
  /** [N] each: d loss / d z_v = α·softmax(z)_v − γ·w_v − β·[v = target]. */
  alpha: Float64Array;
  beta: Float64Array;
  gamma: Float64Array;
}

export interface CeTargetArgs {
  /** [N] class indices; rows equal to ignoreIndex (default −100) count for nothing. */
  targets: Int32Array;
  ignoreIndex?: number;
  /** [V] class weights (PyTorch's `weight`). */
  weight?: Float32Array | null;
}

export interface LceArgs extends CeTargetArgs {
  /** [N, D] inputs of the output layer. */
  h: Float32Array;
  /** [V, D] weights (PyTorch's Linear.weight) and [V] bias. */
  w: Float32Array;
  bias?: Float32Array | null;
  N: number;
  D: number;
  V: number;
  /** Vocabulary rows per block: the extra memory is an [N, vocabBlock] float32 block. */
  vocabBlock: number;
}

export interface LstmForwardArgs {
  /** [T·B, 4H] input gates x·W_ihᵀ + b_ih + b_hh, time-major rows t·B + b. */
  xg: Float32Array;
  /** [4H, H] recurrent weights (PyTorch's weight_hh_l0). */
  wHh: Float32Array;
  /** [(T+1)·B, H] hidden states and cells: rows 0 … B−1 hold the initial state. */
  h: Float32Array;
  c: Float32Array;
  /** [T·B, 4H] gate activations σ(i), σ(f), tanh(g), σ(o) (written). */
  act: Float32Array;
  B: number;
  H: number;
  T: number;
}

export interface LstmBackwardArgs {
  act: Float32Array;
  c: Float32Array;
  /** [T·B, H] d loss / d h_t from the layers above. */
  dhs: Float32Array;
  wHh: Float32Array;
  /** [T·B, 4H] pre-activation gate gradients (written). */
  dz: Float32Array;
  /** [B, H]: in, the gradient into the last state (zeros for none); out, d loss / d h_0 and d c_0. */
  dh: Float32Array;
  dc: Float32Array;
  B: number;
  H: number;
  T: number;
}

export interface AdamArgs {
  p: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** lr / (1 − β1^t) */
  stepSize: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** √(1 − β2^t) */
  bc2Sqrt: number;
  /** 1 − lr·λ for AdamW, else 1 */
  decay: number;
  /** λ for Adam's L2 term, else 0 */
  l2: number;
}

/** Typed entry points of the native training kernels (formulas: native/xent-train.c). */
export class NativeTrainKernels {
  constructor(private readonly b: TrainBinding) {}

  info(): NativeTrainInfo {
    return this.b.info();
  }

  /** Switches implementation (one of `info().available`); returns the previous one. */
  setIsa(isa: NativeTrainIsa): NativeTrainIsa {
    return call('setIsa', () => this.b.setIsa(isa));
  }

  /** Threads the kernels run on (1 … 64; the caller's thread is one of them); returns the previous count. */
  setThreads(threads: number): number {
    return call('setThreads', () => this.b.setThreads(threads));
  }

  /** C[M, N] = (accumulate ? C : 0) + bias + op(A)·op(B). */
  sgemm(a: SgemmArgs): void {
    const ta = a.transA === true;
    const tb = a.transB === true;
    const lda = a.lda ?? (ta ? a.M : a.K);
    const ldb = a.ldb ?? (tb ? a.K : a.N);
    const ldc = a.ldc ?? a.N;
    call('sgemm', () =>
      this.b.sgemm(ta, tb, a.M, a.N, a.K, a.A, lda, a.B, ldb, a.C, ldc, a.accumulate === true, a.bias ?? null),
    );
  }

  /**
   * The trainer's fused cross-entropy rows on z [N, V] (N = targets.length): per row the loss
   * (1 − ε)·ce + ε·(lse − mean z) into lossOut and ce = lse − z_y into ceOut (float64, 0 for
   * ignored rows); with grad, z becomes scale·(softmax(z) − (1 − ε)·onehot(y) − ε/V).
   */
  ceRows(a: {
    z: Float32Array;
    V: number;
    targets: Int32Array;
    labelSmoothing?: number;
    ignoreIndex?: number;
    scale: number;
    grad: boolean;
    lossOut: Float64Array;
    ceOut: Float64Array;
  }): void {
    call('ceRows', () =>
      this.b.ceRows(
        a.z,
        a.V,
        a.targets,
        a.labelSmoothing ?? 0,
        a.ignoreIndex ?? -100,
        a.scale,
        a.grad,
        a.lossOut,
        a.ceOut,
      ),
    );
  }

  /** Row statistics of z [N, V] into stats [N, 4] (see CeCoefficients). */
  ceStats(a: CeTargetArgs & { z: Float32Array; V: number; stats: Float64Array }): void {
    call('ceStats', () => this.b.ceStats(a.z, a.V, a.targets, a.ignoreIndex ?? -100, a.weight ?? null, a.stats));
  }

  /** z [N, V] ← d loss / d z from its statistics and coefficients. */
  ceGrad(a: CeTargetArgs & CeCoefficients & { z: Float32Array; V: number }): void {
    call('ceGrad', () =>
      this.b.ceGrad(a.z, a.V, a.targets, a.ignoreIndex ?? -100, a.weight ?? null, a.stats, a.alpha, a.beta, a.gamma),
    );
  }

  /** ceStats of the logits Z = h·wᵀ + bias, computed vocabBlock columns at a time (never [N, V]). */
  lceForward(a: LceArgs & { stats: Float64Array }): void {
    call('lceForward', () => this.b.lceForward(...lceHead(a), a.stats));
  }

  /** d loss / d Z block by block, through the layer: dh (+)= dZ·w, dw (+)= dZᵀ·h, db (+)= Σ_n dZ. */
  lceBackward(
    a: LceArgs &
      CeCoefficients & {
        dh?: Float32Array | null;
        dw?: Float32Array | null;
        db?: Float32Array | null;
        accumulate?: boolean;
      },
  ): void {
    call('lceBackward', () =>
      this.b.lceBackward(
        ...lceHead(a),
        a.stats,
        a.alpha,
        a.beta,
        a.gamma,
        a.dh ?? null,
        a.dw ?? null,
        a.db ?? null,
        a.accumulate === true,
      ),
    );
  }

  /** The LSTM recurrence over T steps from the state in rows 0 … B−1 of h and c. */
  lstmForward(a: LstmForwardArgs): void {
    call('lstmForward', () => this.b.lstmForward(a.xg, a.wHh, a.h, a.c, a.act, a.B, a.H, a.T));
  }

  /** Backward through time: dz for every step, and the gradient into the initial state. */
  lstmBackward(a: LstmBackwardArgs): void {
    call('lstmBackward', () => this.b.lstmBackward(a.act, a.c, a.dhs, a.wHh, a.dz, a.dh, a.dc, a.B, a.H, a.T));
  }

  /** out[n] (+)= Σ_m a[m, n] over a [M, N] (bias gradients). */
  colSum(a: { a: Float32Array; M: number; N: number; out: Float32Array; accumulate?: boolean }): void {
    call('colSum', () => this.b.colSum(a.a, a.M, a.N, a.out, a.accumulate === true));
  }

  /** Σ x² in float64 (the squared gradient norm). */
  sumSq(x: Float32Array): number {
    return call('sumSq', () => this.b.sumSq(x));
  }

  /** x ← k·x. */
  scale(x: Float32Array, k: number): void {
    call('scale', () => this.b.scale(x, k));
  }

  /** One Adam(W) step in place (the formulas of src/train/adam.ts, float32). */
  adam(a: AdamArgs): void {
    call('adam', () => this.b.adam(a.p, a.g, a.m, a.v, a.stepSize, a.beta1, a.beta2, a.eps, a.bc2Sqrt, a.decay, a.l2));
  }
}

function lceHead(a: LceArgs): unknown[] {
  return [a.h, a.w, a.bias ?? null, a.targets, a.ignoreIndex ?? -100, a.weight ?? null, a.N, a.D, a.V, a.vocabBlock];
}

export interface CeFromStatsOptions {
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
  zLoss?: number;
  /** 1 for nats (default), 1/ln 2 for bits. */
  scale?: number;
  weight?: ArrayLike<number> | null;
}

/**
 * torch.nn.functional.cross_entropy (hard targets) from the kernels' row statistics, with the
 * reduction arithmetic every xent kernel shares (src/core/cross-entropy-coefficients.ts): the
 * loss (for 'none', Σ of lossRows), the per-row losses for 'none', and the gradient coefficients
 * α, β, γ for ceGrad / lceBackward. Per kept row, with lse = max + log Σ:
 *   nll = w_y·(lse − z_y), smoothing Σ_c w_c·(lse − z_c) = lse·Σw − Σ w·z, z-loss lse²;
 *   α = c_N·w_y + c_S·Σw + 2·c_Z·lse, β = c_N·w_y, γ = c_S (formulas: src/loss/cross-entropy-kernel.ts).
 * Beside the loss, from the same statistics: `nll`, the same reduction of the nll terms alone —
 * F.nll_loss(F.log_softmax(z), targets, weight, ignore_index, reduction), i.e. the loss with
 * label smoothing and z-loss left out (for 'none', Σ of nllRows) — which a trainer reports as
 * the plain cross-entropy beside a smoothed training loss.
 */
export function crossEntropyFromStats(
  stats: Float64Array,
  targets: Int32Array,
  V: number,
  options: CeFromStatsOptions = {},
): {
  loss: number;
  lossRows: Float64Array | null;
  nll: number;
  nllRows: Float64Array | null;
  coefficients: Omit<CeCoefficients, 'stats'>;
} {
  const n = targets.length;
  const reduction = options.reduction ?? 'mean';
  const weight = options.weight ? Float64Array.from(options.weight) : null;
  const lossRows = reduction === 'none' ? new Float64Array(n) : null;
  const nllRows = reduction === 'none' ? new Float64Array(n) : null;
  const args: CrossEntropyArgs = {
    logits: new Float32Array(0),
    n,
    v: V,
    target: targets,
    softTarget: null,
    weight,
    ignoreIndex: options.ignoreIndex ?? -100,
    labelSmoothing: options.labelSmoothing ?? 0,
    zLoss: options.zLoss ?? 0,
    reduction,
    scale: options.scale ?? 1,
    gradOut: null,
    lossOut: lossRows,
  };
  const den = crossEntropyDenominators(args);
  const co = crossEntropyCoefficients(args, den);
  const eps = args.labelSmoothing;
  const z = args.zLoss;
  const sumMain = new NeumaierSum();
  const sumSmooth = new NeumaierSum();
  const sumZ = new NeumaierSum();
  const alpha = new Float64Array(n);
  const beta = new Float64Array(n);
  const gamma = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = targets[i]!;
    if (y === args.ignoreIndex) continue;
    const lse = stats[4 * i]! + stats[4 * i + 1]!;
    const wy = weight === null ? 1 : weight[y]!;
    const main = wy * (lse - stats[4 * i + 2]!);
    const smooth = eps > 0 ? lse * den.weightTotal - stats[4 * i + 3]! : 0;
    const zi = z > 0 ? lse * lse : 0;
    sumMain.add(main);
    if (eps > 0) sumSmooth.add(smooth);
    if (z > 0) sumZ.add(zi);
    if (lossRows) lossRows[i] = args.scale * ((1 - eps) * main + co.epsOverV * smooth + z * zi);
    if (nllRows) nllRows[i] = args.scale * main;
    beta[i] = co.cMain * wy;
    alpha[i] = beta[i]! + (eps > 0 ? co.cSmooth * den.weightTotal : 0) + (z > 0 ? 2 * co.cZ * lse : 0);
    gamma[i] = eps > 0 ? co.cSmooth : 0;
  }
  const loss = reduceCrossEntropy(args, den, co, { main: sumMain.value, smooth: sumSmooth.value, z: sumZ.value });
  let nll: number;
  if (nllRows) {
    const s = new NeumaierSum();
    for (let i = 0; i < n; i++) s.add(nllRows[i]!);
    nll = s.value;
  } else nll = (args.scale * sumMain.value) / (reduction === 'mean' ? den.weightDen : 1);
  return { loss, lossRows, nll, nllRows, coefficients: { alpha, beta, gamma } };
}
