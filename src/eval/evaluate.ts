/**
 * Perplexity evaluation of any LanguageModel over a token stream, with llama.cpp's
 * chunk semantics or Hugging Face's sliding window (see windows.ts), resumable from
 * an accumulator state (checkpoint.ts) and interruptible between windows.
 *
 * Memory: the scores of the windows in flight (two groups of llama-perplexity's packed
 * chunks, or two windows), whatever the corpus length; a model reads the logit rows it
 * scores itself (the native GGUF engine one micro-batch at a time).
 */
import { XentError } from '../core/errors.js';
import { LN2 } from '../core/tensor.js';
import { isChunkScorer } from '../models/batch.js';
import type { LanguageModel, PositionScores } from '../models/language-model.js';
import { type EvalAccumulator, type EvalSummary, newAccumulator, summarize } from './stats.js';
import { type EvalMode, planWindows, type WindowPlan } from './windows.js';

export interface TokenRecord {
  /** Index of the predicted token in the token stream (BOS included when the model adds it). */
  position: number;
  token: number;
  text: string;
  nats: number;
  bits: number;
  /** p(true token). */
  p: number;
  /**
   * 1-based rank of the true token in the model's distribution (1 = the model's top
   * choice; ties rank in its favour). One convention for every per-token file xent
   * reads or writes (src/results/schema.ts, xent score --tokens); PositionScores.rank
   * is the 0-based count of tokens above it, hence the + 1. Absent where unknown.
   */
  rank?: number;
  top1: number;
  top1_text: string;
  /** p(top1), the model's confidence in its top token (calibration); absent where unknown. */
  top1_p?: number;
}

export interface EvaluateOptions {
  /** Tokens per window (llama.cpp -c). */
  ctx: number;
  /** Stop after this many windows (llama.cpp --chunks). */
  chunks?: number;
  /** Sliding-window stride S (Hugging Face); absent = llama.cpp chunks. */
  stride?: number;
  /** Resume from this state (windows already done are skipped). */
  resume?: EvalAccumulator;
  /** Stop cleanly after the current window when aborted; the result has `interrupted: true`. */
  signal?: AbortSignal;
  /** Called after every window with the updated state (progress, checkpoints). */
  onWindow?: (state: EvalAccumulator, plan: WindowPlan) => void | Promise<void>;
  /** Called with each window's per-token records (only when given: building them costs time). */
  onTokens?: (records: TokenRecord[]) => void | Promise<void>;
  /** Also pass each window's full log-probabilities to onScores (KL divergence). */
  full?: boolean;
  onScores?: (scores: PositionScores, targets: Int32Array, windowIndex: number) => void | Promise<void>;
}

export interface EvaluateResult extends EvalSummary {
  mode: EvalMode;
  ctx: number;
  stride: number | undefined;
  /** Windows (chunks) scored. */
  chunks: number;
  /** Windows planned. */
  chunks_total: number;
  /** Tokens fed to the model (llama.cpp's tokens/s counts these). */
  tokens_evaluated: number;
  /** Tokens in the stream (BOS included when the model adds it). */
  tokens_in_text: number;
  interrupted: boolean;
  /** Running PPL after each window. */
  running: number[];
  state: EvalAccumulator;
  warnings: string[];
}

const OP = 'evaluatePerplexity';

/** The token stream: BOS + tokens when the model adds BOS (llama.cpp's tokenisation). */
export function tokenStream(model: LanguageModel, textTokens: Int32Array): Int32Array {
  if (!model.addsBos || model.bosToken === undefined) return textTokens;
  const s = new Int32Array(textTokens.length + 1);
  s[0] = model.bosToken;
  s.set(textTokens, 1);
  return s;
}

/**
 * Scores `textTokens` (the tokenised text, without BOS) with `model`.
 * Throws XentError: too_short (fewer tokens than one window), numerical_error
 * (non-finite scores: names the window and position), invalid_argument.
 */
