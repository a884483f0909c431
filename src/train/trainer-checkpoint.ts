/**
 * The resumable state of a training run, in `<out>/checkpoint/`:
 *
 *   state.json            {"format":"xent-train-state","version":1,"fingerprint":{…},
 *                          "step":…,"adam_t":…,"rng_counter":…,"best_step":…, …,
 *                          "params":"params-<step>.f32","adam":"adam-<step>.f32"}
 *   params-<step>.f32     the current (not the best) parameters, float32 LE
 *   adam-<step>.f32       Adam's m then v, float32 LE (2P values)
 *   tokenizer.json        the run's tokenizer (reused on resume, never retrained)
 *
 * The binary files carry the step in their name and are written before state.json,
 * which is replaced atomically last; older ones are deleted after it. So a run killed
 * at any moment leaves a state.json whose files exist and match it.
 *
 * The fingerprint holds everything that must be equal to continue the same run
 * (architecture, sizes, optimiser settings, data and tokenizer hashes); --steps,
 * --epochs and --patience may change between a run and its resumption.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { XentError } from '../core/errors.js';
import { atomicWriteFileSync } from '../io/atomic-write.js';
import { float32Bytes, readFloat32File, readJsonFile } from '../models/model-dir.js';
import type { CurvePoint } from '../results/schema.js';

export type Fingerprint = Record<string, string | number | boolean | null>;

export interface TrainState {
  format: 'xent-train-state';
  version: 1;
  fingerprint: Fingerprint;
  /** Optimiser steps taken. */
  step: number;
  adam_t: number;
  /** CounterRng counter of the batch sampler. */
  rng_counter: number;
  tokens_seen: number;
  best_step: number;
  best_val_nats_per_token: number;
  /** Evaluations since the best one (for early stopping). */
  evals_since_best: number;
  /** Training loss summed since the last evaluation (for the train curve). */
  train_sum_nats: number;
  train_sum_steps: number;
  curves: { train: CurvePoint[]; val: CurvePoint[] };
  params: string;
  adam: string;
}

export const CHECKPOINT_DIR = 'checkpoint';
const STATE_FILE = 'state.json';

export function checkpointDir(out: string): string {
  return join(out, CHECKPOINT_DIR);
}

export function hasCheckpoint(out: string): boolean {
  return existsSync(join(checkpointDir(out), STATE_FILE));
}

/** Writes the checkpoint (see the module comment). */
export function saveCheckpoint(
  out: string,
  state: Omit<TrainState, 'format' | 'version' | 'params' | 'adam'>,
  params: Float32Array,
  adamM: Float32Array,
  adamV: Float32Array,
): void {
  const dir = checkpointDir(out);
  mkdirSync(dir, { recursive: true });
  const pName = `params-${state.step}.f32`;
  const aName = `adam-${state.step}.f32`;
  atomicWriteFileSync(join(dir, pName), float32Bytes(params));
  const mv = new Float32Array(adamM.length * 2);
  mv.set(adamM, 0);
  mv.set(adamV, adamM.length);
  atomicWriteFileSync(join(dir, aName), new Uint8Array(mv.buffer));
  const full: TrainState = { format: 'xent-train-state', version: 1, ...state, params: pName, adam: aName };
  atomicWriteFileSync(join(dir, STATE_FILE), `${JSON.stringify(full)}\n`);
  for (const f of readdirSync(dir)) {
    if (/^(params|adam)-\d+\.f32$/.test(f) && f !== pName && f !== aName) rmSync(join(dir, f), { force: true });
  }
}

/** Saves the run's tokenizer next to the state (once, at the start of a fresh run). */
export function saveCheckpointTokenizer(out: string, tokenizerJSON: unknown): void {
  const dir = checkpointDir(out);
  mkdirSync(dir, { recursive: true });
  atomicWriteFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJSON));
}

export function loadCheckpointTokenizer(out: string, op: string): unknown {
  return readJsonFile(op, join(checkpointDir(out), 'tokenizer.json'));
}

/**
 * Loads the checkpoint of `out` and checks its fingerprint against this run's:
 * a different configuration is refused, naming the first setting that differs.
 */
export function loadCheckpoint(
  op: string,
  out: string,
  fingerprint: Fingerprint,
  P: number,
): { state: TrainState; params: Float32Array; adamM: Float32Array; adamV: Float32Array } {
  const dir = checkpointDir(out);
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) {
    throw new XentError(
      'invalid_file',
      op,
      `--resume: ${file} does not exist (no run to continue in ${out}; drop --resume to start one)`,
      { file, arg: '--resume' },
    );
  }
  const s = readJsonFile(op, file) as TrainState;
  if (
    s?.format !== 'xent-train-state' ||
    s.version !== 1 ||
    typeof s.fingerprint !== 'object' ||
    !Number.isInteger(s.step)
  ) {
    throw new XentError('invalid_file', op, `${file} is not an xent training checkpoint`, { file });
  }
  const keys = new Set([...Object.keys(fingerprint), ...Object.keys(s.fingerprint)]);
  for (const k of keys) {
    const a = s.fingerprint[k];
    const b = fingerprint[k];
    if (a !== b) {
      throw new XentError(
        'incompatible',
        op,
        `--resume: the checkpoint in ${dir} was made with ${k} = ${JSON.stringify(a ?? null)}, this run has ${k} = ${JSON.stringify(b ?? null)}; resume with the same settings, or train into another --out`,
        { file, arg: k, expected: a, actual: b },
      );
    }
  }
  const params = readFloat32File(op, join(dir, s.params), P);
  const mv = readFloat32File(op, join(dir, s.adam), 2 * P);
  return { state: s, params, adamM: mv.subarray(0, P), adamV: mv.subarray(P) };
}
