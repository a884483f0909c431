/**
 * linearCrossEntropy — the cross-entropy of the logits Z = hidden · weightᵀ + bias without ever
 * holding Z [N, V]: F.cross_entropy(F.linear(hidden, weight, bias), target, …) of PyTorch 1.13,
 * forward and gradients with respect to hidden, weight and bias. The idea of Apple's Cut
 * Cross-Entropy (Wijmans et al. 2024), Liger's fused linear cross-entropy and PyTorch's
 * `linear_cross_entropy`: the vocabulary is walked in blocks of Vb rows with an online
 * log-sum-exp, and the gradient pass recomputes each block.
 *
 * Shapes: hidden [N, H], weight [V, H] (Linear.weight's layout), bias [V], target [N] class
 * indices (Int32Array). Returns dHidden [N, H], dWeight [V, H], dBias [V] with `grad: true`,
 * and beside the loss its plain cross-entropy `nll` (without label smoothing and z-loss, from the
 * same statistics: no second pass over V). `linearCrossEntropyUnchecked` below is the same op
 * without validation, writing the gradients into the caller's buffers.
 *
 * Semantics: crossEntropy's options where they overlap (reduction, ignoreIndex, labelSmoothing,
 * class `weight`, zLoss, unit; formulas in cross-entropy-kernel.ts), with its quirks: 'mean'
 * with class weights divides by Σ w[target] over kept rows; every row ignored gives 'mean' NaN
 * (gradients all zero), 'sum' 0. Gradients are those of the reduced loss; for reduction 'none'
 * they are the gradients of Σ_n gradOutput[n]·loss[n] (PyTorch's backward(grad_output)), with
 * gradOutput all ones (the gradient of the sum) when not given. Hard targets only.
 *
 * Memory: besides its inputs and the gradients it returns, a call holds one [N, Vb] block and,
 * for the gradients, N·H float64 (JavaScript), the native matrix product's packed panels (at
 * most 16 MiB: native/xent-train-gemm.c's XT_BP_FLOATS) or the WebAssembly kernels' copies
 * (about 3·N·H + 4·Vb·H floats), whatever V; `workspaceBytes` in the result reports the block
 * and the copies.
 *
 * Backends (`backend`): 'js' the float64 reference (linear-cross-entropy-kernel.ts); 'wasm' the
 * WebAssembly SIMD kernels (src/kernels/assembly/lce.ts); 'native' the addon's AVX2/AVX-512
 * kernels (native/xent-train-ops.c) where it is built (Node only; found at run time, never
 * imported statically); 'auto' (default) the fastest available: native, else WebAssembly for
 * float32 inputs of at least AUTO_MIN_MACS multiply-adds, else JavaScript (XENT_BACKEND=js|wasm
 * in the environment makes 'auto' mean that backend, as for the other losses). Float64 inputs always
 * run on JavaScript (the others are float32 kernels), whatever `backend` says, as crossEntropy does.
 *
 * Errors (XentError codes): shape_mismatch (hidden's H against weight's H, target's length
 * against N, bias or gradOutput lengths: both shapes named), invalid_argument (options),
 * index_out_of_range (target[i] ∉ [0, V) and ≠ ignoreIndex), non_finite (NaN or ±Infinity in
 * hidden, weight, bias, class weights or gradOutput, named by row and column), empty_input
 * (V = 0 or H = 0), missing_dependency (backend 'wasm' or 'native' unavailable here).
 */
import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import type { FloatArray, Matrix, Reduction, Unit } from '../core/tensor.js';
import { checkMatrix, describe, isFloatArray } from '../core/tensor.js';
import { defaultBackend } from '../kernels/dispatch.js';
import {
  type LinearCrossEntropyArgs,
  type LinearCrossEntropyCoefficients,
  linearCrossEntropyNative,
  linearCrossEntropyWasm,
  nativeLinearCrossEntropyAvailable,
} from '../kernels/linear-cross-entropy.js';
import { crossEntropyFromStats, nativeTrainUnavailableReason } from '../kernels/native-train.js';
import { resolveThreads } from '../kernels/pool.js';
import { kernelsAvailable, kernelsUnavailableReason } from '../kernels/runtime.js';
import { linearCrossEntropyJs } from './linear-cross-entropy-kernel.js';
import {
  allocLike,
  checkAllFinite,
  checkBoolean,
  checkIndexTarget,
  checkInteger,
  checkNumberIn,
  checkReduction,
  checkUnit,
  checkVector,
  REDUCTIONS,
  unitScale,
} from './validate.js';

const OP = 'linearCrossEntropy';

export type LinearCrossEntropyBackendName = 'auto' | 'js' | 'wasm' | 'native';

