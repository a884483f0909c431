/**
 * Backend choice for the public losses (src/loss/): which inputs go to the WebAssembly
 * kernels and on how many threads. The answer never changes results beyond float32
 * rounding of per-element work (the JS path is float64 throughout).
 *
 * - backend 'js': always the JS reference path.
 * - backend 'wasm': the kernels for float32 input (float64 input keeps the JS path, which is
 *   exact in float64); an error if the kernels cannot run here (e.g. a browser page that is
 *   not cross-origin isolated, or `initKernels()` not awaited).
 * - backend 'auto' (default): the kernels for float32 input of at least AUTO_MIN_ELEMENTS
 *   elements when they are available, else JS.
 * Threads: `threads` if given; else all cores (at most 8) for inputs of at least
 * THREADS_MIN_ELEMENTS elements, else 1 (waking workers costs tens of microseconds).
 */
import { XentError } from '../core/errors.js';
import { resolveThreads } from './pool.js';
import { kernelsAvailable, kernelsUnavailableReason } from './runtime.js';

/**
 * Below this many elements 'auto' stays on the JS path. Measured with bench/ce/crossover.ts
 * (forward+backward from an ordinary Float32Array, so including the copy into wasm memory; a
 * loaded 2-core machine, 2026-11-28): the kernels already win at 512 elements (13×) and are
 * 1.4–2.6× faster from 2k to 512k elements, ~10× from 2M; the threshold only spares tiny
 * calls the one-off module compilation (a few ms on first use).
 */
export const AUTO_MIN_ELEMENTS = 4096;
/**
 * Below this many elements the kernels run on the calling thread only: in the same
 * measurements a second thread gained nothing up to 512k elements (waking a worker and the
 * copy on the main thread dominate) and 1.1–1.35× from 2M.
 */
export const THREADS_MIN_ELEMENTS = 1 << 20;

/**
 * The backend that 'auto' means: XENT_BACKEND=js|wasm in the environment (where there is one)
 * forces it, for debugging and for running the whole conformance suite on each backend;
 * otherwise 'auto'. An explicit `backend` option always wins.
 */
export function defaultBackend(): 'auto' | 'js' | 'wasm' {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.XENT_BACKEND;
  return env === 'js' || env === 'wasm' ? env : 'auto';
}

export interface KernelChoice {
  /** Run on the WebAssembly kernels. */
  wasm: boolean;
  /** Threads for the kernels (1 when wasm is false). */
  threads: number;
}

/**
 * Decides where a loss on `elements` input elements runs. `float32` says whether every
 * N×V-sized input is a Float32Array (the kernels' type).
 */
export function chooseKernel(
  op: string,
  backend: 'auto' | 'js' | 'wasm',
  threads: number | undefined,
  elements: number,
  float32: boolean,
): KernelChoice {
  if (backend === 'auto') backend = defaultBackend();
  if (backend === 'js' || !float32) return { wasm: false, threads: 1 };
  if (backend === 'auto' && elements < AUTO_MIN_ELEMENTS) return { wasm: false, threads: 1 };
  if (!kernelsAvailable()) {
    if (backend === 'auto') return { wasm: false, threads: 1 };
    throw new XentError(
      'missing_dependency',
      op,
      `backend 'wasm' is unavailable here: ${kernelsUnavailableReason()} (in a browser: await initKernels() first, on a cross-origin isolated page)`,
      {
        arg: 'backend',
        value: 'wasm',
      },
    );
  }
  const t = threads ?? (elements >= THREADS_MIN_ELEMENTS ? undefined : 1);
  return { wasm: true, threads: resolveThreads(t) };
}

/**
 * The error the JS validator (checkLogits in src/loss/validate.ts) raises for the first
 * NaN or +Infinity of `row`, for kernels that detect such rows themselves (their logS is NaN).
 * Same code, message and fields, so the backend choice never changes what callers see.
 */
export function nonFiniteRowError(op: string, arg: string, data: ArrayLike<number>, v: number, row: number): XentError {
  let column = 0;
  for (let j = 0; j < v; j++) {
    const x = data[row * v + j] as number;
    if (!(x < Infinity)) {
      column = j;
      break;
    }
  }
  const x = data[row * v + column] as number;
  return new XentError('non_finite', op, `${arg}[${row}, ${column}] is ${x}; ${arg} must be finite or -Infinity`, {
    arg,
    row,
    column,
    value: x,
  });
}
