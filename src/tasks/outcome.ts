/**
 * What scoring one task produces, whatever the protocol: each choice's summed
 * log-probability, token and character counts and the value it is ranked by, the winner
 * and whether it is right.
 */
import type { LogProbRequest, ScoredRequest } from './scorer.js';

export interface ChoiceScore {
  /** Sum of the scored tokens' log-probabilities, nats (≤ 0). */
  logprobNats: number;
  /** Tokens scored. */
  tokens: number;
  /** Length of the choice text in characters (Unicode code points). */
  chars: number;
  /** The value the choices are ranked by (see the protocol's `normalization`); higher wins. */
  score: number;
}

export interface TaskOutcome {
  choices: ChoiceScore[];
  /** 0-based index of the choice ranked first. */
  winner: number;
  correct: boolean;
  /** lm-eval protocol: tokens cut from the left of the choices' requests (max_length). */
  truncatedTokens?: number;
  /** lm-eval protocol: how many of the choices' requests were cut. */
  truncatedRequests?: number;
  /** lm-eval protocol: both of its metrics. */
  lmEval?: { pred: number; predNorm: number; acc: 0 | 1; accNorm: 0 | 1 };
}

/**
 * A task tokenised and ready to score: its requests (the scorer's input, in choice order,
 * the first with no shared prefix), llama-perplexity's count of the KV cells and sequences
 * it takes in a batch (`required_tokens`, one sequence per choice), and what turns the
 * scored requests into its outcome.
 */
export interface PreparedTask {
  requests: LogProbRequest[];
  cells: number;
  sequences: number;
  finish(scored: readonly ScoredRequest[]): TaskOutcome;
}

/** Code points, as Python's len(str). */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Index of the first maximum (strictly greater replaces), as llama.cpp's loops and numpy's argmax. */
export function argmaxFirst(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/** The best right choice's score minus the best wrong one's: > 0 when a right choice leads. */
export function marginOf(scores: readonly number[], gold: readonly number[]): number | undefined {
  let right = -Infinity;
  let wrong = -Infinity;
  scores.forEach((s, i) => {
    if (gold.includes(i)) right = Math.max(right, s);
    else wrong = Math.max(wrong, s);
  });
  const m = right - wrong;
  return Number.isFinite(m) ? m : undefined;
}
