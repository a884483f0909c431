/**
 * The fast LSTM language-model trainer: the same math as the plain TypeScript
 * reference (src/models/lstm/lstm-grad.ts, src/models/lstm/output-ce.ts, src/train/adam.ts,
 * src/train/clip.ts), on WebAssembly SIMD kernels (src/kernels/assembly/train-kernels.ts)
 * over one shared memory, split across threads: LstmEngine (src/models/lstm/lstm-engine.ts, which
 * lays out the products) with the fused cross-entropy kernel as its output loss.
 */
import { XentError } from '../core/errors.js';
import type { TrainKernels } from '../kernels/train-kernels.js';
import { type LstmConfig, type LstmModel, type LstmParams, paramCount } from '../models/lstm/lstm.js';
import { LstmEngine } from '../models/lstm/lstm-engine.js';
import type { AdamOptions } from './adam.js';
import { EngineOptimizer, optimizerBuffers } from './engine-optimizer.js';

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

/**
 * The recurrence, the output-layer products, clipping and Adam are LstmEngine's
 * (src/models/lstm/lstm-engine.ts); this class supplies the loss: each block of logits goes through
 * the fused cross-entropy kernel `ceRows`, which overwrites it with d loss / d logits.
 *
 * Unlike the native trainer, the output layer stays in the engine's row blocks ([R, V], R = 128
 * by default) rather than the loss library's linearCrossEntropy on WebAssembly, which was slower
 * here: its kernels live in another module's memory (hs and every block of W_out copied in, the
 * gradients copied out) and it computes each block of logits twice. Measured at B·T = 1600,
 * H = 256, 2 threads, one process, machine loaded to 1–3 by other jobs (medians of 5): this
 * output layer (forEachBlock + ceRows, gradients included) 308 ms at V = 10000 and 164 ms at
 * V = 4096, against linearCrossEntropy({ backend: 'wasm', grad: true, threads: 2 }) on the same
 * shapes 433–489 ms and 171–201 ms (vocabulary blocks of 256 to 2048; best 512).
 */
export class FastLstmTrainer {
  readonly config: Readonly<Required<LstmConfig>>;
  readonly B: number;
  readonly T: number;
  readonly R: number;
  readonly k: TrainKernels;
  /** The model; its parameters live in the kernels' memory. */
  readonly model: LstmModel;
  /** Gradients of the last `lossAndGrad`/`step`, same layout as the parameters. */
  readonly grads: LstmParams;
  /** Adam moments. */
  readonly adamM: Float32Array;
  readonly adamV: Float32Array;
  private readonly engine: LstmEngine;
  private readonly optimizer: EngineOptimizer;
  private readonly labelSmoothing: number;
  private readonly ignoreIndex: number;

  constructor(config: LstmConfig, opts: FastTrainerOptions, initial?: Float32Array) {
    const { B, T } = opts;
    if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) {
      throw new XentError(
        'invalid_argument',
        'FastLstmTrainer',
        `B and T must be positive integers, got B=${B}, T=${T}`,
        { arg: 'B, T' },
      );
    }
    const N = B * T;
    this.engine = new LstmEngine(
      config,
      {
        B,
        T,
        train: true,
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(opts.rowsPerChunk !== undefined ? { rowsPerChunk: opts.rowsPerChunk } : {}),
        // targets [N] i32; per-row loss and plain cross-entropy, f64 (≤ N rows each)
        extraBuffers: { targets: N, lossNats: 2 * N, ceNats: 2 * N, ...optimizerBuffers(paramCount(config)) },
      },
      initial,
    );
    const e = this.engine;
    this.config = e.config;
    this.B = B;
    this.T = T;
    this.R = e.R;
    this.k = e.kernels;
    this.model = e.model;
    this.grads = e.grads!;
    this.optimizer = new EngineOptimizer(e);
    this.adamM = this.optimizer.adamM;
    this.adamV = this.optimizer.adamV;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    this.ignoreIndex = opts.ignoreIndex ?? -100;
  }

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

  /** Writes targets [B, T] time-major into kernel memory; returns the non-ignored count. */
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
    const tg = this.k.i32(this.engine.pointer('targets'), N);
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

  /** Output layer + cross-entropy over the engine's blocks of rows; with `grad`, the engine accumulates the output layer's gradients and dhs. */
  private outputLayer(grad: boolean, count: number): { sumNats: number; sumCe: number } {
    const { V } = this.config;
    const { k, engine } = this;
    const scale = count > 0 ? 1 / count : 0;
    const block = engine.pointer('block');
    const targets = engine.pointer('targets');
    const lossPtr = engine.pointer('lossNats');
    const cePtr = engine.pointer('ceNats');
    const lossNats = k.f64(lossPtr, this.R);
    const ceNats = k.f64(cePtr, this.R);
    let sumNats = 0;
    let sumCe = 0;
    engine.forEachBlock((r0, rows) => {
      k.ceRows({
        logits: block,
        targets: targets + r0 * 4,
        rows,
        V,
        labelSmoothing: this.labelSmoothing,
        ignoreIndex: this.ignoreIndex,
        scale,
        grad,
        lossOut: lossPtr,
        ceOut: cePtr,
      });
      for (let r = 0; r < rows; r++) {
        sumNats += lossNats[r]!;
        sumCe += ceNats[r]!;
      }
    }, grad);
    return { sumNats, sumCe };
  }

  /** Loss and gradients (into `this.grads`) of predicting targets [B, T] from inputs [B, T], from a zero state. */
  lossAndGrad(inputs: Int32Array, targets: Int32Array): StepResult {
    const op = 'FastLstmTrainer.lossAndGrad';
    this.engine.forward(inputs, op);
    const count = this.loadTargets(op, targets);
    const { sumNats, sumCe } = this.outputLayer(true, count);
    this.engine.backward();
    return { loss: count > 0 ? sumNats / count : NaN, ceNats: count > 0 ? sumCe / count : NaN, count };
  }

  /** Loss only (no gradients): sum over non-ignored positions, nats. */
  evaluate(inputs: Int32Array, targets: Int32Array): { sumNats: number; sumCeNats: number; count: number } {
    const op = 'FastLstmTrainer.evaluate';
    this.engine.forward(inputs, op);
    const count = this.loadTargets(op, targets);
    const { sumNats, sumCe } = this.outputLayer(false, count);
    return { sumNats, sumCeNats: sumCe, count };
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
    this.optimizer.adamStep(options, 'FastLstmTrainer.adamStep');
  }

  /** lossAndGrad, optional clipping, Adam step. */
  step(inputs: Int32Array, targets: Int32Array, adam: AdamOptions, clip?: number): StepResult {
    const r = this.lossAndGrad(inputs, targets);
    const gradNorm = clip !== undefined && clip > 0 ? this.clipGradNorm(clip) : undefined;
    if (Number.isFinite(r.loss) && (gradNorm === undefined || Number.isFinite(gradNorm))) this.adamStep(adam);
    return gradNorm === undefined ? r : { ...r, gradNorm };
  }
}
