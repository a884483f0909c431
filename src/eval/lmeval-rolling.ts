/**
 * lm-evaluation-harness's `loglikelihood_rolling` for an API model (`local-completions`), the
 * perplexity tasks' protocol (wikitext and the like), computed locally: `xent eval --protocol
 * lm-eval`. It follows lm-eval 0.4.13's code (lm_eval/models/api_models.py, lm_eval/utils.py):
 *
 *   TemplateAPI keeps max_length − 1 tokens for a prompt ("1 token for generation"): P = ctx − 1.
 *   loglikelihood_rolling: get_rolling_token_windows(tokens, prefix, max_seq_len = P − 1,
 *     context_len = 1), each made disjoint (make_disjoint_window). The first window predicts
 *     tokens[0 : min(P − 1, L)] after the prefix token (BOS, else EOS: `bos_token_id or
 *     eos_token_id`, so an id of 0 counts as absent); each later one predicts the next
 *     ≤ P − 1 tokens after one token of context — the last one, when shorter, after as many
 *     more as make the request P tokens long.
 *   batch_loglikelihood_requests: the request is (context + continuation)[−P:], ctxlen =
 *     len(context) (never cut here: context + continuation ≤ P).
 *   parse_logprobs: the window's log-likelihood is sum(token_logprobs[ctxlen:−1]) of the echoed
 *     request, i.e. log p of the continuation's tokens; a document's is the sum over windows.
 *   Metrics (lm_eval/api/metrics.py, api/task.py): word_perplexity = exp(−Σll / Σwords),
 *     byte_perplexity = exp(−Σll / Σbytes), bits_per_byte = −Σll / Σbytes / ln 2, words =
 *     len(re.split(r"\s+", doc)), bytes = len(doc.encode("utf-8")), sums over documents.
 *
 * Each document is tokenised alone, without BOS, as lm-eval's remote tokenizer asks xent
 * serve to (special-token texts kept as those tokens, special-tokens.ts).
 */
import { XentError } from '../core/errors.js';
import { LN2 } from '../core/tensor.js';
import type { LanguageModel } from '../models/language-model.js';
import { encodeWithSpecials, type SpecialTokens } from './special-tokens.js';

/** One request lm-eval sends: `tokens` (the echoed prompt) and how many lead as context. */
export interface LmEvalWindow {
  tokens: Int32Array;
  ctxlen: number;
}

/**
 * The disjoint windows of one document's tokens (without BOS), as lm-eval builds them for
 * `max_length` = ctx. An empty document has none.
 */
export function lmEvalWindows(tokens: ArrayLike<number>, prefix: number, ctx: number): LmEvalWindow[] {
  const P = ctx - 1;
  const maxSeq = P - 1;
  if (!Number.isInteger(ctx) || maxSeq < 1)
    throw new XentError(
      'invalid_argument',
      'lmEvalWindows',
      `--ctx must be an integer ≥ 3 for lm-eval's windows, got ${ctx}`,
      {
        arg: '--ctx',
        value: ctx,
      },
    );
  const L = tokens.length;
  const out: LmEvalWindow[] = [];
  if (L === 0) return out;
  const t = Array.from(tokens);
  // get_rolling_token_windows with context_len = 1: pred_len = max_seq_len.
  const first = Math.min(maxSeq, L);
  const windows: Array<[number[], number[]]> = [[[prefix, ...t.slice(0, first - 1)], t.slice(0, first)]];
  let predicted = first;
  while (predicted < L) {
    const n = Math.min(L - predicted, maxSeq);
    const end = predicted + n;
    windows.push([t.slice(end - maxSeq - 1, end - 1), t.slice(end - n, end)]);
    predicted += n;
  }
  for (const [a, b] of windows) {
    // make_disjoint_window: a[: len(a) − (len(b) − 1)].
    const context = a.slice(0, a.length - (b.length - 1));
    const all = [...context, ...b];
    const inp = all.slice(Math.max(0, all.length - P));
    const ctxlen = context.length - Math.max(0, context.length + b.length - P);
    out.push({ tokens: Int32Array.from(inp), ctxlen });
  }
  return out;
}

/** Python's `\s` on str (the characters str.isspace() accepts), which JavaScript's `\s` is not. */
const PY_WS = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** len(re.split(r"\s+", doc)). */
export function lmEvalWordCount(doc: string): number {
  return doc.split(PY_WS).length;
}