export async function evaluatePerplexity(
  model: LanguageModel,
  textTokens: Int32Array,
  opts: EvaluateOptions,
): Promise<EvaluateResult> {
  const stream = tokenStream(model, textTokens);
  const plan = planWindows(OP, stream.length, opts.ctx, {
    addsBos: model.addsBos && model.bosToken !== undefined,
    ...(opts.stride !== undefined ? { stride: opts.stride } : {}),
    ...(opts.chunks !== undefined ? { chunks: opts.chunks } : {}),
  });
  const warnings: string[] = [];
  if (opts.ctx > model.trainContextLength) {
    warnings.push(
      `--ctx ${opts.ctx} is larger than the model's training context (${model.trainContextLength} tokens): the figures describe extrapolation`,
    );
  }
  if (model.byteExact === false) {
    warnings.push(
      `${model.id} has a word-level vocabulary with <unk>: its cross-entropy and bits per byte are not comparable with byte-exact models (byte, BPE, GGUF)`,
    );
  }
  const state: EvalAccumulator = opts.resume ? structuredClone(opts.resume) : newAccumulator();
  if (state.windowsDone > plan.windows.length) {
    throw new XentError(
      'incompatible',
      OP,
      `the resume state has ${state.windowsDone} windows done but this run plans only ${plan.windows.length}`,
    );
  }
  const bytesOf = model.tokenBytes();
  const wantRecords = opts.onTokens !== undefined;
  let interrupted = false;
  // llama-perplexity's chunks go to a ChunkScorer (the native GGUF engine) in groups of
  // chunkGroupSize(ctx), decoded as llama-perplexity decodes them: groups start at
  // multiples of the group size counted from chunk 0 (also when resuming), so each chunk
  // is decoded beside the same neighbours as in llama-perplexity. Other models and the
  // sliding window: groups of one window, through score().
  const chunker = plan.mode === 'chunks' && isChunkScorer(model) ? model : undefined;
  const g = chunker ? chunker.chunkGroupSize(opts.ctx) : 1;
  // Groups in flight: 2 for pipelined models (scoring group i overlaps the model's work on
  // i+1), else 1. Results are consumed strictly in order.
  const depth = model.pipelined ? 2 : 1;
  type Scored = { tokens: Int32Array[]; scores: PositionScores[] };
  const issue = (gi: number): Promise<Scored> => {
    const ws = plan.windows.slice(gi * g, Math.min((gi + 1) * g, plan.windows.length));
    const tokens = ws.map((win) => {
      const t = stream.slice(win.start, win.start + win.length);
      if (win.bosFirst) t[0] = model.bosToken!;
      return t;
    });
    const full = opts.full === true;
    const p = chunker
      ? chunker.scoreChunks(tokens, { from: ws[0]!.from, full })
      : model.score(tokens[0]!, { from: ws[0]!.from, full }).then((s) => [s]);
    const q = p.then((scores) => ({ tokens, scores }));
    q.catch(() => undefined); // handled when awaited; never an unhandled rejection
    return q;
  };
  const inflight = new Map<number, Promise<Scored>>();
  const nGroups = Math.ceil(plan.windows.length / g);
  let nextIssue = Math.floor(state.windowsDone / g);
  const fill = (): void => {
    while (inflight.size < depth && nextIssue < nGroups && !opts.signal?.aborted)
      inflight.set(nextIssue, issue(nextIssue++));
  };
  try {
    for (let w = state.windowsDone; w < plan.windows.length; w++) {
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
      fill();
      const win = plan.windows[w]!;
      const gi = Math.floor(w / g);
      let scores: PositionScores;
      let tokens: Int32Array;
      try {
        const got = await inflight.get(gi)!;
        scores = got.scores[w - gi * g]!;
        tokens = got.tokens[w - gi * g]!;
      } catch (e) {
        if (e instanceof XentError && e.code === 'numerical_error' && typeof e.fields.row === 'number') {
          // The group failed as a whole: name the chunk the bad row belongs to.
          const wf = gi * g + (typeof e.fields.result === 'number' ? e.fields.result : w - gi * g);
          const bad = plan.windows[wf]!;
          const pos = bad.from + e.fields.row;
          throw new XentError(
            'numerical_error',
            OP,
            `chunk ${wf + 1} (tokens ${bad.start}…${bad.start + bad.length - 1}), position ${pos} (token ${bad.start + pos} of the text stream): ${e.message}; stopping`,
            { row: bad.start + pos, chunk: wf + 1, position: pos },
            { cause: e },
          );
        }
        throw e;
      }
      if (w === Math.min((gi + 1) * g, plan.windows.length) - 1) inflight.delete(gi);
      fill();
      const targets = tokens.subarray(win.from + 1);
      const n = targets.length;
      let nll = state.nllSum;
      let nll2 = state.nll2Sum;
      let bytes = 0;
      let correct = 0;
      for (let r = 0; r < n; r++) {
        const x = scores.nats[r]!;
        if (!Number.isFinite(x)) {
          const pos = win.from + r;
          throw new XentError(
            'numerical_error',
            OP,
            `chunk ${w + 1}, position ${pos} (token ${win.start + pos} of the text stream): the true token's loss is ${x} nats; stopping`,
            {
              row: win.start + pos,
              chunk: w + 1,
              position: pos,
              value: x,
            },
          );
        }
        nll += x;
        nll2 += x * x;
        const t = targets[r]!;
        bytes += bytesOf[t] ?? 0;
        if (scores.top1[r] === t) correct++;
      }
      if (wantRecords) {
        const records: TokenRecord[] = new Array(n);
        for (let r = 0; r < n; r++) {
          const t = targets[r]!;
          const x = scores.nats[r]!;
          const top = scores.top1[r]!;
          const rank0 = scores.rank[r]!;
          const top1P = scores.top1Prob[r]!;
          // Key order is the documented one: …, p, rank, top1, top1_text, top1_p.
          records[r] = {
            position: win.start + win.from + 1 + r,
            token: t,
            text: model.tokenText(t),
            nats: x,
            bits: x / LN2,
            p: Math.exp(-x),
            ...(rank0 >= 0 ? { rank: rank0 + 1 } : {}),
            top1: top,
            top1_text: top >= 0 ? model.tokenText(top) : '',
            ...(Number.isFinite(top1P) ? { top1_p: top1P } : {}),
          };
        }
        await opts.onTokens!(records);
      }
      if (opts.onScores) await opts.onScores(scores, targets, w);
      state.nllSum = nll;
      state.nll2Sum = nll2;
      state.count += n;
      state.bytes += bytes;
      state.top1Correct += correct;
      state.tokensEvaluated += win.length;
      state.windowsDone = w + 1;
      state.running.push(Math.exp(state.nllSum / state.count));
      if (opts.onWindow) await opts.onWindow(state, plan);
    }
  } finally {
    // Let windows still in flight finish before the caller may close the model.
    await Promise.allSettled(inflight.values());
  }
  if (state.count === 0) {
    throw new XentError('interrupted', OP, 'interrupted before the first chunk was scored');
  }
  return {
    ...summarize(state),
    mode: plan.mode,
    ctx: opts.ctx,
    stride: opts.stride,
    chunks: state.windowsDone,
    chunks_total: plan.windows.length,
    tokens_evaluated: state.tokensEvaluated,
    tokens_in_text: stream.length,
    interrupted,
    running: state.running,
    state,
    warnings,
  };
}
