/**
 * The kernel modules xent ships, one entry per family: its name (used in errors), the bytes of
 * its builds (compiled from src/kernels/assembly/ by scripts/build-wasm.mjs and embedded as
 * base64 in src/kernels/generated/) and its exported kernels. The runtime (runtime.ts) loads any
 * of them the same way; the typed entry points live beside their callers' needs:
 *   ce     the losses' kernels (assembly/ce.ts; relaxed build ce-relaxed.ts) → ce-kernels.ts
 *   train  the LSTM trainer's kernels (assembly/train-kernels.ts; relaxed build
 *          train-kernels-relaxed.ts) → train-kernels.ts
 *   kld    the KL-divergence row sums (assembly/kld.ts; no relaxed build) → kld.ts
 *   lce    linearCrossEntropy's blocks: panel product, row statistics, gradient, column sums
 *          (assembly/lce.ts; relaxed build lce-relaxed.ts) → linear-cross-entropy.ts
 * Every export is camelCase and every typed wrapper has the export's name. Each family also
 * exports `trapForTesting` (assembly/lib/trap-for-testing.ts), which only the tests of the
 * error contract call.
 */
import { WASM_BASE64 as CE_PLAIN } from './generated/ce.wasm.js';
import { WASM_BASE64 as CE_RELAXED } from './generated/ce-relaxed.wasm.js';
import { WASM_BASE64 as KLD_PLAIN } from './generated/kld.wasm.js';
import { WASM_BASE64 as LCE_PLAIN } from './generated/lce.wasm.js';
import { WASM_BASE64 as LCE_RELAXED } from './generated/lce-relaxed.wasm.js';
import { WASM_BASE64 as TRAIN_PLAIN } from './generated/train-kernels.wasm.js';
import { WASM_BASE64 as TRAIN_RELAXED } from './generated/train-kernels-relaxed.wasm.js';

export interface KernelModuleSpec<K extends string = string> {
  /** The family's name, as errors print it (`train.mm`). */
  readonly name: string;
  /** The plain SIMD build, base64. */
  readonly plain: string;
  /** The relaxed-SIMD build (fused multiply-add), base64, for families that have one. */
  readonly relaxed?: string;
  /** The exported kernels in a fixed order: the worker pool names a kernel by its index. */
  readonly kernels: readonly K[];
}

export const CE_MODULE = {
  name: 'ce',
  plain: CE_PLAIN,
  relaxed: CE_RELAXED,
  kernels: [
    'sumRows',
    'lseRows',
    'softmaxRows',
    'ceRows',
    'ceSoftRows',
    'bceLogitsRange',
    'klRange',
    'trapForTesting',
  ] as const,
} satisfies KernelModuleSpec;
export type CeKernel = (typeof CE_MODULE.kernels)[number];

export const TRAIN_MODULE = {
  name: 'train',
  plain: TRAIN_PLAIN,
  relaxed: TRAIN_RELAXED,
  kernels: [
    'packB',
    'mm',
    'ceRows',
    'lstmForward',
    'lstmBackward',
    'colSumAcc',
    'sumSq',
    'scale',
    'adam',
    'trapForTesting',
  ] as const,
} satisfies KernelModuleSpec;
export type TrainKernel = (typeof TRAIN_MODULE.kernels)[number];

export const KLD_MODULE = {
  name: 'kld',
  plain: KLD_PLAIN,
  kernels: ['sumExp', 'sumExpF', 'kldLlama', 'kldLlamaF', 'kldExact', 'quantRow', 'minMax', 'trapForTesting'] as const,
} satisfies KernelModuleSpec;
export type KldKernel = (typeof KLD_MODULE.kernels)[number];

export const LCE_MODULE = {
  name: 'lce',
  plain: LCE_PLAIN,
  relaxed: LCE_RELAXED,
  kernels: ['packB', 'mm', 'lceStats', 'lceGrad', 'colSum64', 'trapForTesting'] as const,
} satisfies KernelModuleSpec;
export type LceKernel = (typeof LCE_MODULE.kernels)[number];

/** Every family (initKernels compiles them all). */
export const KERNEL_MODULES: readonly KernelModuleSpec[] = [CE_MODULE, TRAIN_MODULE, KLD_MODULE, LCE_MODULE];