/** BOS, else EOS, as lm-eval's `bos_token_id or eos_token_id`. */
export function lmEvalPrefix(specials: SpecialTokens, op: string): number {
  const bos = specials.bos?.id;
  const id = bos ? bos : specials.eos?.id;
  if (id === undefined)
    throw new XentError(
      'incompatible',
      op,
      "lm-eval's rolling windows start with the model's BOS or EOS token, and this model names neither",
    );
  return id;
}

export interface LmEvalDocResult {
  /** Log-likelihood of the document, nats (negative). */
  loglikelihood: number;
  tokens: number;
  words: number;
  bytes: number;
  windows: number;
}

export interface LmEvalRollingResult {
  protocol: 'lm-eval';
  ctx: number;
  documents: number;
  /** Documents of fewer than two tokens (scored all the same, as lm-eval does). */
  short_documents: number[];
  windows: number;
  tokens_scored: number;
  /** Tokens fed to the model, summed over windows. */
  tokens_evaluated: number;
  words: number;
  bytes: number;
  /** Σ −ll, nats. */
  nats: number;
  nats_per_token: number;
  bits_per_token: number;
  perplexity: number;
  word_perplexity: number;
  byte_perplexity: number;
  bits_per_byte: number;
  /** Context per scored token: mean and minimum of the tokens before it in its request. */
  context_mean: number;
  context_min: number;
  prefix_token: number;
  per_document: LmEvalDocResult[];
}

export interface LmEvalOptions {
  ctx: number;
  specials: SpecialTokens;
  /** Called after each document (progress). */
  onDocument?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export async function evaluateLmEvalRolling(
  model: LanguageModel,
  docs: readonly string[],
  o: LmEvalOptions,
): Promise<LmEvalRollingResult> {
  const op = 'eval --protocol lm-eval';
  const prefix = lmEvalPrefix(o.specials, op);
  const per: LmEvalDocResult[] = [];
  const short: number[] = [];
  let windows = 0;
  let evaluated = 0;
  let ctxSum = 0;
  let ctxMin = Infinity;
  for (let d = 0; d < docs.length; d++) {
    if (o.signal?.aborted) throw new XentError('interrupted', op, `interrupted after ${d} of ${docs.length} documents`);
    const doc = docs[d]!;
    const tokens = await encodeWithSpecials(model, o.specials, doc);
    if (tokens.length < 2) short.push(d);
    const wins = lmEvalWindows(tokens, prefix, o.ctx);
    let ll = 0;
    for (const w of wins) {
      const T = w.tokens.length;
      // Every position, as xent serve scores lm-eval's echoed request (the number of output
      // rows can change llama.cpp's last bits; this keeps the two identical).
      const s = await model.score(w.tokens, { from: 0 });
      // sum(token_logprobs[ctxlen:-1]): Python's left-to-right float sum of −nats.
      let part = 0;
      for (let r = 0; r < T - w.ctxlen; r++) {
        const x = s.nats[w.ctxlen - 1 + r]!;
        if (!Number.isFinite(x))
          throw new XentError(
            'numerical_error',
            op,
            `document ${d + 1}, window ${windows + 1}: the loss of token ${w.ctxlen + r} is ${x} nats`,
            { row: d, value: x },
          );
        part += -x;
        const c = w.ctxlen + r;
        ctxSum += c;
        if (c < ctxMin) ctxMin = c;
      }
      ll += part;
      windows++;
      evaluated += T;
    }
    per.push({
      loglikelihood: ll,
      tokens: tokens.length,
      words: lmEvalWordCount(doc),
      bytes: Buffer.byteLength(doc, 'utf8'),
      windows: wins.length,
    });
    o.onDocument?.(d + 1, docs.length);
  }
  let llSum = 0;
  let words = 0;
  let bytes = 0;
  let scored = 0;
  for (const p of per) {
    llSum += p.loglikelihood;
    words += p.words;
    bytes += p.bytes;
    scored += p.tokens;
  }
  const nats = -llSum;
  return {
    protocol: 'lm-eval',
    ctx: o.ctx,
    documents: docs.length,
    short_documents: short,
    windows,
    tokens_scored: scored,
    tokens_evaluated: evaluated,
    words,
    bytes,
    nats,
    nats_per_token: nats / scored,
    bits_per_token: nats / scored / LN2,
    perplexity: Math.exp(nats / scored),
    word_perplexity: Math.exp(-(llSum / words)),
    byte_perplexity: Math.exp(-(llSum / bytes)),
    bits_per_byte: -(llSum / bytes) / Math.LN2,
    context_mean: ctxSum / scored,
    context_min: ctxMin,
    prefix_token: prefix,
    per_document: per,
  };
}
