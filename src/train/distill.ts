/**
 * Knowledge distillation of an LSTM student from any `LanguageModel` teacher with the
 * same tokenizer (a GGUF model such as stories260K, or a model trained by xent), as a
 * `Trainable` for the training loop (trainer.ts).
 *
 * Per step, for each of the B windows w_b = tokens[s_b … s_b + T] (T + 1 tokens):
 *   teacher: score(w_b, { from: 0, full: true }) → log p_teacher [T, V] (with BOS
 *            prepended and from = 1 when the teacher adds BOS, so its rows still
 *            predict w_b[1 … T])
 *   student: logits z [T, V] on w_b[0 … T−1] from a zero state (src/models/lstm/lstm-engine.ts)
 *   loss   = distillationLoss(z, log p_teacher, { temperature, alpha, target })
 *          = α·T²·KL(softmax(t/τ) ‖ softmax(z/τ)) + (1 − α)·CE(z, y), mean over the B·T rows
 * Log-probabilities work as teacher logits: softmax is invariant to the per-row shift.
 * The gradient w.r.t. z comes from distillationLoss (src/loss/distillation.ts), block by
 * block, and the engine backpropagates it through time; then clipping and Adam(W). The engine
 * is LstmEngine (WebAssembly) or NativeLstmEngine (native kernels), as `backend` says.
 */
import { XentError } from '../core/errors.js';
import { distillationLoss } from '../loss/distillation.js';
import type { LanguageModel } from '../models/language-model.js';
import { createLstmModel, type LstmConfig, paramCount } from '../models/lstm/lstm.js';
import { LstmEngine, type LstmTrainEngine } from '../models/lstm/lstm-engine.js';
import { NativeLstmEngine } from '../models/lstm/lstm-native-engine.js';
import type { AdamOptions } from './adam.js';
import { EngineOptimizer, type Optimizer, optimizerBuffers } from './engine-optimizer.js';
import { NativeOptimizer } from './native-optimizer.js';
import type { ResolvedBackend } from './train-backend.js';
import type { Trainable } from './trainer.js';
import { type Batch, IGNORE } from './trainer-data.js';

export interface DistillTrainableOptions {
  B: number;
  T: number;
  adam: AdamOptions;
  clip?: number;
  /** Softmax temperature τ > 0. */
  temperature: number;
  /** Weight of the soft term in [0, 1]; 1 − alpha weighs the hard-label CE. */
  alpha: number;
  teacher: LanguageModel;
  threads?: number;
  /** The student's kernels (train-backend.ts's `resolveTrainBackend`; default WebAssembly). */
  backend?: ResolvedBackend;
}

/** Plain CE of rows of logits (float64): sum over non-ignored rows, and their count. */
function ceRows(
  z: Float32Array,
  rows: number,
  V: number,
  target: (r: number) => number,
): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const y = target(r);
    if (y === IGNORE) continue;
    const o = r * V;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, z[o + v]!);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(z[o + v]! - mx);
    sum += mx + Math.log(s) - z[o + y]!;
    count++;
  }
  return { sum, count };
}

