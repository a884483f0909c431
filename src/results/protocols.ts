/**
 * The result of `xent eval --protocol all`: one model on one text under each perplexity
 * protocol (llama-perplexity's chunks, Hugging Face's sliding window, lm-evaluation-harness's
 * rolling windows), and a sentence per pair saying why their figures differ. Rendered by
 * src/report/protocols-section.ts.
 */

export type ProtocolName = 'llama' | 'hf-stride' | 'lm-eval';

export interface ProtocolRow {
  protocol: ProtocolName;
  /** What the protocol scores, in a few words. */
  description: string;
  perplexity_per_token: number;
  /** exp(nats per word): Σnats / words scored (lm-eval's word_perplexity). */
  perplexity_per_word: number;
  /** exp(nats per byte): Σnats / UTF-8 bytes scored (lm-eval's byte_perplexity). */
  perplexity_per_byte: number;
  nats_per_token: number;
  bits_per_byte: number;
  tokens_scored: number;
  /** Tokens before each scored token in its model call: mean and minimum. */
  context_mean: number;
  context_min: number;
  /** Whether a BOS token starts the model calls, and how. */
  bos_used: boolean;
  bos: string;
}

export interface ProtocolComparison {
  kind: 'protocols';
  model: string;
  data: string;
  ctx: number;
  stride: number;
  documents: number;
  text_tokens: number;
  text_words: number;
  text_bytes: number;
  rows: ProtocolRow[];
  /** One line per pair of protocols. */
  differences: string[];
}

export function validateProtocolComparison(x: unknown): ProtocolComparison {
  const o = x as ProtocolComparison;
  if (
    typeof o !== 'object' ||
    o === null ||
    o.kind !== 'protocols' ||
    !Array.isArray(o.rows) ||
    !Array.isArray(o.differences)
  )
    throw new Error('not a protocol comparison (kind "protocols" with rows and differences)');
  return o;
}
