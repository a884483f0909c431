/**
 * The LSTM language-model trainer on the native training kernels: FastLstmTrainer's interface
 * and math (fast-trainer.ts, validated against PyTorch) with NativeLstmEngine
 * (src/models/lstm/lstm-native-engine.ts) in place of the WebAssembly engine, and NativeOptimizer
 * for clipping and Adam(W).
 *
 * The output layer and its loss are the loss library's linearCrossEntropy on the native kernels
 * (src/loss/linear-cross-entropy.ts): logits Z = hs · W_outᵀ + b_out ([N, V], N = B·T) walked in
 * blocks of the vocabulary with an online log-sum-exp, and for the gradients each block
 * recomputed, so neither [N, V] nor a row block of it exists; the output layer's memory is the
 * op's one block [N, Vb] (Vb: its default, about 16 MiB) and its per-row statistics. The op's
 * gradients are written straight into the trainer's buffers (dhs [N, H], dW_out, db_out), and
 * its `nll` is the plain cross-entropy reported beside the label-smoothed loss, from the same
 * pass. It runs through `linearCrossEntropyUnchecked`, the op without its validation: the
 * targets are checked here and the inputs by the engine, and the public op would scan all of
 * hs and W_out for non-finite values (N·H + V·H floats) and return new gradient arrays every
 * step, to be copied into the trainer's (at the seed shape, N = 1600, H = 256, V = 10000, 2
 * threads: the public op plus those copies 309 ms against 252 ms for the unchecked call, medians
 * of 6 on a machine loaded to ~5 by other jobs). A diverged model therefore gives a NaN loss,
 * as on the WebAssembly trainer, which the training loop reports, rather than an error from the
 * scan.
 */
import { XentError } from '../core/errors.js';
import type { LinearCrossEntropyArgs } from '../kernels/linear-cross-entropy.js';
import type { NativeTrainKernels } from '../kernels/native-train.js';
import { defaultVocabBlock, linearCrossEntropyUnchecked } from '../loss/linear-cross-entropy.js';
import type { LstmConfig, LstmModel, LstmParams } from '../models/lstm/lstm.js';
import { NativeLstmEngine } from '../models/lstm/lstm-native-engine.js';
import type { AdamOptions } from './adam.js';
import type { FastTrainerOptions, StepResult } from './fast-trainer.js';
import { NativeOptimizer } from './native-optimizer.js';

export class NativeLstmTrainer {
  readonly backend = 'native' as const;
  readonly config: Readonly<Required<LstmConfig>>;
  readonly B: number;
  readonly T: number;
  readonly R: number;
  /** The model; its parameters are one flat Float32Array. */
  readonly model: LstmModel;
  /** Gradients of the last `lossAndGrad`/`step`, same layout as the parameters. */
  readonly grads: LstmParams;
  readonly adamM: Float32Array;
  readonly adamV: Float32Array;
  private readonly engine: NativeLstmEngine;
  private readonly optimizer: NativeOptimizer;
  private readonly labelSmoothing: number;
  private readonly ignoreIndex: number;
  /** Targets of the current batch, time-major [N]. */
  private readonly targets: Int32Array;
  /** linearCrossEntropy's vocabulary rows per block (undefined: the op's default). */
  private readonly vocabBlock: number | undefined;

  constructor(nt: NativeTrainKernels, config: LstmConfig, opts: FastTrainerOptions, initial?: Float32Array) {
    this.engine = new NativeLstmEngine(
      nt,
      config,
      {
        B: opts.B,
        T: opts.T,
        train: true,
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(opts.rowsPerChunk !== undefined ? { rowsPerChunk: opts.rowsPerChunk } : {}),
      },
      initial,
    );
    const e = this.engine;
    this.config = e.config;
    this.B = e.B;
    this.T = e.T;
    this.R = e.R;
    this.model = e.model;
    this.grads = e.grads!;
    this.optimizer = new NativeOptimizer(e);
    this.adamM = this.optimizer.adamM;
    this.adamV = this.optimizer.adamV;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.targets = new Int32Array(e.B * e.T);
    if (opts.vocabBlock !== undefined && !(Number.isInteger(opts.vocabBlock) && opts.vocabBlock >= 1))
      throw new XentError(
        'invalid_argument',
        'NativeLstmTrainer',
        `vocabBlock must be a positive integer, got ${opts.vocabBlock}`,
        { arg: 'vocabBlock', value: opts.vocabBlock },
      );
    this.vocabBlock = opts.vocabBlock;
  }