export function createDistillTrainable(config: LstmConfig, o: DistillTrainableOptions): Trainable {
  const op = 'distill';
  const init = createLstmModel(config);
  const V = init.config.V;
  if (o.teacher.vocabSize !== V) {
    throw new XentError(
      'incompatible',
      op,
      `the teacher ${o.teacher.id} has V = ${o.teacher.vocabSize} but the student has V = ${V}: they must share the tokenizer`,
      { expected: V, actual: o.teacher.vocabSize },
    );
  }
  const { B, T } = o;
  const initial = init.params.flat as Float32Array;
  const threads = o.threads !== undefined ? { threads: o.threads } : {};
  let eng: LstmTrainEngine;
  let opt: Optimizer;
  if (o.backend?.backend === 'native') {
    const ne = new NativeLstmEngine(o.backend.kernels, init.config, { B, T, train: true, ...threads }, initial);
    eng = ne;
    opt = new NativeOptimizer(ne);
  } else {
    const we = new LstmEngine(
      init.config,
      { B, T, train: true, extraBuffers: optimizerBuffers(paramCount(init.config)), ...threads },
      initial,
    );
    eng = we;
    opt = new EngineOptimizer(we);
  }
  const clip = o.clip ?? 0;
  const bos = o.teacher.addsBos && o.teacher.bosToken !== undefined ? o.teacher.bosToken : undefined;
  const N = B * T;
  const teacherRows = new Float32Array(N * V); // time-major like the student: row n = t·B + b

  async function teach(batch: Batch): Promise<void> {
    for (let b = 0; b < B; b++) {
      const w = new Int32Array(T + 1 + (bos !== undefined ? 1 : 0));
      let k = 0;
      if (bos !== undefined) w[k++] = bos;
      w.set(batch.inputs.subarray(b * T, b * T + T), k);
      w[k + T] = batch.targets[b * T + T - 1]!;
      const r = await o.teacher.score(w, { from: k, full: true });
      const lp = r.logProbs;
      if (!lp || lp.length !== T * V) {
        throw new XentError(
          'incompatible',
          op,
          `the teacher ${o.teacher.id} returned ${lp ? lp.length / V : 0} full rows for a window of ${T} predictions`,
          {},
        );
      }
      for (let t = 0; t < T; t++) teacherRows.set(lp.subarray(t * V, t * V + V), (t * B + b) * V);
    }
  }

  return {
    backend: eng.backend,
    config: eng.config,
    params: eng.model.params.flat as Float32Array,
    adamM: opt.adamM,
    adamV: opt.adamV,
    get adamT() {
      return opt.adamT;
    },
    set adamT(t: number) {
      opt.adamT = t;
    },
    async step(batch: Batch) {
      await teach(batch);
      eng.forward(batch.inputs);
      let loss = 0;
      let ce = 0;
      let finite = true;
      eng.forEachBlock((r0, rows, z) => {
        if (!finite) return;
        const target = new Int32Array(rows);
        for (let r = 0; r < rows; r++) {
          const n = r0 + r;
          target[r] = batch.targets[(n % B) * T + Math.floor(n / B)]!;
        }
        let res: ReturnType<typeof distillationLoss>;
        try {
          res = distillationLoss(
            { data: z, shape: [rows, V] },
            { data: teacherRows.subarray(r0 * V, (r0 + rows) * V), shape: [rows, V] },
            { temperature: o.temperature, alpha: o.alpha, target, grad: true },
          );
        } catch (e) {
          if (e instanceof XentError && e.code === 'non_finite') {
            finite = false;
            return;
          }
          throw e;
        }
        loss += res.loss * rows;
        ce += (res.hardLoss ?? NaN) * rows;
        // distillationLoss averages over this block's rows; the step averages over all N.
        const g = res.grad!;
        const k = rows / N;
        for (let i = 0; i < rows * V; i++) z[i] = g[i]! * k;
      }, true);
      if (!finite) return { loss: NaN, ceNats: NaN };
      eng.backward();
      const gradNorm = opt.clipGradNorm(clip);
      if (Number.isFinite(loss) && Number.isFinite(gradNorm)) opt.adamStep(o.adam);
      return { loss: loss / N, ceNats: ce / N, gradNorm };
    },
    evaluate(inputs: Int32Array, targets: Int32Array) {
      eng.forward(inputs);
      let sum = 0;
      let count = 0;
      eng.forEachBlock((r0, rows, z) => {
        const r = ceRows(z, rows, V, (i) => {
          const n = r0 + i;
          return targets[(n % B) * T + Math.floor(n / B)]!;
        });
        sum += r.sum;
        count += r.count;
      });
      return { sumCeNats: sum, count };
    },
    close() {
      eng.close();
    },
  };
}