/**
 * 'auto' leaves float32 inputs below this many multiply-adds (N·V·H) on JavaScript when the
 * native kernels are absent: the WebAssembly call's fixed costs (copies into its memory, waking
 * the pool) dominate tiny products.
 */
export const AUTO_MIN_MACS = 1 << 16;
/** Below this many multiply-adds the kernels run on the calling thread only (threads not given). */
export const THREADS_MIN_MACS = 1 << 24;

export interface LinearCrossEntropyOptions {
  /** [V] added to every row of the logits (Linear.bias). */
  bias?: FloatArray | null;
  /** 'mean' (default), 'sum' or 'none' (per-row losses). */
  reduction?: Reduction;
  /** Rows whose target equals this are skipped (default −100, PyTorch's). */
  ignoreIndex?: number;
  /** ε ∈ [0, 1]: mixes the target with the uniform distribution (default 0). */
  labelSmoothing?: number;
  /** Per-class weights, length V (PyTorch's `weight` of cross_entropy; not the layer's weight). */
  weight?: ArrayLike<number>;
  /** PaLM z-loss coefficient z ≥ 0: adds z·(log Σ exp Z)² per kept row. */
  zLoss?: number;
  /** 'nat' (default, natural log) or 'bit' (log base 2): scales the loss and the gradients. */
  unit?: Unit;
  /** Also return dHidden, dWeight and dBias. */
  grad?: boolean;
  /** Reduction 'none' with grad: d loss_n's upstream gradient [N] (default all ones: the gradient of the sum). */
  gradOutput?: ArrayLike<number>;
  /** 'auto' (default), 'js', 'wasm' or 'native'. */
  backend?: LinearCrossEntropyBackendName;
  /** Threads for the WebAssembly and native backends (default: all cores, at most 8, for large inputs). */
  threads?: number;
  /** Vocabulary rows per block (default: a block of about 16 MiB native, 8 MiB WebAssembly, 256 rows JavaScript). */
  vocabBlock?: number;
}

export interface LinearCrossEntropyResult<L extends number | Float64Array = number | Float64Array> {
  /** The loss in `unit`s: a number, or per-row losses (Float64Array of N) for reduction 'none'. */
  loss: L;
  /**
   * The same without label smoothing and z-loss, from the same pass: the plain cross-entropy
   * F.nll_loss(F.log_softmax(Z), target, weight, ignore_index, reduction) in `unit`s (equal to
   * `loss` when neither is set), as a training loop reports it beside a smoothed loss.
   */
  nll: L;
  unit: Unit;
  /** d loss / d hidden [N, H], in hidden's float type. */
  dHidden?: FloatArray;
  /** d loss / d weight [V, H], in weight's float type. */
  dWeight?: FloatArray;
  /** d loss / d bias [V], in bias's float type (float32 without a bias); only when a bias was given. */
  dBias?: FloatArray;
  /** The backend that ran. */
  backend: 'js' | 'wasm' | 'native';
  /** Vocabulary rows per block used. */
  vocabBlock: number;
  /** Bytes of working memory the call used besides its inputs and outputs (the block, copies). */
  workspaceBytes: number;
}

