/**
 * The fast LSTM language-model trainer: the same math as the plain TypeScript
 * reference (src/models/lstm/lstm-grad.ts, src/models/lstm/output-ce.ts, src/train/adam.ts,
 * src/train/clip.ts), on WebAssembly SIMD kernels (src/kernels/assembly/train-kernels.ts)
 * over one shared memory, split across threads: LstmEngine (src/models/lstm/lstm-engine.ts, which
 * lays out the products) with the fused cross-entropy kernel as its output loss.
 */
import { XentError } from '../core/errors.js';
import type { TrainKernels } from '../kernels/train-kernels.js';
import { type LstmConfig, paramCount } from '../models/lstm/lstm.js';
import { LstmEngine } from '../models/lstm/lstm-engine.js';
import { EngineOptimizer, optimizerBuffers } from './engine-optimizer.js';
import { type FastTrainerOptions, LstmTrainerBase } from './lstm-trainer-base.js';

export type { FastTrainerOptions, StepResult } from './lstm-trainer-base.js';

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
export class FastLstmTrainer extends LstmTrainerBase<LstmEngine> {
  readonly k: TrainKernels;

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
    const engine = new LstmEngine(
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
    super('FastLstmTrainer', engine, new EngineOptimizer(engine), opts);
    this.k = engine.kernels;
  }

  protected targetBuffer(): Int32Array {
    return this.k.i32(this.engine.pointer('targets'), this.B * this.T);
  }

  /** Output layer + cross-entropy over the engine's blocks of rows; with `grad`, the engine accumulates the output layer's gradients and dhs. */
  protected outputLayer(grad: boolean, count: number): { nats: number; ceNats: number } {
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
    return grad ? { nats: sumNats / count, ceNats: sumCe / count } : { nats: sumNats, ceNats: sumCe };
  }
}
