/**
 * Which tokens each model call sees and which of its predictions are scored.
 *
 * The token stream is the tokenised text with BOS prepended when the model adds BOS
 * (llama.cpp's common_tokenize(…, add_special = true)). Two modes:
 *
 * 'chunks' — llama-perplexity (tools/perplexity/perplexity.cpp, perplexity()):
 *   n_chunk = floor(L / ctx); chunk i is stream[i·ctx, (i+1)·ctx), no overlap, a fresh
 *   state per chunk; the chunk's first token is replaced by BOS when the model adds BOS;
 *   positions floor(ctx/2) … ctx−2 predict tokens floor(ctx/2)+1 … ctx−1 and are scored
 *   (63 tokens per chunk at ctx 128). The first half only provides context.
 *
 * 'stride' — Hugging Face's sliding window (transformers docs, "Perplexity of
 *   fixed-length models"): windows begin at 0, S, 2S, …, each ends at min(begin + ctx, L);
 *   a window scores only the tokens after the previous window's end, so every token of
 *   the stream except the first is scored exactly once, with up to ctx − S tokens of
 *   context before the newly scored ones. No BOS replacement (windows after the first
 *   start mid-text, as in the HF recipe). Requires 1 ≤ S < ctx.
 */
import { XentError } from '../core/errors.js';

export type EvalMode = 'chunks' | 'stride';

export interface EvalWindow {
  /** Index of the window's first token in the stream. */
  start: number;
  /** Number of tokens fed to the model (T). */
  length: number;
  /** First scored position within the window: positions from … T−2 predict tokens from+1 … T−1. */
  from: number;
  /** Replace the window's first token by BOS (llama.cpp chunks). */
  bosFirst: boolean;
}

export interface WindowPlan {
  mode: EvalMode;
  windows: EvalWindow[];
  /** Tokens fed to the model, summed over windows. */
  tokensEvaluated: number;
  /** Tokens scored, summed over windows. */
  tokensScored: number;
}

export function planWindows(
  op: string,
  streamLength: number,
  ctx: number,
  opts: { stride?: number; chunks?: number; addsBos: boolean },
): WindowPlan {
  const L = streamLength;
  if (!Number.isInteger(ctx) || ctx < 4)
    throw new XentError('invalid_argument', op, `--ctx must be an integer ≥ 4, got ${ctx}`, {
      arg: '--ctx',
      value: ctx,
    });
  if (opts.chunks !== undefined && (!Number.isInteger(opts.chunks) || opts.chunks < 1)) {
    throw new XentError('invalid_argument', op, `--chunks must be a positive integer, got ${opts.chunks}`, {
      arg: '--chunks',
      value: opts.chunks,
    });
  }
  const windows: EvalWindow[] = [];
  if (opts.stride === undefined) {
    const nChunk = Math.floor(L / ctx);
    if (nChunk < 1) {
      throw new XentError(
        'too_short',
        op,
        `the text has ${L} tokens${opts.addsBos ? ' (with BOS)' : ''}, but one chunk of --ctx ${ctx} needs at least ${ctx}`,
        {
          arg: '--data',
          expected: ctx,
          actual: L,
        },
      );
    }
    const n = Math.min(nChunk, opts.chunks ?? Infinity);
    const first = Math.floor(ctx / 2);
    for (let i = 0; i < n; i++) windows.push({ start: i * ctx, length: ctx, from: first, bosFirst: opts.addsBos });
  } else {
    const S = opts.stride;
    if (!Number.isInteger(S) || S < 1 || S >= ctx) {
      throw new XentError(
        'invalid_argument',
        op,
        `--stride must be an integer in [1, ${ctx - 1}] (below --ctx ${ctx}), got ${S}`,
        { arg: '--stride', value: S },
      );
    }
    if (L < 2)
      throw new XentError('too_short', op, `the text has ${L} token(s); sliding-window evaluation needs at least 2`, {
        arg: '--data',
        expected: 2,
        actual: L,
      });
    let prevEnd = 0;
    for (let begin = 0; windows.length < (opts.chunks ?? Infinity); begin += S) {
      const end = Math.min(begin + ctx, L);
      const target = end - prevEnd;
      const length = end - begin;
      windows.push({ start: begin, length, from: Math.max(0, length - target - 1), bosFirst: false });
      prevEnd = end;
      if (end === L) break;
    }
  }
  let tokensEvaluated = 0;
  let tokensScored = 0;
  for (const w of windows) {
    tokensEvaluated += w.length;
    tokensScored += w.length - 1 - w.from;
  }
  return { mode: opts.stride === undefined ? 'chunks' : 'stride', windows, tokensEvaluated, tokensScored };
}
