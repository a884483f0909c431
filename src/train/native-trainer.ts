/**
 * The LSTM language-model trainer on the native training kernels: FastLstmTrainer's interface
 * and math (fast-trainer.ts, validated against PyTorch) with NativeLstmEngine
 * (src/models/lstm/lstm-native-engine.ts) in place of the WebAssembly engine, the native
 * cross-entropy rows `ceRows` as the output loss (each block of logits is overwritten with
 * d loss / d logits), and NativeOptimizer for clipping and Adam(W).
 */
import { XentError } from '../core/errors.js';
import type { NativeTrainKernels } from '../kernels/native-train.js';
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
  /** Per-row loss and plain cross-entropy of one block (float64, ≤ R rows each). */
  private readonly lossRows: Float64Array;
  private readonly ceRows: Float64Array;

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
    this.lossRows = new Float64Array(e.R);
    this.ceRows = new Float64Array(e.R);
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

  /** Output layer + cross-entropy block by block; with `grad`, the engine accumulates the output layer's gradients and dhs. */
  private outputLayer(grad: boolean, count: number): { sumNats: number; sumCe: number } {
    const { V } = this.config;
    const nt = this.engine.kernels;
    const scale = count > 0 ? 1 / count : 0;
    let sumNats = 0;
    let sumCe = 0;
    this.engine.forEachBlock((r0, rows, z) => {
      const lossOut = this.lossRows.subarray(0, rows);
      const ceOut = this.ceRows.subarray(0, rows);
      nt.ceRows({
        z,
        V,
        targets: this.targets.subarray(r0, r0 + rows),
        labelSmoothing: this.labelSmoothing,
        ignoreIndex: this.ignoreIndex,
        scale,
        grad,
        lossOut,
        ceOut,
      });
      for (let r = 0; r < rows; r++) {
        sumNats += lossOut[r]!;
        sumCe += ceOut[r]!;
      }
    }, grad);
    return { sumNats, sumCe };
  }

  /** Loss and gradients (into `this.grads`) of predicting targets [B, T] from inputs [B, T], from a zero state. */
  lossAndGrad(inputs: Int32Array, targets: Int32Array): StepResult {
    const op = 'NativeLstmTrainer.lossAndGrad';
    this.engine.forward(inputs, op);
    const count = this.loadTargets(op, targets);
    const { sumNats, sumCe } = this.outputLayer(true, count);
    this.engine.backward();
    return { loss: count > 0 ? sumNats / count : NaN, ceNats: count > 0 ? sumCe / count : NaN, count };
  }

  /** Loss only (no gradients): sum over non-ignored positions, nats. */
  evaluate(inputs: Int32Array, targets: Int32Array): { sumNats: number; sumCeNats: number; count: number } {
    const op = 'NativeLstmTrainer.evaluate';
    this.engine.forward(inputs, op);
    const count = this.loadTargets(op, targets);
    const { sumNats, sumCe } = this.outputLayer(false, count);
    return { sumNats, sumCeNats: sumCe, count };
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
