/**
 * Gradient clipping and Adam(W) on a NativeLstmEngine's parameters (src/models/lstm/lstm-native-engine.ts):
 * the formulas of adam.ts and clip.ts (the plain references), as EngineOptimizer applies them on
 * the WebAssembly kernels, on the native kernels `sumSq`, `scale` and `adam`
 * (src/kernels/native-train.ts). The moments are this class's, plain float32 arrays.
 */
import type { NativeLstmEngine } from '../models/lstm/lstm-native-engine.js';
import { type AdamOptions, checkAdamOptions } from './adam.js';
import type { Optimizer } from './engine-optimizer.js';

export class NativeOptimizer implements Optimizer {
  adamT = 0;
  readonly adamM: Float32Array;
  readonly adamV: Float32Array;

  constructor(private readonly engine: NativeLstmEngine) {
    this.adamM = new Float32Array(engine.P);
    this.adamV = new Float32Array(engine.P);
  }

  private get grads(): Float32Array {
    return this.engine.grads!.flat as Float32Array;
  }

  /** Global L2 norm of the current gradients (float64 accumulation). */
  gradNorm(): number {
    return Math.sqrt(this.engine.kernels.sumSq(this.grads));
  }

  /** torch.nn.utils.clip_grad_norm_ semantics; returns the norm before clipping. */
  clipGradNorm(maxNorm: number): number {
    const norm = this.gradNorm();
    const coef = maxNorm / (norm + 1e-6);
    if (maxNorm > 0 && coef < 1) this.engine.kernels.scale(this.grads, coef);
    return norm;
  }

  /** One Adam(W) step (the formulas of adam.ts); `op` names the caller in errors. */
  adamStep(options: AdamOptions, op = 'NativeOptimizer.adamStep'): void {
    const o = checkAdamOptions(op, options);
    this.adamT += 1;
    this.engine.kernels.adam({
      p: this.engine.model.params.flat as Float32Array,
      g: this.grads,
      m: this.adamM,
      v: this.adamV,
      stepSize: o.lr / (1 - o.beta1 ** this.adamT),
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      bc2Sqrt: Math.sqrt(1 - o.beta2 ** this.adamT),
      decay: o.decoupled ? 1 - o.lr * o.weightDecay : 1,
      l2: o.decoupled ? 0 : o.weightDecay,
    });
  }
}
