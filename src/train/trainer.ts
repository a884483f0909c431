/**
 * The training loop of `xent train --arch lstm` and `xent distill`: random batches of
 * the token stream (trainer-data.ts), validation cross-entropy every `evalInterval`
 * steps, early stopping on it, the best model written atomically as a model directory
 * (src/models/lstm/lstm-model-dir.ts), a resumable checkpoint at every evaluation and on interruption
 * (trainer-checkpoint.ts), and the train/validation curves as JSON (the TrainCurves
 * schema of src/results/schema.ts).
 *
 * Output directory `out`:
 *   model.json, tokenizer.json, weights.f32   the best model so far (a LanguageModel)
 *   curves.json                               train and validation curves
 *   checkpoint/                               the state to --resume from
 *   nan-batch.json                            only after a NaN loss: the step and batch
 *
 * A resumed run continues the same trajectory: parameters, Adam's moments and step,
 * the sampler's counter, the curves and the early-stopping state all come back, so
 * (at the same --threads) it reaches bit-identical weights.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XentError } from '../core/errors.js';
import { CounterRng } from '../core/rng.js';
import { atomicWriteFileSync } from '../io/atomic-write.js';
import type { LstmConfig } from '../models/lstm/lstm.js';
import { saveLstmModelDir } from '../models/lstm/lstm-model-dir.js';
import type { CurvePoint, TrainCurves } from '../results/schema.js';
import {
  type Fingerprint,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type TrainState,
} from './trainer-checkpoint.js';
import { type Batch, sampleBatch, targetBytes, validationBatches } from './trainer-data.js';

/** What the loop needs from a model being trained (FastLstmTrainer or the distillation student). */
export interface Trainable {
  /** The kernels it runs on, recorded in the results. */
  readonly backend: 'native' | 'wasm';
  readonly config: Readonly<Required<LstmConfig>>;
  /** Live views of the parameters and Adam's state. */
  readonly params: Float32Array;
  readonly adamM: Float32Array;
  readonly adamV: Float32Array;
  adamT: number;
  /** One optimiser step on a batch; loss = training objective, ceNats = plain CE (nats/token). */
  step(batch: Batch): Promise<{ loss: number; ceNats: number; gradNorm?: number }>;
  /** Plain cross-entropy summed over the non-ignored targets (nats), and their count. */
  evaluate(inputs: Int32Array, targets: Int32Array): { sumCeNats: number; count: number };
  close(): void;
}

export interface TrainLoopOptions {
  out: string;
  trainTokens: Int32Array;
  valTokens: Int32Array;
  /** UTF-8 bytes of each token id (length V). */
  tokenBytes: Int32Array;
  byteExact: boolean;
  /** Written into the model directory's tokenizer.json. */
  tokenizerJSON: unknown;
  B: number;
  T: number;
  /** Total optimiser steps of the run (a resumed run continues up to it). */
  steps: number;
  evalInterval: number;
  /** Stop after this many evaluations without a better validation loss (0 = never). */
  patience: number;
  /** At most this many validation targets per evaluation. */
  valTokensMax: number;
  seed: number;
  resume: boolean;
  fingerprint: Fingerprint;
  /** Extra model.json and curves fields (arch, data, settings). */
  meta: Record<string, unknown>;
  settings: Record<string, string | number | boolean>;
  signal?: AbortSignal;
  /** Command named in error messages (default "train"). */
  op?: string;
  onStep?: (info: StepInfo) => void;
  onEval?: (point: CurvePoint, best: boolean) => void;
}

export interface StepInfo {
  step: number;
  steps: number;
  /** Step at which this process started (> 0 after --resume). */
  startStep: number;
  /** Mean training CE of the last step, nats per token. */
  ceNats: number;
  tokensThisRun: number;
}

export interface TrainSummary {
  steps: number;
  best_step: number;
  val_nats_per_token: number;
  val_bits_per_token: number;
  /** NaN when the tokenizer is not byte-exact. */
  val_bits_per_byte: number;
  /** Training tokens per second of this process (evaluation excluded). */
  tokens_per_second: number;
  /** Training tokens per second of this process over the whole loop's wall time (evaluations, checkpoints included). */
  tokens_per_second_with_validation: number;
  /** The kernels that trained it ('js' for the n-gram counts). */
  backend: 'native' | 'wasm' | 'js';
  tokens_seen: number;
  stopped: 'steps' | 'early_stopping' | 'interrupted';
  resumed_from_step: number;
  curves: TrainCurves;
}

