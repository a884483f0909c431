/**
 * `xent eval --protocol all`: the same model and text under the three perplexity protocols
 * people compare, and why their figures differ. The differences come from what each protocol
 * scores and with how much context:
 *
 *   llama     llama-perplexity's chunks (windows.ts): disjoint chunks of ctx tokens across the
 *             whole text, BOS replacing each chunk's first token, only the second half scored
 *             (context ctx/2 + 1 … ctx − 1 tokens); the first half of each chunk and the tail
 *             are never scored.
 *   hf-stride Hugging Face's sliding window (windows.ts): every token after the first scored
 *             once, with ctx − S … ctx − 1 tokens of context once past the first window.
 *   lm-eval   lm-evaluation-harness's loglikelihood_rolling (lmeval-rolling.ts): each document
 *             alone, every token scored, disjoint windows of ctx − 2 tokens after a single
 *             token of context (BOS at the start of a document), so the first tokens of each
 *             window see almost nothing.
 *
 * Per word and per byte: lm-eval divides a document's nats by its words and bytes; for the
 * stream protocols the bytes are those of the scored tokens, and the words are the text's words
 * scaled by the share of its tokens scored (words are not aligned to tokens).
 */
import type { ProtocolComparison, ProtocolRow } from '../results/protocols.js';
import type { EvaluateResult } from './evaluate.js';
import type { LmEvalRollingResult } from './lmeval-rolling.js';
import type { WindowPlan } from './windows.js';

/** Context of each scored token in a stream plan: the tokens before it in its window. */
export function planContext(plan: WindowPlan): { mean: number; min: number } {
  let sum = 0;
  let n = 0;
  let min = Infinity;
  for (const w of plan.windows) {
    for (let j = w.from + 1; j < w.length; j++) {
      sum += j;
      n++;
      if (j < min) min = j;
    }
  }
  return { mean: sum / n, min };
}

export interface StreamRun {
  result: EvaluateResult;
  plan: WindowPlan;
}

export function compareProtocols(o: {
  model: string;
  data: string;
  ctx: number;
  stride: number;
  documents: number;
  textTokens: number;
  textWords: number;
  textBytes: number;
  addsBos: boolean;
  llama: StreamRun;
  hf: StreamRun;
  lmeval: LmEvalRollingResult;
}): ProtocolComparison {
  const streamRow = (
    protocol: 'llama' | 'hf-stride',
    run: StreamRun,
    description: string,
    bos: string,
  ): ProtocolRow => {
    const r = run.result;
    const c = planContext(run.plan);
    const nats = r.nats_per_token * r.tokens_scored;
    const words = (o.textWords * r.tokens_scored) / o.textTokens;
    return {
      protocol,
      description,
      perplexity_per_token: r.perplexity,
      perplexity_per_word: Math.exp(nats / words),
      perplexity_per_byte: Math.exp(nats / r.bytes_scored),
      nats_per_token: r.nats_per_token,
      bits_per_byte: r.bits_per_byte,
      tokens_scored: r.tokens_scored,
      context_mean: c.mean,
      context_min: c.min,
      bos_used: o.addsBos,
      bos,
    };
  };
  const l = o.lmeval;
  const rows: ProtocolRow[] = [
    streamRow(
      'llama',
      o.llama,
      `llama-perplexity: ${o.llama.result.chunks} chunks of ${o.ctx}, second halves scored`,
      o.addsBos ? 'replaces the first token of every chunk' : 'none (the model adds no BOS)',
    ),
    streamRow(
      'hf-stride',
      o.hf,
      `Hugging Face sliding window: ${o.hf.plan.windows.length} windows of ${o.ctx} every ${o.stride}`,
      o.addsBos ? 'first window only (the text starts with it)' : 'none (the model adds no BOS)',
    ),
    {
      protocol: 'lm-eval',
      description: `lm-eval loglikelihood_rolling: ${l.documents} document(s), ${l.windows} disjoint windows of ≤ ${o.ctx - 2}`,
      perplexity_per_token: l.perplexity,
      perplexity_per_word: l.word_perplexity,
      perplexity_per_byte: l.byte_perplexity,
      nats_per_token: l.nats_per_token,
      bits_per_byte: l.bits_per_byte,
      tokens_scored: l.tokens_scored,
      context_mean: l.context_mean,
      context_min: l.context_min,
      bos_used: true,
      bos: `token ${l.prefix_token} before each document (BOS, else EOS)`,
    },
  ];
  const [a, b, c] = rows as [ProtocolRow, ProtocolRow, ProtocolRow];
  const ppl = (r: ProtocolRow): string => r.perplexity_per_token.toFixed(4);
  const ctxs = (r: ProtocolRow): string => `${r.context_mean.toFixed(1)} (min ${r.context_min})`;
  const differences = [
    `llama vs hf-stride (${ppl(a)} vs ${ppl(b)} per token): llama scores only the second half of each chunk, ${a.tokens_scored} of ${o.textTokens} tokens, each after ${ctxs(a)} tokens of context on average, and puts BOS in place of a real token at every chunk's start in mid-text; hf-stride scores ${b.tokens_scored} tokens, all but the first window's after ≥ ${o.ctx - o.stride} tokens of context (${ctxs(b)} on average), with the text's own tokens only.`,
    `llama vs lm-eval (${ppl(a)} vs ${ppl(c)} per token): lm-eval scores every token of each document, the first of every window after one token of context (${ctxs(c)} tokens on average against llama's ${ctxs(a)}), and restarts at each document with BOS; llama's chunks run across document boundaries. lm-eval's headline figures are per word (${c.perplexity_per_word.toFixed(4)}) and per byte (${c.perplexity_per_byte.toFixed(4)}), not per token.`,
    `hf-stride vs lm-eval (${ppl(b)} vs ${ppl(c)} per token): both score (nearly) every token once, but hf-stride's windows overlap by ${o.ctx - o.stride} tokens so each token keeps a long context (${ctxs(b)} on average), while lm-eval's windows are disjoint (${ctxs(c)} on average, ${c.context_min} at each window start) and restart at each document.`,
  ];
  return {
    kind: 'protocols',
    model: o.model,
    data: o.data,
    ctx: o.ctx,
    stride: o.stride,
    documents: o.documents,
    text_tokens: o.textTokens,
    text_words: o.textWords,
    text_bytes: o.textBytes,
    rows,
    differences,
  };
}
