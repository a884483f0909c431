/**
 * Implementation selection for the row-wise losses. Every public loss validates its
 * input, picks an implementation, then calls an unchecked kernel with the same
 * normalised arguments. The float64 JavaScript reference path ('js') exists for every op;
 * the WebAssembly SIMD kernels (src/kernels/dispatch.ts decides) sit behind
 * logSumExp, logSoftmax, softmax, crossEntropy, binaryCrossEntropyWithLogits and
 * klDivergence. Ops without a kernel (nllLoss, binaryCrossEntropy, distillationLoss)
 * accept and validate the same options and always run the JavaScript path.
 */
import { XentError } from '../core/errors.js';
import { describe } from '../core/tensor.js';

export type Backend = 'auto' | 'js' | 'wasm';

/** Options that choose how (not what) a loss is computed; results are the same for every choice. */
export interface ImplementationOptions {
  /** 'auto' (default): the fastest available for the input size; 'js': the float64 reference path; 'wasm': the WebAssembly kernels. */
  backend?: Backend;
  /** Worker threads for the WebAssembly path (default: chosen by the backend). */
  threads?: number;
}

export interface ResolvedImplementation {
  backend: Backend;
  threads: number | undefined;
}

export function checkImplementationOptions(op: string, options: ImplementationOptions): ResolvedImplementation {
  const { backend, threads } = options;
  if (backend !== undefined && backend !== 'auto' && backend !== 'js' && backend !== 'wasm') {
    throw new XentError('invalid_argument', op, `backend must be 'auto', 'js' or 'wasm', got ${describe(backend)}`, {
      arg: 'backend',
      value: backend,
    });
  }
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new XentError('invalid_argument', op, `threads must be a positive integer, got ${describe(threads)}`, {
      arg: 'threads',
      value: threads,
    });
  }
  return { backend: backend ?? 'auto', threads };
}