export function linearCrossEntropy(
  hidden: Matrix,
  weight: Matrix,
  target: Int32Array,
  options: LinearCrossEntropyOptions & { reduction: 'none' },
): LinearCrossEntropyResult<Float64Array>;
export function linearCrossEntropy(
  hidden: Matrix,
  weight: Matrix,
  target: Int32Array,
  options?: LinearCrossEntropyOptions & { reduction?: 'mean' | 'sum' },
): LinearCrossEntropyResult<number>;
export function linearCrossEntropy(
  hidden: Matrix,
  weight: Matrix,
  target: Int32Array,
  options?: LinearCrossEntropyOptions,
): LinearCrossEntropyResult;
export function linearCrossEntropy(
  hidden: Matrix,
  weight: Matrix,
  target: Int32Array,
  options?: LinearCrossEntropyOptions,
): LinearCrossEntropyResult {
  const o = checkOptions(OP, options) as LinearCrossEntropyOptions;
  const [n, h] = checkMatrix(OP, 'hidden', hidden);
  const [v, hw] = checkMatrix(OP, 'weight', weight);
  const shapes = `hidden.shape [${n}, ${h}], weight.shape [${v}, ${hw}]`;
  if (hw !== h)
    throw new XentError(
      'shape_mismatch',
      OP,
      `${shapes}: hidden has H = ${h} columns but weight has ${hw} (weight is [V, H], Linear.weight's layout)`,
      { arg: 'weight', expected: [v, h], actual: [v, hw] },
    );
  if (v === 0 || h === 0)
    throw new XentError('empty_input', OP, `${shapes}: V and H must be at least 1`, {
      arg: v === 0 ? 'weight' : 'hidden',
      actual: [v, h],
    });
  const reduction = checkReduction(OP, o.reduction, REDUCTIONS, 'mean');
  const unit = checkUnit(OP, o.unit);
  const labelSmoothing = checkNumberIn(OP, 'labelSmoothing', o.labelSmoothing, 0, 1, 0);
  const zLoss = checkNumberIn(OP, 'zLoss', o.zLoss, 0, Infinity, 0);
  const ignoreIndex = checkInteger(OP, 'ignoreIndex', o.ignoreIndex, -100);
  const classWeight =
    o.weight === undefined
      ? null
      : checkVector(OP, 'weight', o.weight, v, `weight.shape [${v}, ${h}] has V = ${v} classes`);
  const wantGrad = checkBoolean(OP, 'grad', o.grad, false);
  const backendOpt = o.backend ?? 'auto';
  if (!['auto', 'js', 'wasm', 'native'].includes(backendOpt as string))
    throw new XentError(
      'invalid_argument',
      OP,
      `backend must be 'auto', 'js', 'wasm' or 'native', got ${describe(o.backend)}`,
      {
        arg: 'backend',
        value: o.backend,
      },
    );
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1))
    throw new XentError('invalid_argument', OP, `threads must be a positive integer, got ${describe(o.threads)}`, {
      arg: 'threads',
      value: o.threads,
    });
  if (o.vocabBlock !== undefined && !(Number.isInteger(o.vocabBlock) && o.vocabBlock >= 1))
    throw new XentError(
      'invalid_argument',
      OP,
      `vocabBlock must be a positive integer, got ${describe(o.vocabBlock)}`,
      {
        arg: 'vocabBlock',
        value: o.vocabBlock,
      },
    );

  if (target instanceof Int32Array && target.length !== n)
    throw new XentError('shape_mismatch', OP, `target has shape [${target.length}] but ${shapes}: N = ${n} rows`, {
      arg: 'target',
      expected: [n],
      actual: [target.length],
    });
  checkIndexTarget(OP, target, n, v, ignoreIndex);

  let bias: FloatArray | null = null;
  if (o.bias !== undefined && o.bias !== null) {
    if (!isFloatArray(o.bias))
      throw new XentError(
        'invalid_argument',
        OP,
        `bias must be a Float32Array or Float64Array, got ${describe(o.bias)}`,
        {
          arg: 'bias',
        },
      );
    if (o.bias.length !== v)
      throw new XentError('shape_mismatch', OP, `bias has shape [${o.bias.length}] but ${shapes}: V = ${v}`, {
        arg: 'bias',
        expected: [v],
        actual: [o.bias.length],
      });
    bias = o.bias;
  }
  let gradOutput: Float64Array | null = null;
  if (o.gradOutput !== undefined) {
    if (reduction !== 'none')
      throw new XentError('invalid_argument', OP, `gradOutput is for reduction 'none' (got reduction '${reduction}')`, {
        arg: 'gradOutput',
      });
    gradOutput = checkVector(OP, 'gradOutput', o.gradOutput, n, `${shapes}: N = ${n} rows`);
  }
  checkAllFinite(OP, 'hidden', hidden.data, h);
  checkAllFinite(OP, 'weight', weight.data, h);
  if (bias !== null) checkAllFinite(OP, 'bias', bias, v);

  const float32 =
    hidden.data instanceof Float32Array &&
    weight.data instanceof Float32Array &&
    (bias === null || bias instanceof Float32Array);
  const macs = n * v * h;
  const name = chooseBackend(backendOpt, float32, macs, n);
  const threads = name === 'js' ? 1 : resolveThreads(o.threads ?? (macs >= THREADS_MIN_MACS ? undefined : 1));
  const vocabBlock = o.vocabBlock ?? defaultVocabBlock(name, n);

  const args: LinearCrossEntropyArgs = {
    hidden: hidden.data,
    weight: weight.data,
    bias,
    n,
    h,
    v,
    target,
    classWeight,
    ignoreIndex,
    vocabBlock,
    threads,
    dHidden: wantGrad ? allocLike(hidden.data, n * h) : null,
    dWeight: wantGrad ? allocLike(weight.data, v * h) : null,
    dBias: wantGrad && bias !== null ? allocLike(bias, v) : null,
  };
  const r = linearCrossEntropyUnchecked(args, { backend: name, reduction, labelSmoothing, zLoss, unit, gradOutput });
  const result: LinearCrossEntropyResult = {
    loss: r.loss,
    nll: r.nll,
    unit,
    backend: name,
    vocabBlock: Math.min(vocabBlock, v),
    workspaceBytes: r.workspaceBytes,
  };
  if (wantGrad) {
    result.dHidden = args.dHidden as FloatArray;
    result.dWeight = args.dWeight as FloatArray;
    if (args.dBias !== null) result.dBias = args.dBias;
  }
  return result;
}

