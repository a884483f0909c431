/**
 * Running perplexity statistics, accumulated exactly as llama-perplexity does
 * (plain double sums of nll and nll², in token order), so that a resumed run and
 * an uninterrupted one give bit-identical results.
 *
 *   m = Σnll / n,  PPL = e^m,  ± = e^m · sqrt((Σnll²/n − m²)/(n − 1))   (llama.cpp)
 *   95% CI of PPL = [e^(m − 1.96·se), e^(m + 1.96·se)], se = sqrt((Σnll²/n − m²)/(n − 1))
 *   bits per byte = Σnll / ln 2 / bytes of the scored tokens' text (lm-evaluation-harness)
 */
import { LN2 } from '../core/tensor.js';

/** Plain-data accumulator state (JSON-serialisable for checkpoints). */
export interface EvalAccumulator {
  windowsDone: number;
  count: number;
  nllSum: number;
  nll2Sum: number;
  bytes: number;
  top1Correct: number;
  tokensEvaluated: number;
  /** Running PPL after each window, as llama.cpp prints `[i]ppl`. */
  running: number[];
}

export function newAccumulator(): EvalAccumulator {
  return { windowsDone: 0, count: 0, nllSum: 0, nll2Sum: 0, bytes: 0, top1Correct: 0, tokensEvaluated: 0, running: [] };
}

export interface EvalSummary {
  perplexity: number;
  /** llama.cpp's ± (delta-method standard error of PPL). */
  perplexity_pm: number;
  perplexity_ci95: [number, number];
  nats_per_token: number;
  bits_per_token: number;
  bits_per_byte: number;
  tokens_scored: number;
  bytes_scored: number;
  top1_accuracy: number;
}

export function summarize(a: EvalAccumulator): EvalSummary {
  const n = a.count;
  const m = n > 0 ? a.nllSum / n : NaN;
  const ppl = Math.exp(m);
  const v = n > 1 ? a.nll2Sum / n - m * m : NaN;
  const se = v > 0 ? Math.sqrt(v / (n - 1)) : n > 1 ? 0 : NaN;
  return {
    perplexity: ppl,
    perplexity_pm: ppl * se,
    perplexity_ci95: [Math.exp(m - 1.96 * se), Math.exp(m + 1.96 * se)],
    nats_per_token: m,
    bits_per_token: m / LN2,
    bits_per_byte: a.bytes > 0 ? a.nllSum / LN2 / a.bytes : NaN,
    tokens_scored: n,
    bytes_scored: a.bytes,
    top1_accuracy: n > 0 ? a.top1Correct / n : NaN,
  };
}

/** llama.cpp's running line: `[1]114.1428,[2]101.7695,…`. */
export function formatRunning(running: readonly number[], startIndex = 0): string {
  return running
    .slice(startIndex)
    .map((p, i) => `[${startIndex + i + 1}]${p.toFixed(4)}`)
    .join(',');
}
