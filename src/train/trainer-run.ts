/**
 * One training run from text to a model directory, for `xent train` and the demo:
 * learn the tokenizer on the training text (or reuse the checkpoint's on --resume),
 * encode both splits, then train the LSTM (trainer.ts) or count the Kneser–Ney n-gram.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { XentError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { atomicWriteFileSync } from '../io/atomic-write.js';
import { NgramModel } from '../models/ngram/ngram.js';
import { saveNgramModelDir } from '../models/ngram/ngram-model-dir.js';
import type { CurvePoint, TrainCurves } from '../results/schema.js';
import { tokenizerByteLengths } from '../tokenizers/token-bytes.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { parseTokenizerSpec, tokenizerFromJSON, trainTokenizer } from '../tokenizers/tokenizer-spec.js';
import { scoreNgramText } from './ngram-train.js';
import { resolveTrainBackend } from './train-backend.js';
import { type StepInfo, type TrainSummary, trainLoop } from './trainer.js';
import {
  type Fingerprint,
  hasCheckpoint,
  loadCheckpointTokenizer,
  saveCheckpointTokenizer,
} from './trainer-checkpoint.js';
import { checkStream } from './trainer-data.js';
import { createLstmTrainable } from './trainer-lstm.js';

export interface TrainRunOptions {
  arch: 'lstm' | 'ngram';
  trainText: string;
  valText: string;
  /** Names the data in messages and in curves.json (a file name, or "brown"). */
  dataLabel: string;
  vocab: string;
  /** An already-learned tokenizer to use instead of learning `vocab` (the demo shares one). */
  tokenizer?: Tokenizer;
  out: string;
  seed: number;
  /** n-gram order (2 … 5). */
  order?: number;
  emb?: number;
  hidden?: number;
  seq?: number;
  batch?: number;
  lr?: number;
  steps?: number;
  /** Alternative to steps: passes over the training tokens. */
  epochs?: number;
  clip?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  evalInterval?: number;
  patience?: number;
  valTokens?: number;
  threads?: number;
  /** LSTM kernels: 'native', 'wasm', or undefined for the fastest available (train-backend.ts). */
  backend?: string;
  /** Rows of logits held at once (default: the backend's). */
  rowsPerChunk?: number;
  resume?: boolean;
  signal?: AbortSignal;
  onStep?: (info: StepInfo, tokensPerStep: number) => void;
  onEval?: (p: CurvePoint, best: boolean) => void;
  /** Progress notes (tokenizer learned, tokens counted). */
  onNote?: (msg: string) => void;
}

export interface TrainRunResult extends TrainSummary {
  arch: 'lstm' | 'ngram';
  vocab_size: number;
  train_tokens: number;
  val_tokens: number;
  byte_exact: boolean;
  out: string;
}

const OP = 'train';

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function positiveInt(name: string, v: number | undefined, def: number, min = 1): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min)
    throw new XentError('invalid_argument', OP, `${name} must be an integer ≥ ${min}, got ${v}`, {
      arg: name,
      value: v,
    });
  return x;
}

function num(name: string, v: number | undefined, def: number, lo: number, hi: number, open = false): number {
  const x = v ?? def;
  if (!Number.isFinite(x) || x < lo || x > hi || (open && x === lo)) {
    throw new XentError(
      'invalid_argument',
      OP,
      `${name} must be a number in ${open ? '(' : '['}${lo}, ${hi}], got ${v}`,
      { arg: name, value: v },
    );
  }
  return x;
}

