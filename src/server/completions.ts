/**
 * The body of `xent serve`'s POST /v1/completions: OpenAI's completions request scored
 * by a LanguageModel, answered with prompt log-probabilities in vLLM's format
 * (choices[0].prompt_logprobs) and, with echo + logprobs, OpenAI's legacy format.
 *
 * Shapes: prompt = T token ids; prompt_logprobs has T entries, entry k = log p(token k |
 * tokens 0…k−1) as {"<id>": {logprob, rank (1-based), decoded_token}}, null for k = 0 and
 * for k ≤ prompt_logprobs_from (an xent extension: score only what the client needs, with
 * the same model call a local `xent eval` makes, hence bit-identical figures). The
 * true token's logprob is exactly −nats of the local run; the top-1 entry also carries
 * `prob`, the exact p(top-1).
 */
import type { LanguageModel, PositionScores } from '../models/language-model.js';

/** A client error: answered with HTTP `status` and `message`. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface CompletionContext {
  model: LanguageModel;
  modelName: string;
  maxPromptTokens: number;
  /** Tokenises text with BOS first when the model adds it (vLLM's add_special_tokens). */
  encode(text: string, special: boolean): Promise<Int32Array>;
}

const MAX_TOP = 20;

function intField(
  body: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  dflt: number | null,
): number | null {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean' && key === 'logprobs') return v ? 1 : null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new RequestError(400, `${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return v;
}

async function promptTokens(ctx: CompletionContext, prompt: unknown): Promise<Int32Array> {
  const V = ctx.model.vocabSize;
  let tokens: Int32Array;
  if (typeof prompt === 'string') tokens = await ctx.encode(prompt, true);
  else if (Array.isArray(prompt) && prompt.length === 1 && (typeof prompt[0] === 'string' || Array.isArray(prompt[0])))
    return promptTokens(ctx, prompt[0]);
  else if (Array.isArray(prompt) && prompt.every((t) => typeof t === 'number')) {
    tokens = new Int32Array(prompt.length);
    for (let i = 0; i < prompt.length; i++) {
      const t = prompt[i] as number;
      if (!Number.isInteger(t) || t < 0 || t >= V)
        throw new RequestError(400, `prompt[${i}] = ${t} is not a token id in [0, ${V})`);
      tokens[i] = t;
    }
  } else throw new RequestError(400, 'prompt must be a string or an array of token ids (one prompt per request)');
  if (tokens.length === 0) throw new RequestError(400, 'prompt is empty');
  if (tokens.length > ctx.maxPromptTokens)
    throw new RequestError(
      400,
      `prompt has ${tokens.length} tokens, more than this server's limit of ${ctx.maxPromptTokens} (--max-prompt-tokens)`,
    );
  return tokens;
}

/** The k most likely tokens of one row of log-probabilities, most likely first. */
function topK(row: Float32Array, k: number): Array<[number, number]> {
  const best: Array<[number, number]> = [];
  for (let v = 0; v < row.length; v++) {
    const x = row[v]!;
    if (best.length < k || x > best[best.length - 1]![1]) {
      let i = best.length < k ? best.length : best.length - 1;
      if (best.length < k) best.push([v, x]);
      while (i > 0 && best[i - 1]![1] < x) {
        best[i] = best[i - 1]!;
        i--;
      }
      best[i] = [v, x];
    }
  }
  return best;
}

interface Entry {
  logprob: number;
  rank: number;
  decoded_token: string;
  prob?: number;
}

/**
 * One position's vLLM dict: the true token, the top-1 and (k > 1) the top-k. The texts
 * (decoded_token) are filled in by `nameTokens` once every token of the answer is known.
 */
function entryAt(model: LanguageModel, s: PositionScores, r: number, target: number, k: number): Record<string, Entry> {
  const V = model.vocabSize;
  const e: Record<string, Entry> = {};
  if (k > 1 && s.logProbs) {
    const row = s.logProbs.subarray(r * V, (r + 1) * V);
    for (const [i, [v, lp]] of topK(row, k).entries()) {
      e[String(v)] = { logprob: lp, rank: i + 1, decoded_token: '' };
    }
  }
  const top = s.top1[r]!;
  if (top >= 0)
    e[String(top)] = {
      logprob: Math.log(s.top1Prob[r]!),
      rank: 1,
      decoded_token: '',
      prob: s.top1Prob[r]!,
    };
  const nats = s.nats[r]!;
  // The true token last: its logprob is the exact −nats, whatever the rows above said.
  e[String(target)] = {
    logprob: -nats,
    rank: s.rank[r]! >= 0 ? s.rank[r]! + 1 : (e[String(target)]?.rank ?? 0),
    decoded_token: '',
    ...(top === target ? { prob: s.top1Prob[r]! } : {}),
  };
  return e;
}

