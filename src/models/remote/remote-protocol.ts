/**
 * Wire formats of prompt log-probabilities, parsed strictly (a response that does not
 * have what was asked for is an error naming what is missing, never a silent NaN).
 *
 * vLLM's extension (also what `xent serve` answers), for a prompt of T token ids:
 *   choices[0].prompt_logprobs: [null, {"<id>": {logprob, rank, decoded_token}, …}, …]
 *   length T; entry k is log p(token k | tokens 0…k−1), keyed by token id; with
 *   prompt_logprobs = 1 it holds the true token and the top-1 token (rank 1, 1-based).
 *   `xent serve` adds `prob` (exact p of the top-1 token) and answers null before
 *   entry from+1 when asked `prompt_logprobs_from`.
 * OpenAI's legacy echo (`echo: true, logprobs: N`; vLLM, and llama-server should it
 * land there — llama.cpp PR #15189 is open, issue #27174: it answers generated tokens only):
 *   choices[0].logprobs: {tokens[], token_logprobs[] (first null), top_logprobs[] ({text: logprob}), text_offset[]}
 *   covering the prompt then the generated tokens. No ranks; top-1 ids only when tokens
 *   are written "token_id:N" (vLLM's return_tokens_as_token_ids).
 */
import type { PositionScores } from '../language-model.js';

/** Shapes: rows r = 0 … T−2−from, row r predicts token from+1+r. */
export interface ParsedScores extends PositionScores {
  /** Token texts the response revealed (decoded_token), by id. */
  texts: Map<number, string>;
}

/** Thrown for a response without what was asked; the caller adds endpoint and shard. */
export class ProtocolError extends Error {}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function firstChoice(res: unknown): Record<string, unknown> {
  if (!isRecord(res)) throw new ProtocolError('the response is not a JSON object');
  const choices = res.choices;
  if (!Array.isArray(choices) || choices.length === 0) throw new ProtocolError('the response has no choices[0]');
  const c = choices[0];
  if (!isRecord(c)) throw new ProtocolError('choices[0] is not an object');
  return c;
}

/** Parses either format; `tokens` are the T ids sent, `from` the first scored position. */
export function parsePromptLogprobs(res: unknown, tokens: Int32Array, from: number): ParsedScores {
  const c = firstChoice(res);
  if (c.prompt_logprobs !== undefined && c.prompt_logprobs !== null) return parseVllm(c.prompt_logprobs, tokens, from);
  if (isRecord(c.logprobs) && Array.isArray(c.logprobs.token_logprobs)) return parseEcho(c.logprobs, tokens, from);
  throw new ProtocolError(
    'the response has neither choices[0].prompt_logprobs (vLLM) nor echoed choices[0].logprobs.token_logprobs: the endpoint does not return prompt-token log-probabilities ' +
      "(llama.cpp's llama-server does not; serve the GGUF file with `xent serve` instead)",
  );
}

function alloc(count: number): ParsedScores {
  return {
    nats: new Float64Array(count),
    rank: new Int32Array(count).fill(-1),
    top1: new Int32Array(count).fill(-1),
    top1Prob: new Float64Array(count).fill(NaN),
    texts: new Map(),
  };
}

function parseVllm(pl: unknown, tokens: Int32Array, from: number): ParsedScores {
  const T = tokens.length;
  if (!Array.isArray(pl)) throw new ProtocolError('choices[0].prompt_logprobs is not an array');
  if (pl.length !== T)
    throw new ProtocolError(
      `choices[0].prompt_logprobs has ${pl.length} entries for a prompt of ${T} tokens (truncated, or the endpoint re-tokenised the prompt)`,
    );
  const count = T - 1 - from;
  const out = alloc(count);
  for (let r = 0; r < count; r++) {
    const k = from + 1 + r;
    const entry = pl[k];
    const where = `choices[0].prompt_logprobs[${k}]`;
    if (!isRecord(entry))
      throw new ProtocolError(
        `${where} is ${entry === null ? 'null' : typeof entry}, expected {token_id: {logprob, …}}`,
      );
    const target = tokens[k]!;
    const mine = entry[String(target)];
    if (!isRecord(mine)) throw new ProtocolError(`${where} has no entry for the prompt's token ${target}`);
    const lp = mine.logprob;
    if (typeof lp !== 'number' || !Number.isFinite(lp) || lp > 1e-6)
      throw new ProtocolError(`${where}["${target}"].logprob is ${JSON.stringify(lp)}, expected a finite number ≤ 0`);
    out.nats[r] = -lp;
    if (Number.isInteger(mine.rank) && (mine.rank as number) >= 1) out.rank[r] = (mine.rank as number) - 1;
    // The top-1 is the rank-1 entry where ranks are given, else the most likely listed token
    // (the dict holds the top-k tokens besides the true one).
    let bestId = -1;
    let best: Record<string, unknown> | undefined;
    for (const [key, v] of Object.entries(entry)) {
      const id = Number(key);
      if (!Number.isInteger(id) || id < 0 || !isRecord(v) || typeof v.logprob !== 'number')
        throw new ProtocolError(`${where} has a malformed entry ${JSON.stringify(key)}`);
      if (typeof v.decoded_token === 'string') out.texts.set(id, v.decoded_token);
      if (best?.rank === 1) continue;
      if (v.rank === 1 || best === undefined || v.logprob > (best.logprob as number)) {
        best = v;
        bestId = id;
      }
    }
    if (best) {
      out.top1[r] = bestId;
      out.top1Prob[r] = typeof best.prob === 'number' ? best.prob : Math.exp(best.logprob as number);
    }
  }
  return out;
}