/** The LSTM hyper-parameters of a run, validated, with their defaults. */
export function resolveLstmOptions(o: Omit<TrainRunOptions, 'arch' | 'vocab'>, trainTokens: number, seq: number) {
  const E = positiveInt('--emb', o.emb, 64);
  const H = positiveInt('--hidden', o.hidden, 128);
  const B = positiveInt('--batch', o.batch, 32);
  const lr = num('--lr', o.lr, 0.003, 0, Number.MAX_VALUE, true);
  const clip = num('--clip', o.clip, 1, 0, Infinity);
  const weightDecay = num('--weight-decay', o.weightDecay, 0, 0, 1);
  const labelSmoothing = num('--label-smoothing', o.labelSmoothing, 0, 0, 1);
  const evalInterval = positiveInt('--eval-interval', o.evalInterval, 100);
  const patience = positiveInt('--patience', o.patience, 5, 0);
  const valTokensMax = positiveInt('--val-tokens', o.valTokens, 50000);
  if (o.steps !== undefined && o.epochs !== undefined)
    throw new XentError('invalid_argument', OP, 'give --steps or --epochs, not both', { arg: '--steps' });
  const epochs = o.epochs !== undefined ? num('--epochs', o.epochs, 1, 0, 1e6, true) : undefined;
  const steps =
    epochs !== undefined
      ? Math.max(1, Math.ceil((epochs * trainTokens) / (B * seq)))
      : positiveInt('--steps', o.steps, 1000);
  return { E, H, B, lr, clip, weightDecay, labelSmoothing, evalInterval, patience, valTokensMax, steps };
}

