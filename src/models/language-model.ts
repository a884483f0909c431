/**
 * The one interface every scored model implements: GGUF models (llama.cpp), LSTMs and
 * n-grams trained by xent, and models behind an OpenAI-compatible endpoint. Evaluation
 * (chunking, statistics, checkpoints), comparison, KL divergence, distillation and
 * `xent serve` are written once against it; every member is required, so no call site
 * has to ask what a model can do by probing for members.
 *
 * Shapes: a sequence of T token ids; scoring position t means predicting token t+1
 * from tokens 0..t. V is the vocabulary size.
 */

import { XentError } from '../core/errors.js';

/**
 * The model family. 'server' is a model behind an OpenAI-compatible endpoint
 * (src/models/remote/); the value is the one results have always carried.
 */
export type ModelKind = 'gguf' | 'lstm' | 'ngram' | 'server';

/**
 * What computes the scores: for GGUF models, 'native' (llama.cpp's raw logits through
 * xent's binding) or 'map' (node-llama-cpp's probability Map); 'wasm' (the LSTM on the
 * WebAssembly kernels); 'js' (the n-gram in JavaScript); 'remote' (an HTTP endpoint).
 */
export type ModelEngine = 'native' | 'map' | 'wasm' | 'js' | 'remote';

/** What to compute for each scored position. */
export interface ScoreOptions {
  /**
   * First position whose prediction is scored: positions t = from … T−2 predict
   * tokens from+1 … T−1 (llama.cpp scores from = T/2).
   */
  from: number;
  /**
   * Also return the full log-softmax rows (needed for KL divergence and distillation).
   * Only for models whose `fullDistributions` is true; the others refuse it.
   */
  full?: boolean;
  /**
   * With `full`: also return the raw logits (`logits`), where the engine has them, so that
   * llama.cpp's own arithmetic can be reproduced bit for bit (xent kld --compat llama).
   */
  rawLogits?: boolean;
  /**
   * Also return llama-perplexity's float32 task log-probabilities of each scored position
   * (`llama`), where the engine reads raw logits natively (the native GGUF engine, which
   * computes them on llama.cpp's rows in place); other engines ignore it. Without `full`, an
   * engine that returns them may return only them: `nats` is then −llama.logProbs and rank,
   * top1 and top1Prob are unknown.
   */
  llamaTaskLogProbs?: boolean;
}

/** Scores of the positions from … T−2 (count = T − 1 − from), all in nats. */
export interface PositionScores {
  /** −log p(true next token), nats, one per scored position. */
  nats: Float64Array;
  /** Rank of the true token among all V (0 = the model's top choice). −1 where unknown. */
  rank: Int32Array;
  /** The model's most likely next token at each position. −1 where unknown. */
  top1: Int32Array;
  /** p(top1) at each position, for calibration. NaN where unknown. */
  top1Prob: Float64Array;
  /** With `full`: row-major [count, V] log-probabilities (nats). */
  logProbs?: Float32Array;
  /** With `full` and `rawLogits`, where the engine has them: row-major [count, V] raw logits (logProbs is then absent). */
  logits?: Float32Array;
  /**
   * With `llamaTaskLogProbs`, where the engine has them: ln p of each position's next token
   * in llama-perplexity's float32 arithmetic (tools/perplexity/perplexity.cpp), through
   * `compute_logprobs` (`logProbs`) and through `softmax` then `std::log` (`softmaxLogProbs`).
   */
  llama?: { logProbs: Float32Array; softmaxLogProbs: Float32Array };
}

export interface LanguageModel {
  /** Display name: a file path, a directory, or an endpoint URL and model name. */
  readonly id: string;
  /** Short name: the file or directory name, or the model's name on its endpoint. */
  readonly name: string;
  readonly kind: ModelKind;
  readonly engine: ModelEngine;
  /** V. */
  readonly vocabSize: number;
  /** The context length the model was trained with (Infinity when unbounded). */
  readonly trainContextLength: number;
  /** Whether the model expects a BOS token at the start of a sequence. */
  readonly addsBos: boolean;
  /** The BOS token id, when there is one. */
  readonly bosToken: number | undefined;
  /**
   * False when the tokenizer cannot encode every byte sequence (a word-level vocabulary
   * with <unk>): its bits per byte is then not comparable with other models'.
   */
  readonly byteExact: boolean;
  /**
   * True when `score` may be called again before the previous call resolves (calls still
   * complete in order). Evaluation then keeps two windows in flight, so that scoring one
   * overlaps the model's work on the next.
   */
  readonly pipelined: boolean;
  /**
   * Calls the model computes at the same time (the native GGUF engine's `contexts`, for its
   * `scoreBatch` calls, which may then complete out of order); 1 where absent.
   */
  readonly concurrency?: number;
  /**
   * Whether `score(…, { full: true })` returns full rows of V log-probabilities. False for
   * a model behind an OpenAI-compatible endpoint, which answers only the true and the
   * top-ranked tokens' log-probabilities; commands that need the rows (KL divergence,
   * distillation) refuse such a model before they start (`requireFullDistributions`).
   */
  readonly fullDistributions: boolean;
  /** CPU threads the model computes with; undefined where it is not a setting (n-gram, remote). */
  readonly threads: number | undefined;