function parseEcho(lp: Record<string, unknown>, tokens: Int32Array, from: number): ParsedScores {
  const T = tokens.length;
  const tl = lp.token_logprobs as unknown[];
  if (tl.length < T)
    throw new ProtocolError(
      `choices[0].logprobs.token_logprobs has ${tl.length} entries for a prompt of ${T} tokens: the endpoint did not echo the prompt (truncated?)`,
    );
  const top = Array.isArray(lp.top_logprobs) ? (lp.top_logprobs as unknown[]) : [];
  const count = T - 1 - from;
  const out = alloc(count);
  for (let r = 0; r < count; r++) {
    const k = from + 1 + r;
    const x = tl[k];
    if (typeof x !== 'number' || !Number.isFinite(x) || x > 1e-6)
      throw new ProtocolError(
        `choices[0].logprobs.token_logprobs[${k}] is ${JSON.stringify(x)}, expected a finite number ≤ 0`,
      );
    out.nats[r] = -x;
    const t = top[k];
    if (isRecord(t)) {
      let bestKey: string | undefined;
      let bestLp = -Infinity;
      for (const [key, v] of Object.entries(t)) if (typeof v === 'number' && v > bestLp) [bestKey, bestLp] = [key, v];
      const m = bestKey !== undefined ? /^token_id:(\d+)$/.exec(bestKey) : null;
      if (m) {
        out.top1[r] = Number(m[1]);
        out.top1Prob[r] = Math.exp(bestLp);
        if (out.top1[r] === tokens[k]) out.rank[r] = 0;
      }
    }
  }
  return out;
}

/** A /tokenize answer: llama-server ({tokens: [id | {id, piece}]}) or vLLM ({tokens, count, max_model_len}). */
export interface ParsedTokenize {
  tokens: Int32Array;
  /** UTF-8 bytes of each token's piece, when the endpoint gave pieces (llama-server, xent serve). */
  pieces?: Map<number, Uint8Array>;
  maxModelLen?: number;
}

export function parseTokenize(res: unknown): ParsedTokenize {
  if (!isRecord(res) || !Array.isArray(res.tokens))
    throw new ProtocolError('the /tokenize response has no tokens array');
  const list = res.tokens as unknown[];
  const tokens = new Int32Array(list.length);
  let pieces: Map<number, Uint8Array> | undefined;
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 2 ** 31) {
      tokens[i] = x;
      continue;
    }
    if (isRecord(x) && Number.isInteger(x.id) && (x.id as number) >= 0) {
      tokens[i] = x.id as number;
      pieces ??= new Map();
      // A piece is a string, or (llama-server) an array of byte values when it is not valid UTF-8.
      if (typeof x.piece === 'string') pieces.set(tokens[i]!, Buffer.from(x.piece, 'utf8'));
      else if (Array.isArray(x.piece) && x.piece.every((b) => Number.isInteger(b) && b >= 0 && b < 256))
        pieces.set(tokens[i]!, Uint8Array.from(x.piece as number[]));
      else throw new ProtocolError(`/tokenize tokens[${i}].piece is neither a string nor a byte array`);
      continue;
    }
    throw new ProtocolError(`/tokenize tokens[${i}] = ${JSON.stringify(x)} is not a token id`);
  }
  const mml = res.max_model_len;
  return { tokens, ...(pieces ? { pieces } : {}), ...(typeof mml === 'number' && mml > 0 ? { maxModelLen: mml } : {}) };
}

/** A token's bytes as xent prints them: the UTF-8 text, or <0xNN> per byte when it is not valid UTF-8 (as the native GGUF engine does). */
export function pieceText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Array.from(bytes, (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
  }
}