const SAMPLER_STREAM = 101;

/** Validation CE of the current parameters: nats per token and bits per byte. */
export function validate(
  model: Trainable,
  batches: Batch[],
  tokenBytes: Int32Array,
): { nats: number; bitsPerByte: number; count: number } {
  let sum = 0;
  let count = 0;
  let bytes = 0;
  for (const b of batches) {
    const r = model.evaluate(b.inputs, b.targets);
    sum += r.sumCeNats;
    count += r.count;
    bytes += targetBytes(b.targets, tokenBytes);
  }
  return { nats: sum / count, bitsPerByte: sum / Math.LN2 / bytes, count };
}

export async function trainLoop(model: Trainable, o: TrainLoopOptions): Promise<TrainSummary> {
  const { B, T, out } = o;
  const OP = o.op ?? 'train';
  const P = model.params.length;
  const valBatches = validationBatches(o.valTokens, B, T, o.valTokensMax);
  const rng = new CounterRng(o.seed, SAMPLER_STREAM);
  let st: Omit<TrainState, 'format' | 'version' | 'params' | 'adam'>;
  if (o.resume) {
    const cp = loadCheckpoint(OP, out, o.fingerprint, P);
    model.params.set(cp.params);
    model.adamM.set(cp.adamM);
    model.adamV.set(cp.adamV);
    model.adamT = cp.state.adam_t;
    const { format: _f, version: _v, params: _p, adam: _a, ...rest } = cp.state;
    st = rest;
    rng.counter = st.rng_counter;
  } else {
    if (hasCheckpoint(out)) {
      throw new XentError(
        'invalid_argument',
        OP,
        `${out} already holds a training run (checkpoint/state.json): pass --resume to continue it, or choose another --out`,
        { arg: '--out', file: out },
      );
    }
    st = {
      fingerprint: o.fingerprint,
      step: 0,
      adam_t: 0,
      rng_counter: 0,
      tokens_seen: 0,
      best_step: -1,
      best_val_nats_per_token: Infinity,
      evals_since_best: 0,
      train_sum_nats: 0,
      train_sum_steps: 0,
      curves: { train: [], val: [] },
    };
  }
  const startStep = st.step;
  const curvesOf = (): TrainCurves => ({
    train: st.curves.train,
    val: st.curves.val,
    ...(st.best_step >= 0 ? { best_step: st.best_step } : {}),
    model: out,
    ...(typeof o.meta.data === 'string' ? { data: o.meta.data } : {}),
    ...(typeof o.meta.arch === 'string' ? { arch: o.meta.arch } : {}),
    settings: o.settings,
    ...(typeof o.meta.xent_version === 'string' ? { xent_version: o.meta.xent_version } : {}),
  });
  const writeCurves = (): void =>
    atomicWriteFileSync(join(out, 'curves.json'), `${JSON.stringify(curvesOf(), null, 1)}\n`);
  const checkpoint = (): void => {
    st.adam_t = model.adamT;
    st.rng_counter = rng.counter;
    saveCheckpoint(out, st, model.params, model.adamM, model.adamV);
  };

  const evaluateNow = (): void => {
    const v = validate(model, valBatches, o.tokenBytes);
    if (!Number.isFinite(v.nats)) {
      writeCurves();
      throw new XentError(
        'numerical_error',
        OP,
        `validation loss is ${v.nats} at step ${st.step}: the parameters are no longer finite (lower --lr or set --clip); the last good checkpoint (step ${st.curves.val.at(-1)?.step ?? 'none'}) is kept in ${out}`,
        { row: st.step, value: v.nats },
      );
    }
    if (st.train_sum_steps > 0) {
      st.curves.train.push({
        step: st.step,
        nats_per_token: st.train_sum_nats / st.train_sum_steps,
        tokens: st.tokens_seen,
      });
      st.train_sum_nats = 0;
      st.train_sum_steps = 0;
    }
    const point: CurvePoint = {
      step: st.step,
      nats_per_token: v.nats,
      tokens: st.tokens_seen,
      ...(o.byteExact ? { bits_per_byte: v.bitsPerByte } : {}),
    };
    st.curves.val.push(point);
    const improved = v.nats < st.best_val_nats_per_token;
    if (improved) {
      st.best_val_nats_per_token = v.nats;
      st.best_step = st.step;
      st.evals_since_best = 0;
      saveLstmModelDir(out, {
        config: model.config,
        params: model.params,
        tokenizer: o.tokenizerJSON,
        byteExact: o.byteExact,
        meta: {
          ...o.meta,
          seq: T,
          step: st.step,
          tokens_seen: st.tokens_seen,
          val_nats_per_token: v.nats,
          ...(o.byteExact ? { val_bits_per_byte: v.bitsPerByte } : {}),
        },
      });
    } else st.evals_since_best++;
    checkpoint();
    writeCurves();
    o.onEval?.(point, improved);
  };

  const loopStart = performance.now();
  if (st.step === 0 && st.curves.val.length === 0) evaluateNow();
  let stopped: TrainSummary['stopped'] = 'steps';
  let trainMs = 0;
  let tokensThisRun = 0;
  try {
    while (st.step < o.steps) {
      if (o.patience > 0 && st.evals_since_best >= o.patience) {
        stopped = 'early_stopping';
        break;
      }
      // Let signal handlers (Ctrl-C) run: the steps themselves never yield to the event loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (o.signal?.aborted) {
        stopped = 'interrupted';
        break;
      }
      const t0 = performance.now();
      const batch = sampleBatch(o.trainTokens, B, T, rng);
      const r = await model.step(batch);
      trainMs += performance.now() - t0;
      if (!Number.isFinite(r.loss) || (r.gradNorm !== undefined && !Number.isFinite(r.gradNorm))) {
        const what = !Number.isFinite(r.loss) ? `loss is ${r.loss}` : `gradient norm is ${r.gradNorm}`;
        const badFile = join(out, 'nan-batch.json');
        writeFileSync(
          badFile,
          `${JSON.stringify({ step: st.step + 1, what, starts: batch.starts, B, T, inputs: Array.from(batch.inputs) })}\n`,
        );
        writeCurves();
        throw new XentError(
          'numerical_error',
          OP,
          `${what} at step ${st.step + 1} (batch of ${B} windows starting at training-token offsets ${batch.starts.slice(0, 4).join(', ')}${B > 4 ? ', …' : ''}; saved to ${badFile}); the update was not applied and the last good checkpoint (step ${st.curves.val.at(-1)?.step ?? 'none'}) is kept in ${out}; lower --lr or set --clip`,
          { row: st.step + 1, value: r.loss, file: badFile },
        );
      }
      st.step++;
      st.tokens_seen += B * T;
      tokensThisRun += B * T;
      st.train_sum_nats += r.ceNats;
      st.train_sum_steps++;
      o.onStep?.({ step: st.step, steps: o.steps, startStep, ceNats: r.ceNats, tokensThisRun });
      if (st.step % o.evalInterval === 0 || st.step === o.steps) evaluateNow();
    }
    if (stopped === 'interrupted' && st.curves.val.at(-1)?.step !== st.step) {
      // Keep every finished step: the checkpoint holds them even between evaluations.
      st.adam_t = model.adamT;
      checkpoint();
      writeCurves();
    }
  } finally {
    model.close();
  }
  const loopMs = performance.now() - loopStart;
  const best = st.curves.val.find((p) => p.step === st.best_step);
  return {
    steps: st.step,
    best_step: st.best_step,
    val_nats_per_token: st.best_val_nats_per_token,
    val_bits_per_token: st.best_val_nats_per_token / Math.LN2,
    val_bits_per_byte: best?.bits_per_byte ?? NaN,
    tokens_per_second: trainMs > 0 ? tokensThisRun / (trainMs / 1000) : NaN,
    tokens_per_second_with_validation: loopMs > 0 ? tokensThisRun / (loopMs / 1000) : NaN,
    backend: model.backend,
    tokens_seen: st.tokens_seen,
    stopped,
    resumed_from_step: startStep,
    curves: curvesOf(),
  };
}