  /** Tokenises text exactly as the model does, without adding BOS. */
  tokenize(text: string): Promise<Int32Array>;
  /**
   * Tokenises UTF-8 bytes (a --data file as read), without adding BOS; the same tokens as
   * `tokenize` of their text, without a string round trip where the engine takes bytes.
   */
  tokenizeBytes(bytes: Uint8Array): Promise<Int32Array>;
  /** The text of one token, for per-token output (may be a byte fallback like "<0x0A>"). */
  tokenText(token: number): string;
  /**
   * UTF-8 byte length of every token's piece (length V; a remote model's covers the tokens
   * it has seen), for bits per byte.
   */
  tokenBytes(): Int32Array;
  /**
   * The bytes of each listed token's piece (what detokenising it alone gives; a piece may
   * hold part of a UTF-8 character). Asynchronous because a remote model may have to ask
   * its endpoint; afterwards `tokenText` and `tokenBytes` know these tokens too.
   */
  tokenPieces(tokens: ArrayLike<number>): Promise<Uint8Array[]>;
  /**
   * Evaluates one sequence from a fresh state (no state carried between calls)
   * and scores the positions from `opts.from` on.
   */
  score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores>;
  /** Releases native or remote resources. */
  close(): Promise<void>;
}

const bomKeepingDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The text of UTF-8 bytes (a BOM kept, invalid sequences as U+FFFD, as Node's Buffer
 * decodes them): `tokenizeBytes` of the adapters whose tokenizers take strings.
 */
export function utf8Text(bytes: Uint8Array): string {
  return bomKeepingDecoder.decode(bytes);
}

/**
 * Refuses, before any work, a model that cannot return full distributions to a command
 * that needs them: `arg` is the option that named the model, `purpose` what needs the rows
 * ("KL divergence", "distillation").
 */
export function requireFullDistributions(model: LanguageModel, op: string, arg: string, purpose: string): void {
  if (model.fullDistributions) return;
  const why =
    model.engine === 'remote'
      ? 'an OpenAI-compatible server answers the log-probabilities of the true and top-ranked tokens only'
      : `its ${model.engine} engine returns scores of the true tokens only`;
  throw new XentError(
    'incompatible',
    op,
    `${purpose} needs full distributions (the log-probabilities of all V tokens at every position), and ${arg} ${model.id} cannot return them: ${why}`,
    { arg },
  );
}

/**
 * Checks the arguments of `score` at an adapter's boundary: `from` an integer in
 * [0, T − 1 − minScored] (GGUF and remote models score at least one position, minScored
 * = 1; trained models accept an empty range, 0), and, when V is known, every token id in [0, V).
 */
export function checkScoreInput(
  op: string,
  tokens: Int32Array,
  from: number,
  V: number | undefined,
  minScored: 0 | 1,
): void {
  const T = tokens.length;
  if (T < 1) throw new XentError('too_short', op, 'tokens is empty: nothing to score', { arg: 'tokens' });
  const last = T - 1 - minScored;
  if (!Number.isInteger(from) || from < 0 || from > last) {
    throw new XentError('invalid_argument', op, `from = ${from} must be an integer in [0, ${last}] for ${T} tokens`, {
      arg: 'from',
      value: from,
    });
  }
  if (V === undefined) return;
  for (let i = 0; i < T; i++) {
    const t = tokens[i]!;
    if (t < 0 || t >= V)
      throw new XentError('index_out_of_range', op, `tokens[${i}] = ${t} is out of range [0, ${V})`, {
        arg: 'tokens',
        row: i,
        value: t,
      });
  }
}
