/**
 * crossEntropy — torch.nn.functional.cross_entropy (PyTorch 1.13) for [N, V] logits,
 * computed in float64 whatever the input float type. See cross-entropy-kernel.ts for
 * the exact formulas (weights, label smoothing, ignoreIndex, soft targets, z-loss).
 *
 * Quirks kept from PyTorch on purpose (each has a conformance fixture):
 * - 'mean' with class weights divides by Σ w[target] over kept rows, not by N;
 * - label smoothing adds (ε/V)·Σ_c −w_c·log p_c per kept row, normalised like the NLL part;
 * - every row ignored: 'mean' → NaN (0/0, gradient all zeros), 'sum' → 0, 'none' → zeros;
 * - −Infinity logits are allowed: a −Infinity target logit gives loss +Infinity (finite
 *   gradient); with label smoothing any −Infinity in a kept row makes the loss +Infinity;
 *   soft targets with 0 where the logit is −Infinity give NaN (0·(−∞)), as PyTorch does;
 * - a row whose logits are all −Infinity gives NaN.
 * - soft targets: ignoreIndex must stay at its default (PyTorch refuses it too).
 *
 * Empty input: N = 0 rows is allowed ('mean' → NaN as in PyTorch, 'sum' → 0, 'none' → an
 * empty array, the gradient is empty). V = 0 classes is an `empty_input` error.
 *
 * Errors (XentError codes): invalid_argument (option types/values, weight length,
 * labelSmoothing ∉ [0, 1]), shape_mismatch (target length/shape, out length),
 * index_out_of_range (target[i] ∉ [0, V) and ≠ ignoreIndex), non_finite (NaN or +Infinity
 * in logits, named by row and column; NaN/±Infinity in soft targets or weights),
 * empty_input (V = 0).
 */

import { checkOptions } from '../core/check-options.js';
import type { CrossEntropyArgs } from '../core/cross-entropy-coefficients.js';
import { XentError } from '../core/errors.js';
import type { FloatArray, Matrix, Reduction, Unit } from '../core/tensor.js';
import { crossEntropyWasm } from '../kernels/cross-entropy.js';
import type { KernelChoice } from '../kernels/dispatch.js';
import { chooseKernel, nonFiniteRowError } from '../kernels/dispatch.js';
import type { ImplementationOptions } from './backend.js';
import { checkImplementationOptions } from './backend.js';
import { crossEntropyUnchecked } from './cross-entropy-kernel.js';
import {
  allocLike,
  checkBoolean,
  checkClassMatrix,
  checkGradDestination,
  checkIndexTarget,
  checkInteger,
  checkLogits,
  checkNumberIn,
  checkReduction,
  checkSoftTarget,
  checkUnit,
  checkVector,
  REDUCTIONS,
  unitScale,
} from './validate.js';

const OP = 'crossEntropy';

/** Class indices (Int32Array of N) or probabilities ({ data, shape: [N, V] }). */
export type CrossEntropyTarget = Int32Array | Matrix;

export interface CrossEntropyOptions extends ImplementationOptions {
  /** 'mean' (default), 'sum' or 'none' (per-row losses). */
  reduction?: Reduction;
  /** Rows whose target equals this are skipped (default −100, PyTorch's). Hard targets only. */
  ignoreIndex?: number;
  /** ε ∈ [0, 1]: mixes the target with the uniform distribution (default 0). */
  labelSmoothing?: number;
  /** Per-class weights, length V (PyTorch's `weight`). */
  weight?: ArrayLike<number>;
  /** 'nat' (default, natural log) or 'bit' (log base 2): scales loss and gradient. */
  unit?: Unit;
  /** PaLM z-loss coefficient z ≥ 0 (e.g. 1e-4): adds z·(log Σ exp x)² per kept row. */
  zLoss?: number;
  /** Also return d loss / d logits (for 'none': the gradient of the sum of the row losses). */
  grad?: boolean;
  /** Write the gradient into this buffer (length N·V) and return it as `grad`; implies grad. */
  out?: FloatArray;
  /** Write the gradient over `logits.data` (no extra N×V memory) and return it as `grad`; implies grad. */
  inPlace?: boolean;
}

export interface CrossEntropyResult<
  L extends number | Float64Array = number | Float64Array,
  G extends FloatArray = FloatArray,
> {
  /** The loss in `unit`s: a number, or per-row losses (Float64Array of N) for reduction 'none'. */
  loss: L;
  /** d loss / d logits, shape [N, V] row-major, in the logits' float type (or out's). */
  grad?: G;
  unit: Unit;
}

