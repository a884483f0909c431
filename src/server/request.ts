/**
 * Validation of a POST /v1/completions body, as OpenAI's API does it: unknown fields are
 * ignored, a known field of the wrong type or out of range is a 400 naming the field.
 * `prompt` may be a string, a list of strings, a list of token ids or a list of token-id
 * lists (one choice per prompt, `index` = its place in the list).
 */

/** A client error: answered with HTTP `status`, `message` and the offending field (`param`). */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** Top-k log-probabilities answered at most (vLLM's default limit). */
export const MAX_TOP = 20;

export interface CompletionRequest {
  /** One entry per choice: text (tokenised with BOS when the model adds it) or token ids. */
  prompts: Array<string | number[]>;
  maxTokens: number;
  echo: boolean;
  /** OpenAI's legacy `logprobs` (top-k per token), null when absent. */
  logprobs: number | null;
  /** vLLM's `prompt_logprobs`, null when absent. */
  promptLogprobs: number | null;
  /** xent's `prompt_logprobs_from`: the first prompt position whose prediction is wanted. */
  from: number;
  stop: string[];
}

function int(body: Record<string, unknown>, key: string, min: number, max: number, dflt: number | null): number | null {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new RequestError(
      400,
      `${key} must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}], got ${JSON.stringify(v)}`,
      key,
    );
  return v;
}

function prompts(p: unknown): Array<string | number[]> {
  const bad = (why: string): never => {
    throw new RequestError(
      400,
      `prompt${why.startsWith('[') ? '' : ' '}${why}: it must be a string, a list of strings, a list of token ids or a list of token-id lists`,
      'prompt',
    );
  };
  if (p === undefined || p === null) bad('is missing');
  if (typeof p === 'string') return [p];
  if (!Array.isArray(p)) return bad(`is a ${typeof p}`);
  if (p.length === 0) bad('is an empty list');
  if (p.every((x) => typeof x === 'number')) return [p as number[]];
  if (p.every((x) => typeof x === 'string')) return p as string[];
  if (p.every((x) => Array.isArray(x))) {
    p.forEach((x: unknown[], i) => {
      if (!x.every((t) => typeof t === 'number')) bad(`[${i}] is a list that holds something other than numbers`);
    });
    return p as number[][];
  }
  return bad('mixes types');
}

export function parseCompletionRequest(body: Record<string, unknown>): CompletionRequest {
  if (body.stream !== undefined && body.stream !== null && body.stream !== false)
    throw new RequestError(400, 'stream is not supported by xent serve: send stream: false or leave it out', 'stream');
  if (body.n !== undefined && body.n !== null && body.n !== 1)
    throw new RequestError(
      400,
      `n must be 1 (xent serve decodes greedily: every choice would be the same), got ${JSON.stringify(body.n)}`,
      'n',
    );
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== 1)
    throw new RequestError(400, `best_of must be 1, got ${JSON.stringify(body.best_of)}`, 'best_of');
  if (body.echo !== undefined && body.echo !== null && typeof body.echo !== 'boolean')
    throw new RequestError(400, `echo must be a boolean, got ${JSON.stringify(body.echo)}`, 'echo');
  const t = body.temperature;
  if (t !== undefined && t !== null && (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > 2))
    throw new RequestError(400, `temperature must be a number in [0, 2], got ${JSON.stringify(t)}`, 'temperature');
  int(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, null);
  const maxTokens = int(body, 'max_tokens', 0, Number.MAX_SAFE_INTEGER, 0)!;
  if (maxTokens > 0 && typeof t === 'number' && t > 0)
    throw new RequestError(
      400,
      `xent serve decodes greedily: temperature must be 0 when max_tokens > 0, got ${t}`,
      'temperature',
    );
  let stop: string[] = [];
  const s = body.stop;
  if (typeof s === 'string') stop = [s];
  else if (Array.isArray(s) && s.every((x) => typeof x === 'string')) stop = s as string[];
  else if (s !== undefined && s !== null)
    throw new RequestError(400, `stop must be a string or a list of strings, got ${JSON.stringify(s)}`, 'stop');
  stop = stop.filter((x) => x.length > 0);
  const lp = body.logprobs;
  const logprobs = typeof lp === 'boolean' ? (lp ? 1 : null) : int(body, 'logprobs', 0, MAX_TOP, null);
  return {
    prompts: prompts(body.prompt),
    maxTokens,
    echo: body.echo === true,
    logprobs,
    promptLogprobs: int(body, 'prompt_logprobs', 0, MAX_TOP, null),
    from: int(body, 'prompt_logprobs_from', 0, 2 ** 31, 0)!,
    stop,
  };
}
