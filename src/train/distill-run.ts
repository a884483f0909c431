/**
 * One distillation run (`xent distill`): load the teacher, tokenise the text with the
 * teacher's tokenizer, train an LSTM student with distill.ts in the training loop
 * (trainer.ts: evaluation, early stopping, best model, checkpoint, --resume), and
 * write the student as a model directory whose tokenizer is the teacher's
 * (for a GGUF teacher, a reference to the GGUF file: see src/models/lstm/lstm-model-dir.ts).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { XentError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { requireFullDistributions } from '../models/language-model.js';
import { loadModel } from '../models/load.js';
import type { GgufTokenizerRef } from '../models/lstm/lstm-model-dir.js';
import { modelDirFile, readJsonFile, readModelJson, TOKENIZER_FILE } from '../models/model-dir.js';
import type { CurvePoint } from '../results/schema.js';
import { tokenizerFromJSON } from '../tokenizers/tokenizer-spec.js';
import { createDistillTrainable } from './distill.js';
import { resolveTrainBackend } from './train-backend.js';
import { type StepInfo, trainLoop } from './trainer.js';
import type { Fingerprint } from './trainer-checkpoint.js';
import { checkStream } from './trainer-data.js';
import { positiveInt, resolveLstmOptions, type TrainRunOptions, type TrainRunResult } from './trainer-run.js';

export interface DistillRunOptions extends Omit<TrainRunOptions, 'arch' | 'vocab' | 'order' | 'labelSmoothing'> {
  /** A .gguf file or an xent model directory. */
  teacher: string;
  temperature?: number;
  alpha?: number;
  onStep?: (info: StepInfo, tokensPerStep: number) => void;
  onEval?: (p: CurvePoint, best: boolean) => void;
}

export interface DistillRunResult extends TrainRunResult {
  teacher: string;
  temperature: number;
  alpha: number;
}

const OP = 'distill';

export async function runDistill(o: DistillRunOptions): Promise<DistillRunResult> {
  const temperature = o.temperature ?? 2;
  const alpha = o.alpha ?? 0.5;
  if (!(temperature > 0) || !Number.isFinite(temperature))
    throw new XentError('invalid_argument', OP, `--temperature must be a positive number, got ${o.temperature}`, {
      arg: '--temperature',
      value: o.temperature,
    });
  if (!(alpha >= 0 && alpha <= 1))
    throw new XentError('invalid_argument', OP, `--alpha must be in [0, 1], got ${o.alpha}`, {
      arg: '--alpha',
      value: o.alpha,
    });
  const seq = positiveInt('--seq', o.seq, 64);
  const backend = resolveTrainBackend(OP, o.backend);
  // One llama.cpp thread: the windows are short, and spinning threads compete with the
  // student's kernels (measured here: 10 ms per 33-token window on 1 thread, 60–1700 ms on 2).
  const teacher = await loadModel(o.teacher, { ctx: seq + 2, threads: 1 });
  try {
    // The soft term needs the teacher's whole distribution at every position.
    requireFullDistributions(teacher, OP, '--teacher', 'distillation');
    let tokenizerJSON: unknown;
    let byteExact: boolean;
    let teacherBytes: number;
    if (teacher.kind === 'gguf') {
      teacherBytes = statSync(o.teacher).size;
      const ref: GgufTokenizerRef = {
        kind: 'gguf',
        version: 1,
        file: resolve(o.teacher),
        vocabSize: teacher.vocabSize,
        bytes: teacherBytes,
      };
      tokenizerJSON = ref;
      byteExact = true;
    } else {
      const { json } = readModelJson(o.teacher, OP);
      tokenizerJSON = readJsonFile(OP, modelDirFile(o.teacher, json, 'tokenizer', TOKENIZER_FILE));
      byteExact = tokenizerFromJSON(tokenizerJSON).byteExact;
      teacherBytes = statSync(modelDirFile(o.teacher, json, 'weights', 'weights.f32')).size;
    }
    const trainTokens = await teacher.tokenize(o.trainText);
    const valTokens = await teacher.tokenize(o.valText);
    checkStream(OP, 'training', trainTokens, seq, o.dataLabel);
    checkStream(OP, 'validation', valTokens, seq, o.dataLabel);
    o.onNote?.(
      `teacher ${o.teacher} (${teacher.kind}, V = ${teacher.vocabSize}): ${trainTokens.length} training tokens, ${valTokens.length} validation tokens`,
    );
    const { E, H, B, lr, clip, weightDecay, evalInterval, patience, valTokensMax, steps } = resolveLstmOptions(
      o,
      trainTokens.length,
      seq,
    );
    const config = { V: teacher.vocabSize, E, H, seed: o.seed >>> 0 };
    const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
    const fingerprint: Fingerprint = {
      arch: 'lstm-distilled',
      teacher: resolve(o.teacher),
      teacher_bytes: teacherBytes,
      temperature,
      alpha,
      train_sha256: sha(o.trainText),
      val_sha256: sha(o.valText),
      V: config.V,
      emb: E,
      hidden: H,
      seed: config.seed,
      seq,
      batch: B,
      lr,
      clip,
      weight_decay: weightDecay,
      eval_interval: evalInterval,
      val_tokens: valTokensMax,
    };
    mkdirSync(o.out, { recursive: true });
    const student = createDistillTrainable(config, {
      B,
      T: seq,
      adam: { lr, weightDecay, decoupled: weightDecay > 0 },
      clip,
      temperature,
      alpha,
      teacher,
      backend,
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
    });
    const settings = {
      backend: student.backend,
      teacher: o.teacher,
      temperature,
      alpha,
      V: config.V,
      emb: E,
      hidden: H,
      seq,
      batch: B,
      lr,
      clip,
      weight_decay: weightDecay,
      seed: config.seed,
      steps,
    };
    const summary = await trainLoop(student, {
      out: o.out,
      trainTokens,
      valTokens,
      tokenBytes: teacher.tokenBytes(),
      byteExact,
      tokenizerJSON,
      B,
      T: seq,
      steps,
      evalInterval,
      patience,
      valTokensMax,
      seed: config.seed,
      resume: o.resume === true,
      op: OP,
      fingerprint,
      meta: { arch: 'lstm', data: o.dataLabel, xent_version: VERSION, distilled_from: o.teacher, temperature, alpha },
      settings,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onStep ? { onStep: (i: StepInfo) => o.onStep!(i, B * seq) } : {}),
      ...(o.onEval ? { onEval: o.onEval } : {}),
    });
    return {
      ...summary,
      arch: 'lstm',
      vocab_size: config.V,
      train_tokens: trainTokens.length,
      val_tokens: valTokens.length,
      byte_exact: byteExact,
      out: o.out,
      teacher: o.teacher,
      temperature,
      alpha,
    };
  } finally {
    await teacher.close();
  }
}
