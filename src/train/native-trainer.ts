/**
 * The LSTM language-model trainer on the native training kernels: FastLstmTrainer's interface
 * and math (fast-trainer.ts, validated against PyTorch; the step, the targets and the options
 * are lstm-trainer-base.ts's) with NativeLstmEngine (src/models/lstm/lstm-native-engine.ts) in
 * place of the WebAssembly engine, and NativeOptimizer for clipping and Adam(W).
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
import type { LstmConfig } from '../models/lstm/lstm.js';
import { NativeLstmEngine } from '../models/lstm/lstm-native-engine.js';
import { type FastTrainerOptions, LstmTrainerBase } from './lstm-trainer-base.js';
import { NativeOptimizer } from './native-optimizer.js';

export class NativeLstmTrainer extends LstmTrainerBase<NativeLstmEngine> {
  readonly backend = 'native' as const;
  /** Targets of the current batch, time-major [N]. */
  private readonly targets: Int32Array;
  /** linearCrossEntropy's vocabulary rows per block (undefined: the op's default). */
  private readonly vocabBlock: number | undefined;

  constructor(nt: NativeTrainKernels, config: LstmConfig, opts: FastTrainerOptions, initial?: Float32Array) {
    if (opts.vocabBlock !== undefined && !(Number.isInteger(opts.vocabBlock) && opts.vocabBlock >= 1))
      throw new XentError(
        'invalid_argument',
        'NativeLstmTrainer',
        `vocabBlock must be a positive integer, got ${opts.vocabBlock}`,
        { arg: 'vocabBlock', value: opts.vocabBlock },
      );
    const engine = new NativeLstmEngine(
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
    super('NativeLstmTrainer', engine, new NativeOptimizer(engine), opts);
    this.targets = new Int32Array(engine.B * engine.T);
    this.vocabBlock = opts.vocabBlock;
  }

  get threads(): number {
    return this.engine.threads;
  }

  protected targetBuffer(): Int32Array {
    return this.targets;
  }

  /**
   * Output layer + loss over the loaded targets: with `grad`, the mean loss (PyTorch's
   * reduction 'mean' over the kept rows) and its gradients into dW_out, db_out and the engine's
   * dhs; without, the sums over kept rows. The loss and the plain cross-entropy in nats.
   */
  protected outputLayer(grad: boolean): { nats: number; ceNats: number } {
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
}