/**
 * Fills in the texts of the entries. A model that learns its vocabulary as it goes (a
 * remote one, when this server is a proxy) is first asked for the pieces of every token
 * the answer names, so that its `tokenText` knows them.
 */
async function nameTokens(
  model: LanguageModel,
  pl: ReadonlyArray<Record<string, Entry> | null>,
  others: Iterable<number>,
): Promise<void> {
  const ids = new Set<number>(others);
  for (const e of pl) if (e) for (const id of Object.keys(e)) ids.add(Number(id));
  await model.tokenPieces([...ids]);
  for (const e of pl) if (e) for (const [id, x] of Object.entries(e)) x.decoded_token = model.tokenText(Number(id));
}

export async function completions(
  ctx: CompletionContext,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { model } = ctx;
  if (body.model !== undefined && body.model !== ctx.modelName)
    throw new RequestError(
      404,
      `The model \`${String(body.model)}\` does not exist; this server serves \`${ctx.modelName}\``,
    );
  if (body.stream === true) throw new RequestError(400, 'stream is not supported by xent serve');
  if (body.n !== undefined && body.n !== 1) throw new RequestError(400, 'n must be 1');
  const tokens = await promptTokens(ctx, body.prompt);
  const T = tokens.length;
  const maxTokens = intField(body, 'max_tokens', 0, 1, 0)!;
  const k = intField(body, 'prompt_logprobs', 0, MAX_TOP, null);
  const echo = body.echo === true;
  const legacyK = intField(body, 'logprobs', 0, MAX_TOP, null);
  const from = Math.min(intField(body, 'prompt_logprobs_from', 0, 2 ** 31, 0)!, Math.max(0, T - 2));
  const wantPrompt = (k !== null || (echo && legacyK !== null)) && T >= 2;
  const depth = Math.max(k ?? 0, legacyK ?? 0);
  if (depth > 1 && (T - from) * model.vocabSize > 2 ** 27) {
    throw new RequestError(
      400,
      `top-${depth} log-probabilities of ${T - from} positions need ${T - from} × ${model.vocabSize} floats, more than this server allows: ask for 1, or a shorter prompt`,
    );
  }
  let scores: PositionScores | undefined;
  if (wantPrompt) scores = await model.score(tokens, { from, full: depth > 1 });

  // One generated token, greedy: the top-1 after the whole prompt (a second model call,
  // so that the prompt's scores are exactly those of the call a local run makes).
  const gen: number[] = [];
  if (maxTokens === 1) {
    const ext = new Int32Array(T + 1);
    ext.set(tokens);
    const g = await model.score(ext, { from: T - 1 });
    gen.push(g.top1[0]!);
  }

  const pl: Array<Record<string, Entry> | null> = new Array(T).fill(null);
  if (scores)
    for (let r = 0; r < T - 1 - from; r++)
      pl[from + 1 + r] = entryAt(model, scores, r, tokens[from + 1 + r]!, Math.max(1, depth));
  await nameTokens(model, pl, echo ? [...tokens, ...gen] : gen);

  let logprobs: Record<string, unknown> | null = null;
  if (legacyK !== null) {
    // OpenAI's legacy format covers the echoed prompt (when echo) then the generated tokens.
    const ids = echo ? [...tokens] : [];
    const tl: Array<number | null> = [];
    const tops: Array<Record<string, number> | null> = [];
    if (echo) {
      for (let i = 0; i < T; i++) {
        const e = pl[i];
        tl.push(e ? e[String(tokens[i])]!.logprob : null);
        tops.push(e ? Object.fromEntries(Object.values(e).map((x) => [x.decoded_token, x.logprob])) : null);
      }
    }
    for (const g of gen) {
      ids.push(g);
      tl.push(null);
      tops.push(null);
    }
    const texts = ids.map((t) => model.tokenText(t));
    const offsets: number[] = [];
    let off = 0;
    for (const s of texts) {
      offsets.push(off);
      off += s.length;
    }
    logprobs = { tokens: texts, token_logprobs: tl, top_logprobs: tops, text_offset: offsets };
  }
  const genText = gen.map((t) => model.tokenText(t)).join('');
  return {
    id: `cmpl-xent-${Date.now().toString(36)}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: ctx.modelName,
    choices: [
      {
        index: 0,
        text: echo ? tokensText(model, tokens) + genText : genText,
        logprobs,
        finish_reason: 'length',
        stop_reason: null,
        prompt_logprobs: k !== null ? pl : null,
      },
    ],
    usage: { prompt_tokens: T, completion_tokens: gen.length, total_tokens: T + gen.length },
  };
}

function tokensText(model: LanguageModel, tokens: Int32Array): string {
  let s = '';
  for (const t of tokens) s += model.tokenText(t);
  return s;
}
