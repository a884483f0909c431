/**
 * The one interface task scoring is written against: a list of requests, each a token
 * sequence and the first position whose next-token log-probability is wanted, with the
 * number of first tokens it shares with the request before it (the context the endings of
 * one task share). `modelScorer` hands a call's requests to the model in one batch where the
 * model decodes several sequences at once (`BatchScorer.scoreBatch`, src/models/batch.ts: the
 * shared prefix decoded once and every ending beside it, as llama-perplexity's
 * hellaswag_score lays them out), else one `LanguageModel.score` call per request.
 *
 * Shapes: a request of T tokens scores positions t = from … T−2; position t gives
 * ln p(tokens[t+1] | tokens[0..t]), so there are T − 1 − from values.
 */
import { XentError } from '../core/errors.js';
import { isBatchScorer } from '../models/batch.js';
import type { LanguageModel, PositionScores } from '../models/language-model.js';
import { llamaLogProb, llamaSoftmaxLogProb } from './llama-arith.js';

export interface LogProbRequest {
  tokens: Int32Array;
  /** First scored position, 0 ≤ from ≤ T − 2. */
  from: number;
  /**
   * The first `prefix` tokens equal those of the request before it in the same `score`
   * call (the context of one task's choices); 0 or absent for a task's first request. An
   * engine that batches may decode them once (the values are those of the request scored
   * alone, up to the last bits where the engine's arithmetic depends on the batch).
   */
  prefix?: number;
}

export interface ScoredRequest {
  /**
   * ln p of each scored position's next token (nats, ≤ 0): float64 from the engine's own
   * log-softmax, or `llama.logProbs` widened where the engine returned only those.
   */
  logProbs: Float64Array;
  /**
   * Where the engine has raw logits (the native GGUF engine): the same log-probabilities in
   * llama-perplexity's float32 arithmetic: every position through `compute_logprobs`
   * (`logProbs`), and the first one also through `softmax` and `std::log` (`firstSoftmax`,
   * its path for the first token of an ending).
   */
  llama?: { logProbs: Float32Array; firstSoftmax: number };
}

export interface LogProbScorer {
  readonly vocabSize: number;
  /**
   * True when `score` may be called again before the previous call resolves (results still
   * come in call order): the caller may then keep the next call's work queued behind this one.
   */
  readonly pipelined?: boolean;
  /** Calls the engine computes at the same time (LanguageModel.concurrency); 1 where absent. */
  readonly concurrency?: number;
  /** Scores the requests (typically the choices of one task); results in request order. */
  score(requests: readonly LogProbRequest[]): Promise<ScoredRequest[]>;
}

export interface ModelScorerOptions {
  /** llama.cpp's float32 arithmetic where the engine has raw logits. */
  llamaArithmetic: boolean;
  /**
   * With llamaArithmetic: copy the raw logits out and compute it in JavaScript
   * (src/tasks/llama-arith.ts, the reference) instead of in the engine, which computes it
   * on llama.cpp's rows in place (native/llama-task.h).
   */
  jsArithmetic?: boolean;
}

/**
 * A scorer over any LanguageModel: a call's requests in one `scoreBatch` where the model
 * has it, else one `score` call per request (pipelined when the model allows it).
 */
export function modelScorer(model: LanguageModel, opts: ModelScorerOptions): LogProbScorer {
  const V = model.vocabSize;
  const check = (r: LogProbRequest, i: number, all: readonly LogProbRequest[]): void => {
    const T = r.tokens.length;
    if (!(Number.isInteger(r.from) && r.from >= 0 && r.from <= T - 2)) {
      throw new XentError('invalid_argument', 'tasks', `a request of ${T} tokens cannot be scored from ${r.from}`, {
        value: r.from,
      });
    }
    const p = r.prefix ?? 0;
    const prev = all[i - 1];
    if (p === 0) return;
    if (!(prev && Number.isInteger(p) && p > 0 && p <= Math.min(T, prev.tokens.length)))
      throw new XentError(
        'invalid_argument',
        'tasks',
        `request ${i} shares ${p} tokens with the request before it, which ${prev ? `has ${prev.tokens.length}` : 'does not exist'}`,
        { value: p },
      );
  };
  const collect = (r: LogProbRequest, s: PositionScores): ScoredRequest => {
    const n = r.tokens.length - 1 - r.from;
    const logProbs = new Float64Array(n);
    for (let k = 0; k < n; k++) logProbs[k] = -s.nats[k]!;
    if (s.llama) return { logProbs, llama: { logProbs: s.llama.logProbs, firstSoftmax: s.llama.softmaxLogProbs[0]! } };
    if (!s.logits) return { logProbs };
    const lp = new Float32Array(n);
    for (let k = 0; k < n; k++) lp[k] = llamaLogProb(s.logits, k * V, V, r.tokens[r.from + k + 1]!);
    const firstSoftmax = llamaSoftmaxLogProb(s.logits, 0, V, r.tokens[r.from + 1]!);
    return { logProbs, llama: { logProbs: lp, firstSoftmax } };
  };
  const scoreOpts = !opts.llamaArithmetic
    ? {}
    : opts.jsArithmetic
      ? { full: true, rawLogits: true }
      : { llamaTaskLogProbs: true };
  const one = async (r: LogProbRequest): Promise<ScoredRequest> =>
    collect(r, await model.score(r.tokens, { from: r.from, ...scoreOpts }));
  return {
    vocabSize: V,
    pipelined: model.pipelined,
    concurrency: model.concurrency ?? 1,
    async score(requests) {
      requests.forEach(check);
      if (isBatchScorer(model) && requests.length > 0) {
        const res = await model.scoreBatch(
          requests.map((r) => ({ tokens: r.tokens, from: r.from, prefix: r.prefix ?? 0 })),
          scoreOpts,
        );
        return res.map((s, i) => collect(requests[i]!, s));
      }
      if (model.pipelined) return Promise.all(requests.map(one));
      const out: ScoredRequest[] = [];
      for (const r of requests) out.push(await one(r));
      return out;
    },
  };
}
