/**
 * The one interface every scored model implements: GGUF models (node-llama-cpp),
 * xent-trained LSTMs and n-grams, and models behind an HTTP server. Evaluation
 * (chunking, statistics, checkpoints) is written once against it.
 *
 * Shapes: a sequence of T token ids; scoring position t means predicting token t+1
 * from tokens 0..t. V is the vocabulary size.
 */

import { XentError } from '../core/errors.js';

export type ModelKind = 'gguf' | 'lstm' | 'ngram' | 'server';

/** What to compute for each scored position. */
export interface ScoreOptions {
  /**
   * First position whose prediction is scored: positions t = from … T−2 predict
   * tokens from+1 … T−1 (llama.cpp scores from = T/2).
   */
  from: number;
  /** Also return the full log-softmax rows (needed for KL divergence). */
  full?: boolean;
  /**
   * With `full`: also return the raw logits (`logits`), where the engine has them, so that
   * llama.cpp's own arithmetic can be reproduced bit for bit (xent kld --compat llama).
   */
  rawLogits?: boolean;
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
}

export interface LanguageModel {
  /** Display name: a file path, a directory, or a server URL and model name. */
  readonly id: string;
  readonly kind: ModelKind;
  /** V. */
  readonly vocabSize: number;
  /** The context length the model was trained with (Infinity when unbounded). */
  readonly trainContextLength: number;
  /** Whether the model expects a BOS token at the start of a sequence. */
  readonly addsBos: boolean;
  /** The BOS token id, when there is one. */
  readonly bosToken: number | undefined;

  /** Tokenises text exactly as the model does, without adding BOS. */
  tokenize(text: string): Promise<Int32Array>;
  /** The text of one token, for per-token output (may be a byte fallback like "<0x0A>"). */
  tokenText(token: number): string;
  /**
   * Evaluates one sequence from a fresh state (no state carried between calls)
   * and scores the positions from `opts.from` on.
   */
  score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores>;
  /**
   * Optional: true when `score` may be called again before the previous call resolves
   * (calls still complete in order). Evaluation then keeps two windows in flight, so
   * that scoring one overlaps the model's work on the next.
   */
  readonly pipelined?: boolean;
  /**
   * Optional: UTF-8 byte length of every token's text (length V), for bits per byte.
   * Without it, evaluation measures `tokenText(t)`'s UTF-8 length.
   */
  tokenBytes?(): Int32Array;
  /**
   * Optional: false when the tokenizer cannot encode every byte sequence (a word-level
   * vocabulary with <unk>): its bits per byte is then not comparable with other models'.
   * Absent means true.
   */
  readonly byteExact?: boolean;
  /** Releases native or remote resources. */
  close(): Promise<void>;
}

/**
 * Checks the arguments of `score` at an adapter's boundary: `from` an integer in
 * [0, T − 1 − minScored] (GGUF and server models score at least one position, minScored
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

const utf8 = new TextEncoder();

/** Byte length of each token's text, for bits per byte. */
export function tokenByteLengths(model: LanguageModel): Int32Array {
  if (model.tokenBytes) return model.tokenBytes();
  const out = new Int32Array(model.vocabSize);
  for (let t = 0; t < out.length; t++) out[t] = utf8.encode(model.tokenText(t)).length;
  return out;
}
