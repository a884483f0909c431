/**
 * Gradient clipping and Adam(W) on an LstmEngine's parameters, in the kernels' memory:
 * the formulas of adam.ts and clip.ts (the plain references) on the trainer's WebAssembly
 * kernels `sumSq`, `scale` and `adam` (src/kernels/train-kernels.ts). The engine (src/models/lstm/lstm-engine.ts) owns
 * the model and its gradients; the optimiser's state (the two moments, the step count and
 * the per-thread partial sums of the norm) is this class's, allocated in the engine's memory
 * through `OPTIMIZER_BUFFERS`.
 */
import type { LstmEngine } from '../models/lstm/lstm-engine.js';
import { type AdamOptions, checkAdamOptions } from './adam.js';

/** The engine buffers the optimiser needs (pass as `extraBuffers`), for P parameters. */
export function optimizerBuffers(P: number): Record<string, number> {
  // partial: one float64 per thread (at most 32 threads in 64 float32 slots)
  return { adamM: P, adamV: P, partial: 64 };
}

/** Clipping and Adam(W) over an engine's parameters: EngineOptimizer (WebAssembly) or NativeOptimizer (native-optimizer.ts). */
export interface Optimizer {
  adamT: number;
  readonly adamM: Float32Array;
  readonly adamV: Float32Array;
  gradNorm(): number;
  clipGradNorm(maxNorm: number): number;
  adamStep(options: AdamOptions, op?: string): void;
}

export class EngineOptimizer implements Optimizer {
  /** Adam's step count. */
  adamT = 0;

  constructor(private readonly engine: LstmEngine) {}

  /** Adam's first moment, a live view. */
  get adamM(): Float32Array {
    return this.engine.kernels.f32(this.engine.pointer('adamM'), this.engine.P);
  }

  /** Adam's second moment, a live view. */
  get adamV(): Float32Array {
    return this.engine.kernels.f32(this.engine.pointer('adamV'), this.engine.P);
  }

  /** Global L2 norm of the current gradients (float64 accumulation). */
  gradNorm(): number {
    const e = this.engine;
    return Math.sqrt(e.kernels.sumSq({ x: e.pointer('grads'), n: e.P, partial: e.pointer('partial') }));
  }

  /** torch.nn.utils.clip_grad_norm_ semantics; returns the norm before clipping. */
  clipGradNorm(maxNorm: number): number {
    const norm = this.gradNorm();
    const coef = maxNorm / (norm + 1e-6);
    if (maxNorm > 0 && coef < 1)
      this.engine.kernels.scale({ x: this.engine.pointer('grads'), n: this.engine.P, k: coef });
    return norm;
  }

  /** One Adam(W) step (the formulas of adam.ts); `op` names the caller in errors. */
  adamStep(options: AdamOptions, op = 'EngineOptimizer.adamStep'): void {
    const o = checkAdamOptions(op, options);
    this.adamT += 1;
    const stepSize = o.lr / (1 - o.beta1 ** this.adamT);
    const bc2Sqrt = Math.sqrt(1 - o.beta2 ** this.adamT);
    const decay = o.decoupled ? 1 - o.lr * o.weightDecay : 1;
    const l2 = o.decoupled ? 0 : o.weightDecay;
    const e = this.engine;
    e.kernels.adam({
      params: e.pointer('params'),
      grads: e.pointer('grads'),
      m: e.pointer('adamM'),
      v: e.pointer('adamV'),
      n: e.P,
      stepSize,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      bc2Sqrt,
      decay,
      l2,
    });
  }
}
