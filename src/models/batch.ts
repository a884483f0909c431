/**
 * Scoring several sequences at once, for any LanguageModel.
 *
 *  - `scoreBatch(model, requests)`: log-likelihood benchmarks score the endings of one
 *    context, `xent serve` a batch of prompts. A model that decodes several sequences in
 *    one pass (the native GGUF engine: one llama_batch, a shared prefix decoded once)
 *    implements `BatchScorer`; any other model is scored one request at a time through
 *    `score()`, with the same results.
 *  - `ChunkScorer`: llama-perplexity's chunks, decoded the way llama-perplexity decodes
 *    them (several chunks side by side per decode when ctx < its batch, one chunk in
 *    micro-batch pieces otherwise), and handed over in slices of rows so that long
 *    contexts need memory for one slice, not one chunk (src/eval/evaluate.ts, kld.ts).
 *
 * Shapes: request r has T_r tokens; positions from_r … T_r−2 are scored (count_r rows);
 * V is the vocabulary size.
 */
import { XentError } from '../core/errors.js';
import { checkScoreInput, type LanguageModel, type PositionScores } from './language-model.js';

export interface BatchRequest {
  /** The sequence, T tokens, scored from a fresh state. */
  tokens: Int32Array;
  /** Positions from … T−2 are scored (they predict tokens from+1 … T−1). */
  from: number;
  /**
   * Optional: this request's first `prefix` tokens equal those of the request before it
   * (the context shared by the endings of one question). An engine may decode them once
   * for the whole run of requests that share them; the scores do not change.
   */
  prefix?: number;
}

export interface BatchOptions {
  /** Also return the full log-softmax rows [count_r, V] of each request. */
  full?: boolean;
  /** With `full`: raw logits instead, where the engine has them. */
  rawLogits?: boolean;
  /** llama-perplexity's task log-probabilities (PositionScores.llama), where the engine has them. */
  llamaTaskLogProbs?: boolean;
}

/** A model that scores a batch of requests in fewer passes than one per request. */
export interface BatchScorer {
  scoreBatch(requests: readonly BatchRequest[], opts?: BatchOptions): Promise<PositionScores[]>;
}

/** One slice of the rows of a group of chunks: rows row … row+n−1 of chunk `chunk`. */
export interface ChunkSlice {
  /** Index of the chunk within the group. */
  chunk: number;
  /** First row (scored position − from) of the slice. */
  row: number;
  scores: PositionScores;
}

/** llama-perplexity's chunk decoding (tools/perplexity/perplexity.cpp, perplexity()). */
export interface ChunkScorer {
  /** How many chunks of T tokens one decode holds: max(1, ⌊n_batch / T⌋), llama-perplexity's n_seq. */
  chunkGroupSize(T: number): number;
  /**
   * Scores chunks of equal length T (at most chunkGroupSize(T)), decoded together,
   * positions from … T−2 of each; the same numbers as score() would give where the
   * engine's arithmetic does not depend on the batch (see the engine's notes).
   */
  scoreChunks(
    chunks: readonly Int32Array[],
    opts: { from: number; full?: boolean; rawLogits?: boolean },
  ): Promise<PositionScores[]>;
  /**
   * The same, as slices in order (chunk by chunk, rows ascending), each produced by one
   * decode: with `full`, memory holds a slice's rows, not a chunk's. A slice's arrays are
   * valid until the next slice is asked for (the engine reuses them).
   */
  scoreChunkSlices(
    chunks: readonly Int32Array[],
    opts: { from: number; full?: boolean; rawLogits?: boolean },
  ): AsyncGenerator<ChunkSlice>;
}

export function isBatchScorer(model: LanguageModel): model is LanguageModel & BatchScorer {
  return typeof (model as Partial<BatchScorer>).scoreBatch === 'function';
}

export function isChunkScorer(model: LanguageModel): model is LanguageModel & ChunkScorer {
  const m = model as Partial<ChunkScorer>;
  return typeof m.scoreChunks === 'function' && typeof m.chunkGroupSize === 'function';
}

/**
 * Checks a batch at the boundary: each request's tokens and `from` (checkScoreInput),
 * and each `prefix` against the previous request's tokens.
 */
export function checkBatchRequests(op: string, requests: readonly BatchRequest[], V: number, minScored: 0 | 1): void {
  if (!Array.isArray(requests))
    throw new XentError('invalid_argument', op, 'requests must be an array of { tokens, from, prefix? }', {
      arg: 'requests',
    });
  for (let r = 0; r < requests.length; r++) {
    const q = requests[r]!;
    if (!(q?.tokens instanceof Int32Array))
      throw new XentError('invalid_argument', op, `requests[${r}].tokens must be an Int32Array`, {
        arg: 'requests',
        row: r,
      });
    try {
      checkScoreInput(op, q.tokens, q.from, V, minScored);
    } catch (e) {
      if (e instanceof XentError)
        throw new XentError(e.code, op, `requests[${r}]: ${e.message}`, { ...e.fields, request: r });
      throw e;
    }
    const p = q.prefix ?? 0;
    if (p === 0) continue;
    const prev = requests[r - 1];
    const limit = Math.min(q.tokens.length, prev?.tokens.length ?? 0);
    if (!Number.isInteger(p) || p < 0 || r === 0 || p > limit)
      throw new XentError(
        'invalid_argument',
        op,
        `requests[${r}].prefix = ${p} must be an integer in [0, ${limit}]${r === 0 ? ' (the first request has no request before it: 0)' : ' (the shorter of this and the previous request)'}`,
        { arg: 'prefix', row: r, value: p },
      );
    for (let i = 0; i < p; i++) {
      if (q.tokens[i] !== prev!.tokens[i])
        throw new XentError(
          'invalid_argument',
          op,
          `requests[${r}].prefix = ${p}, but its token ${i} (${q.tokens[i]}) differs from the previous request's (${prev!.tokens[i]})`,
          { arg: 'prefix', row: r, column: i },
        );
    }
  }
}

/**
 * Scores every request: in one or a few decodes where the model implements BatchScorer,
 * else one `score()` call per request, in order. Results are in request order.
 */
export async function scoreBatch(
  model: LanguageModel,
  requests: readonly BatchRequest[],
  opts: BatchOptions = {},
): Promise<PositionScores[]> {
  if (isBatchScorer(model)) return model.scoreBatch(requests, opts);
  checkBatchRequests('scoreBatch', requests, model.vocabSize, 0);
  const out: PositionScores[] = [];
  for (const q of requests) {
    out.push(
      await model.score(q.tokens, {
        from: q.from,
        ...(opts.full ? { full: true } : {}),
        ...(opts.rawLogits ? { rawLogits: true } : {}),
        ...(opts.llamaTaskLogProbs ? { llamaTaskLogProbs: true } : {}),
      }),
    );
  }
  return out;
}
