/**
 * What the two LSTM language-model trainers share: FastLstmTrainer (fast-trainer.ts, the
 * WebAssembly kernels, validated against PyTorch) and NativeLstmTrainer (native-trainer.ts, the
 * native kernels). Each brings its engine (the recurrence and its gradients), its optimiser
 * (clipping and Adam(W): engine-optimizer.ts, native-optimizer.ts) and its output layer with the
 * loss; this class holds the options, checks and lays out the targets, and runs a step: forward,
 * output layer and loss, backward, optional clipping, Adam.
 *
 * Shapes: inputs and targets [B, T] row-major (b·T + t); the engines' rows are time-major,
 * n = t·B + b, N = B·T.
 */
import { XentError } from '../core/errors.js';
import type { LstmConfig, LstmModel, LstmParams } from '../models/lstm/lstm.js';
import type { LstmTrainEngine } from '../models/lstm/lstm-engine.js';
import type { AdamOptions } from './adam.js';
import type { Optimizer } from './engine-optimizer.js';

export interface FastTrainerOptions {
  /** Batch size B and sequence length T of every step. */
  B: number;
  T: number;
  /** Threads including the main one (default min(2, cores)). */
  threads?: number;
  /** WebAssembly trainer: rows of the output block (default 128): memory for logits is R·V floats, not B·T·V. */
  rowsPerChunk?: number;
  /**
   * The native trainer's output layer (linearCrossEntropy): vocabulary rows per block, its
   * memory an [B·T, vocabBlock] block (default: the op's, about 16 MiB). Unused on WebAssembly.
   */
  vocabBlock?: number;
  labelSmoothing?: number;
  ignoreIndex?: number;
}

export interface StepResult {
  /** Mean training loss (label-smoothed when set), nats per token. */
  loss: number;
  /** Mean plain cross-entropy, nats per token. */
  ceNats: number;
  /** Scored positions. */
  count: number;
  /** Global L2 norm of the gradient before clipping (when computed). */
  gradNorm?: number;
}

/** The engine members a trainer uses (LstmEngine, NativeLstmEngine): its output layer is its own. */
export type TrainerEngine = Pick<
  LstmTrainEngine,
  'config' | 'B' | 'T' | 'R' | 'model' | 'grads' | 'forward' | 'backward' | 'close'
>;

export abstract class LstmTrainerBase<E extends TrainerEngine> {
  readonly config: Readonly<Required<LstmConfig>>;
  readonly B: number;
  readonly T: number;
  readonly R: number;
  /** The model; its parameters are one flat Float32Array. */
  readonly model: LstmModel;
  /** Gradients of the last `lossAndGrad`/`step`, same layout as the parameters. */
  readonly grads: LstmParams;
  /** Adam moments. */
  readonly adamM: Float32Array;
  readonly adamV: Float32Array;
  protected readonly labelSmoothing: number;
  protected readonly ignoreIndex: number;

  protected constructor(
    /** The class name, for errors. */
    private readonly name: string,
    protected readonly engine: E,
    private readonly optimizer: Optimizer,
    opts: FastTrainerOptions,
  ) {
    this.config = engine.config;
    this.B = engine.B;
    this.T = engine.T;
    this.R = engine.R;
    this.model = engine.model;
    this.grads = engine.grads!;
    this.adamM = optimizer.adamM;
    this.adamV = optimizer.adamV;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    this.ignoreIndex = opts.ignoreIndex ?? -100;
  }

  /** Where `loadTargets` writes the targets, time-major [N] (a fresh view each call where it lives in kernel memory). */
  protected abstract targetBuffer(): Int32Array;

  /**
   * Output layer + loss over the loaded targets (`count` of them kept): with `grad`, the means
   * over the kept rows and the gradients into the output layer and the engine's d loss / d hs;
   * without, the sums over the kept rows. Nats: the loss (label-smoothed when set) and the
   * plain cross-entropy.
   */
  protected abstract outputLayer(grad: boolean, count: number): { nats: number; ceNats: number };

  /** Adam step count. */
  get adamT(): number {
    return this.optimizer.adamT;
  }

  set adamT(t: number) {
    this.optimizer.adamT = t;
  }

  close(): void {
    this.engine.close();
  }

  /** Copies targets [B, T] time-major into `targetBuffer()`; returns the non-ignored count. */
  private loadTargets(op: string, targets: Int32Array): number {
    const { V } = this.config;
    const { B, T } = this;
    const N = B * T;
    if (!(targets instanceof Int32Array) || targets.length !== N) {
      throw new XentError('shape_mismatch', op, `targets must be an Int32Array of B·T = ${N} ids`, {
        arg: 'targets',
        expected: N,
      });
    }
    const tg = this.targetBuffer();
    let count = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const y = targets[b * T + t]!;
        if (y !== this.ignoreIndex && (y < 0 || y >= V)) {
          throw new XentError('index_out_of_range', op, `targets[${b}, ${t}] = ${y} is out of range [0, ${V})`, {
            arg: 'targets',
            row: b,
            column: t,
            value: y,
          });
        }
        if (y !== this.ignoreIndex) count++;
        tg[t * B + b] = y;
      }
    }
    return count;
  }

  /** Loss and gradients (into `this.grads`) of predicting targets [B, T] from inputs [B, T], from a zero state. */
  lossAndGrad(inputs: Int32Array, targets: Int32Array): StepResult {
    const op = `${this.name}.lossAndGrad`;
    this.engine.forward(inputs, op);
    const count = this.loadTargets(op, targets);
    const { nats, ceNats } = this.outputLayer(true, count);
    this.engine.backward();
    return { loss: count > 0 ? nats : NaN, ceNats: count > 0 ? ceNats : NaN, count };
  }

  /** Loss only (no gradients): sum over non-ignored positions, nats. */
  evaluate(inputs: Int32Array, targets: Int32Array): { sumNats: number; sumCeNats: number; count: number } {
    const op = `${this.name}.evaluate`;
    this.engine.forward(inputs, op);
    const count = this.loadTargets(op, targets);
    const { nats, ceNats } = this.outputLayer(false, count);
    return { sumNats: nats, sumCeNats: ceNats, count };
  }

  /** Global L2 norm of the current gradients (float64 accumulation). */
  gradNorm(): number {
    return this.optimizer.gradNorm();
  }

  /** torch.nn.utils.clip_grad_norm_ semantics; returns the norm before clipping. */
  clipGradNorm(maxNorm: number): number {
    return this.optimizer.clipGradNorm(maxNorm);
  }

  /** One Adam(W) step on the current gradients (same formulas as src/train/adam.ts). */
  adamStep(options: AdamOptions): void {
    this.optimizer.adamStep(options, `${this.name}.adamStep`);
  }

  /** lossAndGrad, optional clipping, Adam step. */
  step(inputs: Int32Array, targets: Int32Array, adam: AdamOptions, clip?: number): StepResult {
    const r = this.lossAndGrad(inputs, targets);
    const gradNorm = clip !== undefined && clip > 0 ? this.clipGradNorm(clip) : undefined;
    if (Number.isFinite(r.loss) && (gradNorm === undefined || Number.isFinite(gradNorm))) this.adamStep(adam);
    return gradNorm === undefined ? r : { ...r, gradNorm };
  }
}