  get threads(): number {
    return this.engine.threads;
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

  /** Copies targets [B, T] time-major; returns the non-ignored count. */
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
        this.targets[t * B + b] = y;
      }
    }
    return count;
  }

  /**
   * Output layer + loss over the targets loaded by `loadTargets`: with `grad`, the mean loss
   * (PyTorch's reduction 'mean' over the `count` kept rows) and its gradients into dW_out,
   * db_out and the engine's dhs; without, the sums over kept rows. Returns the loss and the
   * plain cross-entropy in nats, in that reduction.
   */
  private outputLayer(grad: boolean): { nats: number; ceNats: number } {
    const { V, H } = this.config;
    const e = this.engine;
    const N = this.B * this.T;
    const p = this.model.params;
    const args: LinearCrossEntropyArgs = {
      hidden: e.hs,
      weight: p.wOut as Float32Array,
      bias: p.bOut as Float32Array,
      n: N,
      h: H,
      v: V,
      target: this.targets,
      classWeight: null,
      ignoreIndex: this.ignoreIndex,
      vocabBlock: this.vocabBlock ?? defaultVocabBlock('native', N),
      threads: e.threads,
      dHidden: grad ? e.dhs! : null,
      dWeight: grad ? (this.grads.wOut as Float32Array) : null,
      dBias: grad ? (this.grads.bOut as Float32Array) : null,
    };
    const r = linearCrossEntropyUnchecked(args, {
      backend: 'native',
      reduction: grad ? 'mean' : 'sum',
      labelSmoothing: this.labelSmoothing,
      zLoss: 0,
      unit: 'nat',
      gradOutput: null,
    });
    return { nats: r.loss as number, ceNats: r.nll as number };
  }

  /** Loss and gradients (into `this.grads`) of predicting targets [B, T] from inputs [B, T], from a zero state. */
  lossAndGrad(inputs: Int32Array, targets: Int32Array): StepResult {
    const op = 'NativeLstmTrainer.lossAndGrad';
    this.engine.forward(inputs, op);
    const count = this.loadTargets(op, targets);
    const { nats, ceNats } = this.outputLayer(true);
    this.engine.backward();
    return { loss: count > 0 ? nats : NaN, ceNats: count > 0 ? ceNats : NaN, count };
  }

  /** Loss only (no gradients): sum over non-ignored positions, nats. */
  evaluate(inputs: Int32Array, targets: Int32Array): { sumNats: number; sumCeNats: number; count: number } {
    const op = 'NativeLstmTrainer.evaluate';
    this.engine.forward(inputs, op);
    const count = this.loadTargets(op, targets);
    const { nats, ceNats } = this.outputLayer(false);
    return { sumNats: nats, sumCeNats: ceNats, count };
  }

  gradNorm(): number {
    return this.optimizer.gradNorm();
  }

  clipGradNorm(maxNorm: number): number {
    return this.optimizer.clipGradNorm(maxNorm);
  }

  adamStep(options: AdamOptions): void {
    this.optimizer.adamStep(options, 'NativeLstmTrainer.adamStep');
  }

  /** lossAndGrad, optional clipping, Adam step. */
  step(inputs: Int32Array, targets: Int32Array, adam: AdamOptions, clip?: number): StepResult {
    const r = this.lossAndGrad(inputs, targets);
    const gradNorm = clip !== undefined && clip > 0 ? this.clipGradNorm(clip) : undefined;
    if (Number.isFinite(r.loss) && (gradNorm === undefined || Number.isFinite(gradNorm))) this.adamStep(adam);
    return gradNorm === undefined ? r : { ...r, gradNorm };
  }
}
