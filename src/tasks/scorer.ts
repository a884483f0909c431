/**
 * The one interface task scoring is written against: a list of requests, each a token
 * sequence and the first position whose next-token log-probability is wanted. A faster
 * engine (several sequences sharing a prefix in one decode, as llama.cpp batches the
 * endings of a task) plugs in here without touching the task logic; `modelScorer` is the
 * plain one, one `LanguageModel.score` call per request.
 *
 * Shapes: a request of T tokens scores positions t = from … T−2; position t gives
 * ln p(tokens[t+1] | tokens[0..t]), so there are T − 1 − from values.
 */
import { XentError } from '../core/errors.js';
import type { LanguageModel } from '../models/language-model.js';
import { llamaLogProb, llamaSoftmaxLogProb } from './llama-arith.js';

export interface LogProbRequest {
  tokens: Int32Array;
  /** First scored position, 0 ≤ from ≤ T − 2. */
  from: number;
}

export interface ScoredRequest {
  /** ln p of each scored position's next token (nats, ≤ 0), float64 from the engine's own log-softmax. */
  logProbs: Float64Array;
  /**
   * Where the engine hands over raw logits (GGUF, native engine): the same log-probabilities
   * in llama-perplexity's float32 arithmetic: every position through `compute_logprobs`
   * (`logProbs`), and the first one also through `softmax` and `std::log` (`firstSoftmax`,
   * its path for the first token of an ending).
   */
  llama?: { logProbs: Float32Array; firstSoftmax: number };
}

export interface LogProbScorer {
  readonly vocabSize: number;
  /** Scores the requests (typically the choices of one task); results in request order. */
  score(requests: readonly LogProbRequest[]): Promise<ScoredRequest[]>;
}

export interface ModelScorerOptions {
  /** Ask for raw logits and compute llama.cpp's float32 arithmetic where the engine has them. */
  llamaArithmetic: boolean;
}

/** A scorer over any LanguageModel: one `score` call per request (pipelined when the model allows it). */
export function modelScorer(model: LanguageModel, opts: ModelScorerOptions): LogProbScorer {
  const V = model.vocabSize;
  const one = async (r: LogProbRequest): Promise<ScoredRequest> => {
    const T = r.tokens.length;
    if (!(Number.isInteger(r.from) && r.from >= 0 && r.from <= T - 2)) {
      throw new XentError('invalid_argument', 'tasks', `a request of ${T} tokens cannot be scored from ${r.from}`, {
        value: r.from,
      });
    }
    const raw = opts.llamaArithmetic;
    const s = await model.score(r.tokens, { from: r.from, ...(raw ? { full: true, rawLogits: true } : {}) });
    const n = T - 1 - r.from;
    const logProbs = new Float64Array(n);
    for (let k = 0; k < n; k++) logProbs[k] = -s.nats[k]!;
    if (!s.logits) return { logProbs };
    const lp = new Float32Array(n);
    for (let k = 0; k < n; k++) lp[k] = llamaLogProb(s.logits, k * V, V, r.tokens[r.from + k + 1]!);
    const firstSoftmax = llamaSoftmaxLogProb(s.logits, 0, V, r.tokens[r.from + 1]!);
    return { logProbs, llama: { logProbs: lp, firstSoftmax } };
  };
  return {
    vocabSize: V,
    async score(requests) {
      if (model.pipelined) return Promise.all(requests.map(one));
      const out: ScoredRequest[] = [];
      for (const r of requests) out.push(await one(r));
      return out;
    },
  };
}