/** linearCrossEntropy's options once checked, with its defaults applied and the backend chosen. */
export interface LinearCrossEntropyPlan {
  backend: 'js' | 'wasm' | 'native';
  reduction: Reduction;
  labelSmoothing: number;
  zLoss: number;
  unit: Unit;
  /** Reduction 'none' with gradients: the upstream gradient [N], or null for all ones. */
  gradOutput: Float64Array | null;
}

/**
 * The unchecked base of linearCrossEntropy (stdlib-js's `base` functions): the same arithmetic
 * and result with no validation, the backend already chosen, and the gradients written into the
 * caller's buffers `args.dHidden`, `args.dWeight`, `args.dBias` (each null when not wanted;
 * written, never accumulated into). For a caller that checks its inputs once and calls this
 * every step, such as the native LSTM trainer: the public op's finiteness scan reads all of
 * hidden and weight (N·H + V·H floats) and its gradients are new arrays every call, which the
 * trainer would then copy into its own gradient buffers. A backend that is not available
 * throws a plain Error here (the public op names it as an XentError).
 */
export function linearCrossEntropyUnchecked(
  args: LinearCrossEntropyArgs,
  plan: LinearCrossEntropyPlan,
): { loss: number | Float64Array; nll: number | Float64Array; workspaceBytes: number } {
  const { target, v, n, classWeight, ignoreIndex } = args;
  const { reduction, gradOutput } = plan;
  const wantGrad = args.dHidden !== null || args.dWeight !== null || args.dBias !== null;
  const backend =
    plan.backend === 'native'
      ? linearCrossEntropyNative
      : plan.backend === 'wasm'
        ? linearCrossEntropyWasm
        : linearCrossEntropyJs;
  let loss: number | Float64Array = NaN;
  let nll: number | Float64Array = NaN;
  const stats = new Float64Array(4 * n);
  const workspaceBytes = backend(args, stats, (s): LinearCrossEntropyCoefficients | null => {
    const r = crossEntropyFromStats(s, target, v, {
      reduction,
      ignoreIndex,
      labelSmoothing: plan.labelSmoothing,
      zLoss: plan.zLoss,
      scale: unitScale(plan.unit),
      weight: classWeight,
    });
    loss = r.lossRows ?? r.loss;
    nll = r.nllRows ?? r.nll;
    if (!wantGrad) return null;
    const co = r.coefficients;
    if (gradOutput !== null)
      for (let i = 0; i < n; i++) {
        const g = gradOutput[i] as number;
        co.alpha[i] = (co.alpha[i] as number) * g;
        co.beta[i] = (co.beta[i] as number) * g;
        co.gamma[i] = (co.gamma[i] as number) * g;
      }
    return co;
  });
  return { loss, nll, workspaceBytes };
}

function chooseBackend(
  want: LinearCrossEntropyBackendName,
  float32: boolean,
  macs: number,
  n: number,
): 'js' | 'wasm' | 'native' {
  if (want === 'auto') want = defaultBackend();
  if (want === 'js' || !float32 || n === 0) return 'js';
  if (want === 'native') {
    if (nativeLinearCrossEntropyAvailable()) return 'native';
    throw new XentError(
      'missing_dependency',
      OP,
      `backend 'native' is unavailable here: ${nativeTrainUnavailableReason()}`,
      {
        arg: 'backend',
        value: 'native',
      },
    );
  }
  if (want === 'wasm') {
    if (kernelsAvailable()) return 'wasm';
    throw new XentError(
      'missing_dependency',
      OP,
      `backend 'wasm' is unavailable here: ${kernelsUnavailableReason()} (in a browser: await initKernels() first)`,
      { arg: 'backend', value: 'wasm' },
    );
  }
  if (nativeLinearCrossEntropyAvailable()) return 'native';
  if (macs >= AUTO_MIN_MACS && kernelsAvailable()) return 'wasm';
  return 'js';
}

/**
 * Rows of the vocabulary per block: a float32 block [N, Vb] of about 16 MiB (native) or 8 MiB
 * (WebAssembly), at least 64 rows. At N = 8192 that is Vb = 512: the products keep their
 * speed (each block is still an 8192 × 512 × H product) while the block stays small beside the
 * gradients the call returns (dWeight alone is V·H floats).
 */
export function defaultVocabBlock(backend: 'js' | 'wasm' | 'native', n: number): number {
  if (backend === 'js') return 256;
  const bytes = backend === 'native' ? 16 << 20 : 8 << 20;
  const vb = Math.floor(bytes / (4 * Math.max(n, 1)) / 64) * 64;
  return Math.min(4096, Math.max(64, vb));
}
