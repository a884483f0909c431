/**
 * Typed entry points of the losses' kernel module (`ce`: src/kernels/assembly/ce.ts, whose
 * header defines the contracts and the layouts), one per export, on the losses' shared kernel
 * instance (runtime.ts). Pointers are byte offsets into that memory.
 *
 * Each call takes `threads` and splits its rows (or its elements, in whole ELEMENT_CHUNKs)
 * into that many contiguous parts over the worker pool (pool.ts); every row is computed by one
 * thread with the same code and cross-row reductions are done afterwards in row order, so
 * results are bit-identical for every thread count. A trap throws the kernel XentError.
 *
 * Row and element indices are absolute: row n of an [N, V] array at `x` is at x + n·V·4, so a
 * staged buffer holding rows [r0, r1) at p is passed as p − r0·V·4 (wrapping modulo 2^32 like
 * the wasm32 address).
 */
import type { CeKernel } from './modules.js';
import { kernelRuntime } from './runtime.js';

/** Element chunk of the elementwise kernels (bceLogitsRange, klRange): one float64 partial sum per chunk. */
export const ELEMENT_CHUNK = 8192;

/**
 * Runs `kernel` over [0, total) split into at most `threads` contiguous parts whose boundaries
 * are multiples of `align`; `argsFor(lo, hi)` gives one part's arguments.
 */
function runSplit(
  kernel: CeKernel,
  total: number,
  threads: number,
  align: number,
  argsFor: (lo: number, hi: number) => readonly number[],
): void {
  const units = Math.ceil(total / align);
  const t = Math.max(1, Math.min(threads, units));
  // Part k covers units [floor(k·units/parts), floor((k+1)·units/parts)).
  kernelRuntime().run(kernel, t, (part, parts) =>
    argsFor(
      Math.min(total, Math.floor((part * units) / parts) * align),
      Math.min(total, Math.floor(((part + 1) * units) / parts) * align),
    ),
  );
}

/** Rows [r0, r1) of a float32 [N, V] matrix at `x`. */
interface Rows {
  x: number;
  V: number;
  r0: number;
  r1: number;
}

/** out[n] = Σ_v x[n, v] (float64 [N] at `out`): one plain read, the bandwidth floor. */
export function sumRows(a: Rows & { out: number }, threads: number): void {
  runSplit('sumRows', a.r1 - a.r0, threads, 1, (lo, hi) => [a.x, a.V, a.r0 + lo, a.r0 + hi, a.out]);
}

/** stats[n] = [m, logS, 0, 0] (float64, 4 per row). */
export function lseRows(a: Rows & { stats: number }, threads: number): void {
  runSplit('lseRows', a.r1 - a.r0, threads, 1, (lo, hi) => [a.x, a.V, a.r0 + lo, a.r0 + hi, a.stats]);
}

/** out = x − lse (log) or e^(x − lse) per row (float32 [N, V], may be x); stats as lseRows. */
export function softmaxRows(a: Rows & { out: number; stats: number; log: boolean }, threads: number): void {
  runSplit('softmaxRows', a.r1 - a.r0, threads, 1, (lo, hi) => [
    a.x,
    a.out,
    a.V,
    a.r0 + lo,
    a.r0 + hi,
    a.stats,
    a.log ? 1 : 0,
  ]);
}

export interface CeRowsArgs extends Rows {
  /** Gradient output, float32 [N, V] (may be x: in place); used only when `coef` ≠ 0. */
  grad: number;
  /** float64 [N, 4] out: [m, logS, smoothSum, x_target]. */
  stats: number;
  /** int32 [N] class indices (outside [0, V): no target element). */
  targets: number;
  /** Fill stats[2] with Σ x (or Σ w·x) for label smoothing. */
  smooth: boolean;
  /** Class weights float32 [V] and float64 [V], or 0 for none. */
  weight32: number;
  weight64: number;
  /** Per-row gradient coefficients float64 [N, 4], or 0 for the forward pass only. */
  coef: number;
}

