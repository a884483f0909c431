/**
 * The body of `xent serve`'s POST /v1/completions: OpenAI's completions request scored by a
 * LanguageModel, answered with prompt log-probabilities in vLLM's format
 * (choices[i].prompt_logprobs) and, with echo + logprobs, OpenAI's legacy format
 * (choices[i].logprobs: tokens, token_logprobs, top_logprobs, text_offset), which is what
 * lm-evaluation-harness's `local-completions` reads (token_logprobs[ctxlen:-1]: the echoed
 * prompt, then one generated token).
 *
 * Shapes: a prompt = T token ids; prompt_logprobs has T entries, entry k = log p(token k |
 * tokens 0…k−1) as {"<id>": {logprob, rank (1-based), decoded_token}}, null for k = 0 and
 * for k ≤ prompt_logprobs_from (an xent extension: score only what the client needs, with
 * the same model call a local `xent eval` makes, hence bit-identical figures). The true
 * token's logprob is exactly −nats of the local run; the top-1 entry also carries `prob`.
 *
 * Generation is greedy (temperature 0): each step scores the prompt and the tokens generated so
 * far followed by a placeholder token, whose position's top-1 is the next token. The prompt's
 * own log-probabilities come from a separate call on exactly its T tokens: llama.cpp's
 * arithmetic depends on the number of tokens in a call (a T + 1 token call changes the last
 * bits), and these figures must equal a local run's. Generation stops at max_tokens, at the
 * end-of-sequence token (not included in the text) or where the text first contains a `stop`
 * string (the text is cut before it).
 */
import type { LanguageModel, PositionScores } from '../models/language-model.js';
import type { ModelPool } from './pool.js';
import { type CompletionRequest, parseCompletionRequest, RequestError } from './request.js';

export { RequestError } from './request.js';

export interface CompletionContext {
  pool: ModelPool;
  modelName: string;
  /** Longest prompt, and longest prompt + max_tokens, accepted. */
  maxPromptTokens: number;
  /** End-of-sequence token id, where the model has one: greedy decoding stops there. */
  eosToken: number | undefined;
  /** Tokenises text with BOS first when the model adds it (vLLM's add_special_tokens). */
  encode(text: string, special: boolean): Promise<Int32Array>;
}