export async function runTraining(o: TrainRunOptions): Promise<TrainRunResult> {
  const spec = parseTokenizerSpec(o.vocab);
  // Before the tokenizer is learned: a --backend that cannot run fails at once.
  const backend = o.arch === 'lstm' ? resolveTrainBackend(OP, o.backend) : undefined;
  const note = o.onNote ?? (() => {});
  mkdirSync(o.out, { recursive: true });
  const resuming = o.resume === true;
  let tokenizer: Tokenizer;
  const t0 = performance.now();
  if (resuming && o.arch === 'lstm' && hasCheckpoint(o.out)) {
    tokenizer = tokenizerFromJSON(loadCheckpointTokenizer(o.out, OP));
  } else if (o.tokenizer) {
    tokenizer = o.tokenizer;
  } else {
    tokenizer = trainTokenizer(spec, o.trainText);
    note(
      `tokenizer ${o.vocab}: V = ${tokenizer.vocabSize} learned in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  const trainTokens = tokenizer.encode(o.trainText);
  const valTokens = tokenizer.encode(o.valText);
  const seq = positiveInt('--seq', o.seq, 64);
  checkStream(OP, 'training', trainTokens, o.arch === 'lstm' ? seq : 1, o.dataLabel);
  checkStream(OP, 'validation', valTokens, seq, o.dataLabel);
  note(`${trainTokens.length} training tokens, ${valTokens.length} validation tokens`);
  const tokenJSON = tokenizer.toJSON();
  const common = {
    arch: o.arch,
    vocab_size: tokenizer.vocabSize,
    train_tokens: trainTokens.length,
    val_tokens: valTokens.length,
    byte_exact: tokenizer.byteExact,
    out: o.out,
  };

  if (o.arch === 'ngram') {
    const order = positiveInt('--order', o.order, 4, 1);
    if (order < 2 || order > 5)
      throw new XentError('invalid_argument', OP, `--order must be in [2, 5], got ${order}`, {
        arg: '--order',
        value: order,
      });
    const tc = performance.now();
    const model = NgramModel.fromTokens(trainTokens, order, tokenizer.vocabSize);
    const seconds = (performance.now() - tc) / 1000;
    const s = scoreNgramText(model, tokenizer, o.valText);
    const point: CurvePoint = {
      step: 0,
      nats_per_token: s.natsPerToken,
      tokens: trainTokens.length,
      ...(tokenizer.byteExact ? { bits_per_byte: s.bitsPerByte } : {}),
    };
    const meta = {
      arch: 'ngram',
      data: o.dataLabel,
      xent_version: VERSION,
      val_nats_per_token: s.natsPerToken,
      ...(tokenizer.byteExact ? { val_bits_per_byte: s.bitsPerByte } : {}),
    };
    saveNgramModelDir(o.out, model, tokenizer, meta);
    const curves: TrainCurves = {
      train: [],
      val: [point],
      best_step: 0,
      model: o.out,
      data: o.dataLabel,
      arch: 'ngram',
      settings: { vocab: o.vocab, order },
      xent_version: VERSION,
    };
    atomicWriteFileSync(join(o.out, 'curves.json'), `${JSON.stringify(curves, null, 1)}\n`);
    o.onEval?.(point, true);
    return {
      ...common,
      steps: 0,
      best_step: 0,
      val_nats_per_token: s.natsPerToken,
      val_bits_per_token: s.bitsPerToken,
      val_bits_per_byte: tokenizer.byteExact ? s.bitsPerByte : NaN,
      tokens_per_second: seconds > 0 ? trainTokens.length / seconds : NaN,
      tokens_per_second_with_validation: seconds > 0 ? trainTokens.length / seconds : NaN,
      backend: 'js',
      tokens_seen: trainTokens.length,
      stopped: 'steps',
      resumed_from_step: 0,
      curves,
    };
  }

  const { E, H, B, lr, clip, weightDecay, labelSmoothing, evalInterval, patience, valTokensMax, steps } =
    resolveLstmOptions(o, trainTokens.length, seq);
  const config = { V: tokenizer.vocabSize, E, H, seed: o.seed >>> 0 };
  const fingerprint: Fingerprint = {
    arch: 'lstm',
    vocab: o.vocab,
    tokenizer_sha256: sha256(JSON.stringify(tokenJSON)),
    train_sha256: sha256(o.trainText),
    val_sha256: sha256(o.valText),
    V: config.V,
    emb: E,
    hidden: H,
    seed: config.seed,
    seq,
    batch: B,
    lr,
    clip,
    weight_decay: weightDecay,
    label_smoothing: labelSmoothing,
    eval_interval: evalInterval,
    val_tokens: valTokensMax,
  };
  if (!resuming) {
    // Refuse before touching checkpoint/: its tokenizer belongs to the run there.
    if (hasCheckpoint(o.out)) {
      throw new XentError(
        'invalid_argument',
        OP,
        `${o.out} already holds a training run (checkpoint/state.json): pass --resume to continue it, or choose another --out`,
        { arg: '--out', file: o.out },
      );
    }
    saveCheckpointTokenizer(o.out, tokenJSON);
  }
  const model = createLstmTrainable(config, {
    B,
    T: seq,
    adam: { lr, weightDecay, decoupled: weightDecay > 0 },
    clip,
    labelSmoothing,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(backend ? { backend } : {}),
    ...(o.rowsPerChunk !== undefined ? { rowsPerChunk: o.rowsPerChunk } : {}),
  });
  const settings = {
    backend: model.backend,
    vocab: o.vocab,
    V: config.V,
    emb: E,
    hidden: H,
    seq,
    batch: B,
    lr,
    clip,
    weight_decay: weightDecay,
    label_smoothing: labelSmoothing,
    seed: config.seed,
    steps,
  };
  const summary = await trainLoop(model, {
    out: o.out,
    trainTokens,
    valTokens,
    tokenBytes: tokenizerByteLengths(tokenizer),
    byteExact: tokenizer.byteExact,
    tokenizerJSON: tokenJSON,
    B,
    T: seq,
    steps,
    evalInterval,
    patience,
    valTokensMax,
    seed: config.seed,
    resume: resuming,
    fingerprint,
    meta: { arch: 'lstm', data: o.dataLabel, xent_version: VERSION, vocab: o.vocab },
    settings,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onStep ? { onStep: (i: StepInfo) => o.onStep!(i, B * seq) } : {}),
    ...(o.onEval ? { onEval: o.onEval } : {}),
  });
  return { ...common, ...summary };
}