/** Hard-target cross-entropy statistics and, with `coef`, the fused gradient. */
export function ceRows(a: CeRowsArgs, threads: number): void {
  runSplit('ceRows', a.r1 - a.r0, threads, 1, (lo, hi) => [
    a.x,
    a.grad,
    a.V,
    a.r0 + lo,
    a.r0 + hi,
    a.stats,
    a.targets,
    a.smooth ? 1 : 0,
    a.weight32,
    a.weight64,
    a.coef,
  ]);
}

export interface CeSoftRowsArgs extends Rows {
  /** Target probabilities, float32 [N, V]. */
  probs: number;
  /** Gradient output, float32 [N, V]; used only when `coef` ≠ 0. */
  grad: number;
  /** float64 [N, 4] out: [m, logS, S, T]. */
  stats: number;
  weight32: number;
  weight64: number;
  labelSmoothing: number;
  /** Per-row gradient coefficients float64 [N, 2], or 0 for the forward pass only. */
  coef: number;
}

/** Soft-target (probability) cross-entropy statistics and, with `coef`, the gradient. */
export function ceSoftRows(a: CeSoftRowsArgs, threads: number): void {
  runSplit('ceSoftRows', a.r1 - a.r0, threads, 1, (lo, hi) => [
    a.x,
    a.probs,
    a.grad,
    a.V,
    a.r0 + lo,
    a.r0 + hi,
    a.stats,
    a.weight32,
    a.weight64,
    a.labelSmoothing,
    a.coef,
  ]);
}

/** Elements [i0, i1) of flat float32 arrays (i0 a multiple of ELEMENT_CHUNK), with the outputs to write. */
interface Elements {
  i0: number;
  i1: number;
  /** Write each element's loss (float64 at `loss`) and its gradient (float32 at `grad`, times `gradScale`). */
  writeLoss: boolean;
  writeGrad: boolean;
  loss: number;
  grad: number;
  gradScale: number;
  /** float64 per ELEMENT_CHUNK-element chunk: the chunk's loss sum. */
  partial: number;
}

function outs(a: Elements): number {
  return (a.writeLoss ? 1 : 0) | (a.writeGrad ? 2 : 0);
}

/** Binary cross-entropy with logits x and targets y; weights float64 repeating with their periods, or 0. */
export function bceLogitsRange(
  a: Elements & {
    x: number;
    y: number;
    weight: number;
    weightPeriod: number;
    posWeight: number;
    posWeightPeriod: number;
  },
  threads: number,
): void {
  runSplit('bceLogitsRange', a.i1 - a.i0, threads, ELEMENT_CHUNK, (lo, hi) => [
    a.x,
    a.y,
    a.weight,
    a.weightPeriod,
    a.posWeight,
    a.posWeightPeriod,
    a.i0 + lo,
    a.i0 + hi,
    outs(a),
    a.loss,
    a.grad,
    a.gradScale,
    a.partial,
  ]);
}

/** KL divergence pointwise terms of log-probabilities `input` against `target` (or log-target). */
export function klRange(a: Elements & { input: number; target: number; logTarget: boolean }, threads: number): void {
  runSplit('klRange', a.i1 - a.i0, threads, ELEMENT_CHUNK, (lo, hi) => [
    a.input,
    a.target,
    a.logTarget ? 1 : 0,
    a.i0 + lo,
    a.i0 + hi,
    outs(a),
    a.loss,
    a.grad,
    a.gradScale,
    a.partial,
  ]);
}

/** Tests only: part `trapPart` of `threads` traps (kind 0: unreachable, 1: out-of-bounds load). */
export function trapForTesting(a: { trapPart: number; kind: 0 | 1 }, threads: number): void {
  kernelRuntime().run('trapForTesting', threads, (part, parts) => [a.trapPart, a.kind, part, parts]);
}