export function crossEntropy<A extends FloatArray>(
  logits: Matrix<A>,
  target: CrossEntropyTarget,
  options: CrossEntropyOptions & { reduction: 'none' },
): CrossEntropyResult<Float64Array, A>;
export function crossEntropy<A extends FloatArray>(
  logits: Matrix<A>,
  target: CrossEntropyTarget,
  options?: CrossEntropyOptions & { reduction?: 'mean' | 'sum' },
): CrossEntropyResult<number, A>;
export function crossEntropy<A extends FloatArray>(
  logits: Matrix<A>,
  target: CrossEntropyTarget,
  options?: CrossEntropyOptions,
): CrossEntropyResult<number | Float64Array, A>;
export function crossEntropy(
  logits: Matrix,
  target: CrossEntropyTarget,
  options?: CrossEntropyOptions,
): CrossEntropyResult {
  const args = validateCrossEntropy(OP, logits, target, options);
  const { unit } = args;
  // Implementation choice (src/kernels/dispatch.ts): the WebAssembly kernels for float32
  // logits when chosen, else the float64 JS reference kernel; same arguments, same results.
  const loss = args.kernelChoice.wasm
    ? crossEntropyWasm(args.kernel, {
        threads: args.kernelChoice.threads,
        onNonFinite: (row) => {
          throw nonFiniteRowError(OP, 'logits', logits.data, args.kernel.v, row);
        },
      })
    : crossEntropyUnchecked(args.kernel);
  const result: CrossEntropyResult = { loss: args.kernel.lossOut ?? loss, unit };
  if (args.kernel.gradOut !== null) result.grad = args.kernel.gradOut;
  return result;
}

export interface ValidatedCrossEntropy {
  kernel: CrossEntropyArgs;
  unit: Unit;
  backend: 'auto' | 'js' | 'wasm';
  threads: number | undefined;
  /** Where the kernel runs. When `wasm` is true the logits were NOT pre-scanned for NaN/+Infinity: the WebAssembly kernel detects them (crossEntropyWasm's onNonFinite). */
  kernelChoice: KernelChoice;
}

/** Validates crossEntropy's arguments and normalises them into kernel arguments (allocating outputs). */
export function validateCrossEntropy(
  op: string,
  logits: Matrix,
  target: CrossEntropyTarget,
  options: CrossEntropyOptions | undefined,
): ValidatedCrossEntropy {
  const o = checkOptions(op, options) as CrossEntropyOptions;
  const [n, v] = checkClassMatrix(op, 'logits', logits);
  const impl = checkImplementationOptions(op, o);
  const reduction = checkReduction(op, o.reduction, REDUCTIONS, 'mean');
  const unit = checkUnit(op, o.unit);
  const labelSmoothing = checkNumberIn(op, 'labelSmoothing', o.labelSmoothing, 0, 1, 0);
  const zLoss = checkNumberIn(op, 'zLoss', o.zLoss, 0, Infinity, 0);
  const ignoreIndex = checkInteger(op, 'ignoreIndex', o.ignoreIndex, -100);
  const weight = o.weight === undefined ? null : checkVector(op, 'weight', o.weight, v, `logits have V = ${v} classes`);
  const wantGrad = checkBoolean(op, 'grad', o.grad, false);
  const dest = checkGradDestination(op, o.out, o.inPlace, logits.data, 'logits');

  let hard: Int32Array | null = null;
  let soft: FloatArray | null = null;
  if (target instanceof Int32Array) {
    checkIndexTarget(op, target, n, v, ignoreIndex);
    hard = target;
  } else if (target !== null && typeof target === 'object' && 'data' in target && 'shape' in target) {
    soft = checkSoftTarget(op, target, n, v);
    if (o.ignoreIndex !== undefined && o.ignoreIndex !== -100) {
      throw new XentError(
        'invalid_argument',
        op,
        `ignoreIndex = ${o.ignoreIndex} cannot be used with probability (soft) targets`,
        {
          arg: 'ignoreIndex',
          value: o.ignoreIndex,
        },
      );
    }
  } else {
    checkIndexTarget(op, target, n, v, ignoreIndex); // throws the type error
  }
  // The WebAssembly kernels find NaN/+Infinity themselves while reading the logits, so the
  // full JS pre-scan (a whole extra pass) runs only on the JS path.
  const kernelChoice = chooseKernel(op, impl.backend, impl.threads, n * v, logits.data instanceof Float32Array);
  if (!kernelChoice.wasm) checkLogits(op, 'logits', logits.data, v);

  const gradOut = dest ?? (wantGrad ? allocLike(logits.data, n * v) : null);
  return {
    kernel: {
      logits: logits.data,
      n,
      v,
      target: hard,
      softTarget: soft,
      weight,
      ignoreIndex,
      labelSmoothing,
      zLoss,
      reduction,
      scale: unitScale(unit),
      gradOut,
      lossOut: reduction === 'none' ? new Float64Array(n) : null,
    },
    unit,
    backend: impl.backend,
    threads: impl.threads,
    kernelChoice,
  };
}