function promptIds(
  ctx: CompletionContext,
  p: string | number[],
  i: number,
  many: boolean,
): Promise<Int32Array> | Int32Array {
  const name = many ? `prompt[${i}]` : 'prompt';
  const V = ctx.pool.model.vocabSize;
  if (typeof p === 'string') {
    if (p.length === 0) throw new RequestError(400, `${name} is an empty string`, 'prompt');
    return ctx.encode(p, true);
  }
  if (p.length === 0) throw new RequestError(400, `${name} is an empty list of token ids`, 'prompt');
  const tokens = new Int32Array(p.length);
  for (let k = 0; k < p.length; k++) {
    const t = p[k]!;
    if (!Number.isInteger(t) || t < 0 || t >= V)
      throw new RequestError(400, `${name}[${k}] = ${t} is not a token id in [0, ${V})`, 'prompt');
    tokens[k] = t;
  }
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
 * One position's vLLM dict: the true token, the top-1 and (k > 1) the top-k; `target` −1 for a
 * generated token (its own entry is the top-1's).
 */
function entryAt(V: number, s: PositionScores, r: number, target: number, k: number): Record<string, Entry> {
  const e: Record<string, Entry> = {};
  if (k > 1 && s.logProbs) {
    const row = s.logProbs.subarray(r * V, (r + 1) * V);
    for (const [i, [v, lp]] of topK(row, k).entries()) e[String(v)] = { logprob: lp, rank: i + 1, decoded_token: '' };
  }
  const top = s.top1[r]!;
  if (top >= 0)
    e[String(top)] = { logprob: Math.log(s.top1Prob[r]!), rank: 1, decoded_token: '', prob: s.top1Prob[r]! };
  if (target < 0) return e;
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

/** Fills in the texts of the entries (a remote model learns the pieces of the ids first). */
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

interface Generated {
  ids: number[];
  entries: Array<Record<string, Entry>>;
  text: string;
  finish: 'stop' | 'length';
}

/** Decodes the generated tokens' bytes and cuts the text at the first stop string, if any. */
async function decodeGenerated(
  model: LanguageModel,
  ids: number[],
  stop: string[],
): Promise<{ text: string; stopped: boolean }> {
  const text = Buffer.concat(await model.tokenPieces(ids)).toString('utf8');
  let cut = -1;
  for (const s of stop) {
    const i = text.indexOf(s);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut < 0 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true };
}

/** What a request asks of every prompt: the top-k depth, whether prompt scores are wanted, from where. */
function shape(req: CompletionRequest): { depth: number; wantPrompt: boolean; from: (T: number) => number } {
  return {
    depth: Math.max(req.promptLogprobs ?? 0, req.logprobs ?? 0, 1),
    wantPrompt: req.promptLogprobs !== null || (req.echo && req.logprobs !== null),
    from: (T) => Math.min(req.from, Math.max(0, T - 2)),
  };
}

/** The prompt followed by a placeholder: its last position's top-1 is the first generated token. */
function withPlaceholder(tokens: Int32Array): Int32Array {
  const seq = new Int32Array(tokens.length + 1);
  seq.set(tokens);
  return seq;
}

/**
 * One choice, from the request's batched calls: `scores` of the prompt (when asked) and
 * `first`, the call whose last row gives the first generated token (when generating).
 */
async function oneChoice(
  ctx: CompletionContext,
  req: CompletionRequest,
  tokens: Int32Array,
  index: number,
  scores: PositionScores | undefined,
  first: PositionScores | undefined,
): Promise<{ choice: Record<string, unknown>; completionTokens: number }> {
  const { pool } = ctx;
  const model = pool.model;
  const V = model.vocabSize;
  const T = tokens.length;
  const { depth, from: fromOf } = shape(req);
  const from = fromOf(T);
  const gen: Generated = { ids: [], entries: [], text: '', finish: 'length' };
  if (first) {
    let seq = withPlaceholder(tokens);
    // Each call scores one position: the last prompt or generated token, predicting the placeholder.
    let s = first;
    for (;;) {
      const next = s.top1[0]!;
      if (next === ctx.eosToken) {
        gen.finish = 'stop';
        break;
      }
      gen.ids.push(next);
      gen.entries.push(entryAt(V, s, 0, -1, depth));
      if (req.stop.length > 0 && (await decodeGenerated(model, gen.ids, req.stop)).stopped) {
        gen.finish = 'stop';
        break;
      }
      if (gen.ids.length >= req.maxTokens) break;
      const grown = new Int32Array(seq.length + 1);
      grown.set(seq.subarray(0, seq.length - 1));
      grown[seq.length - 1] = next;
      seq = grown;
      s = await pool.score(seq, { from: seq.length - 2, full: depth > 1 });
    }
    const d = await decodeGenerated(model, gen.ids, req.stop);
    gen.text = d.text;
  }

  const pl: Array<Record<string, Entry> | null> = new Array(T).fill(null);
  if (scores)
    for (let r = 0; r < T - 1 - from; r++) pl[from + 1 + r] = entryAt(V, scores, r, tokens[from + 1 + r]!, depth);
  await nameTokens(model, [...pl, ...gen.entries], req.echo ? [...tokens, ...gen.ids] : gen.ids);

  let logprobs: Record<string, unknown> | null = null;
  if (req.logprobs !== null) {
    // OpenAI's legacy format covers the echoed prompt (when echo), then the generated tokens.
    const ids = req.echo ? [...tokens, ...gen.ids] : [...gen.ids];
    const tl: Array<number | null> = [];
    const tops: Array<Record<string, number> | null> = [];
    const dict = (e: Record<string, Entry>): Record<string, number> =>
      Object.fromEntries(Object.values(e).map((x) => [x.decoded_token, x.logprob]));
    if (req.echo)
      for (let i = 0; i < T; i++) {
        const e = pl[i];
        tl.push(e ? e[String(tokens[i])]!.logprob : null);
        tops.push(e ? dict(e) : null);
      }
    gen.ids.forEach((g, i) => {
      tl.push(gen.entries[i]![String(g)]?.logprob ?? null);
      tops.push(dict(gen.entries[i]!));
    });
    const texts = ids.map((t) => model.tokenText(t));
    const offsets: number[] = [];
    let off = 0;
    for (const s of texts) {
      offsets.push(off);
      off += s.length;
    }
    logprobs = { tokens: texts, token_logprobs: tl, top_logprobs: tops, text_offset: offsets };
  }
  let text = gen.text;
  if (req.echo) text = Buffer.concat(await model.tokenPieces(tokens)).toString('utf8') + text;
  return {
    choice: {
      index,
      text,
      logprobs,
      finish_reason: gen.finish,
      stop_reason: null,
      prompt_logprobs: req.promptLogprobs !== null ? pl : null,
    },
    completionTokens: gen.ids.length,
  };
}

export async function completions(
  ctx: CompletionContext,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  if (body.model !== undefined && body.model !== ctx.modelName)
    throw new RequestError(
      404,
      `The model \`${String(body.model)}\` does not exist; this server serves \`${ctx.modelName}\``,
      'model',
    );
  const req = parseCompletionRequest(body);
  const many = req.prompts.length > 1;
  // Every prompt is checked before any is scored: a bad one costs no model time.
  const all = await Promise.all(req.prompts.map((p, i) => promptIds(ctx, p, i, many)));
  all.forEach((tokens, i) => {
    const T = tokens.length;
    if (T + req.maxTokens > ctx.maxPromptTokens)
      throw new RequestError(
        400,
        `${many ? `prompt[${i}]` : 'prompt'} has ${T} tokens${req.maxTokens > 0 ? ` and max_tokens is ${req.maxTokens}` : ''}: more than this server's context of ${ctx.maxPromptTokens} tokens (--max-prompt-tokens)`,
        req.maxTokens > 0 && T <= ctx.maxPromptTokens ? 'max_tokens' : 'prompt',
      );
  });
  // The prompts' scoring calls and first generation steps go to the pool together (scoreMany:
  // the one place a multi-sequence batch call would pack them).
  const { depth, wantPrompt, from } = shape(req);
  const full = depth > 1;
  const scored = wantPrompt ? all.flatMap((t, i) => (t.length >= 2 ? [i] : [])) : [];
  for (const i of scored) {
    const n = all[i]!.length - 1 - from(all[i]!.length);
    if (full && n * ctx.pool.model.vocabSize > 2 ** 27)
      throw new RequestError(
        400,
        `top-${depth} log-probabilities of ${n} positions need ${n} × ${ctx.pool.model.vocabSize} floats, more than this server allows: ask for 1, or a shorter prompt`,
        req.promptLogprobs !== null ? 'prompt_logprobs' : 'logprobs',
      );
  }
  const [promptScores, firstSteps] = await Promise.all([
    ctx.pool.scoreMany(
      scored.map((i) => all[i]!),
      (k) => ({ from: from(all[scored[k]!]!.length), full }),
    ),
    req.maxTokens > 0
      ? ctx.pool.scoreMany(all.map(withPlaceholder), (i) => ({ from: all[i]!.length - 1, full }))
      : Promise.resolve(undefined),
  ]);
  const scoresOf = new Map(scored.map((i, k) => [i, promptScores[k]!]));
  const answers = await Promise.all(
    all.map((tokens, i) => oneChoice(ctx, req, tokens, i, scoresOf.get(i), firstSteps?.[i])),
  );
  const promptTokens = all.reduce((a, t) => a + t.length, 0);
  const completionTokens = answers.reduce((a, x) => a + x.completionTokens, 0);
  return {
    id: `cmpl-xent-${Date.now().toString(36)}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: ctx.modelName,
    choices: answers.map((a) => a.choice),
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}
