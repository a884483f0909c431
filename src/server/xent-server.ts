/**
 * `xent serve`: an OpenAI-compatible HTTP endpoint over one LanguageModel (node:http),
 * so that a GGUF model can be evaluated by several clients, and the HTTP adapter
 * (src/models/remote/remote-language-model.ts) is tested end to end against a real server.
 * The model may itself be remote: the server is then a proxy to another endpoint.
 *
 *   GET  /health, GET /v1/models            (the card adds {xent: {vocab_size, add_bos, bos_token}})
 *   GET  /tokenizer_info                    special tokens and chat template (vLLM's route, which
 *                                           lm-evaluation-harness's tokenizer_backend=remote reads)
 *   POST /v1/completions                    (completions.ts: vLLM prompt_logprobs, legacy echo,
 *                                           several prompts, greedy generation)
 *   POST /tokenize                          vLLM / lm-eval {prompt, add_special_tokens} and
 *                                           llama-server {content, add_special, with_pieces}
 *   POST /detokenize                        {tokens} → {prompt, content}
 *
 * Concurrent requests are answered independently: each model call runs alone on one of the
 * pool's models (pool.ts; `--parallel N` gives N), so no request's tokens meet another's.
 *
 * Bounds: request bodies (--max-body-bytes), prompt length (--max-prompt-tokens), and
 * requests waiting for the model (--max-queue; beyond it 503 with Retry-After, which
 * clients retry). With an API key (XENT_API_KEY), every route but /health needs
 * `Authorization: Bearer <key>`; the key is compared in constant time and never logged.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeWithSpecials, readSpecialTokens } from '../eval/special-tokens.js';
import type { LanguageModel } from '../models/language-model.js';
import { type CompletionContext, completions, RequestError } from './completions.js';
import { ModelPool } from './pool.js';

export interface XentServerOptions {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Name clients pass as `model`. */
  modelName: string;
  apiKey?: string | undefined;
  maxBodyBytes?: number;
  maxPromptTokens?: number;
  maxQueue?: number;
  /** One line per request (method, path, status, ms); never bodies or headers. */
  log?: (line: string) => void;
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s), ...headers });
  res.end(s);
}

function errorBody(status: number, message: string, param: string | null = null): unknown {
  const type =
    status === 401
      ? 'AuthenticationError'
      : status === 404
        ? 'NotFoundError'
        : status >= 500
          ? 'InternalServerError'
          : 'BadRequestError';
  return { object: 'error', error: { message, type, param, code: status }, message, type, param, code: status };
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        reject(new RequestError(413, `request body larger than ${max} bytes (--max-body-bytes)`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Serves `models` (one, or several contexts of the same model file: each runs one call at a
 * time, concurrent requests are spread over them); the server closes none of them.
 */
export async function startXentServer(
  models: LanguageModel | readonly LanguageModel[],
  o: XentServerOptions,
): Promise<RunningServer> {
  const pool = new ModelPool(Array.isArray(models) ? models : [models as LanguageModel]);
  const model = pool.model;
  const specials = await readSpecialTokens(model);
  const host = o.host ?? '127.0.0.1';
  const maxBody = o.maxBodyBytes ?? 64 * 2 ** 20;
  const maxQueue = o.maxQueue ?? 64;
  const maxPromptTokens =
    o.maxPromptTokens ?? (Number.isFinite(model.trainContextLength) ? Math.max(model.trainContextLength, 4096) : 8192);
  const keyHash = o.apiKey ? createHash('sha256').update(o.apiKey).digest() : undefined;
  const encode = async (text: string, special: boolean): Promise<Int32Array> => {
    const t = await encodeWithSpecials(model, specials, text);
    if (!special || !model.addsBos || model.bosToken === undefined) return t;
    const s = new Int32Array(t.length + 1);
    s[0] = model.bosToken;
    s.set(t, 1);
    return s;
  };
  const ctx: CompletionContext = { pool, modelName: o.modelName, maxPromptTokens, eosToken: specials.eos?.id, encode };
  let waiting = 0;

  const authorised = (req: IncomingMessage): boolean => {
    if (!keyHash) return true;
    const h = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(h);
    // Hashes have equal lengths, so the comparison is constant-time whatever was sent.
    return m !== null && timingSafeEqual(createHash('sha256').update(m[1]!).digest(), keyHash);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/health') return (send(res, 200, { status: 'ok' }), 200);
    if (!authorised(req))
      return (send(res, 401, errorBody(401, 'missing or wrong API key (Authorization: Bearer …)')), 401);
    if (req.method === 'GET' && path === '/v1/models') {
      const card = {
        id: o.modelName,
        object: 'model',
        created: Math.floor(Date.now() / 1000),
        owned_by: 'xent',
        max_model_len: Number.isFinite(model.trainContextLength) ? model.trainContextLength : null,
        xent: { vocab_size: model.vocabSize, add_bos: model.addsBos, bos_token: model.bosToken ?? null },
      };
      return (send(res, 200, { object: 'list', data: [card] }), 200);
    }
    if (req.method === 'GET' && path === '/tokenizer_info') {
      // vLLM's keys (the tokenizer's config); lm-eval needs eos_token and reads bos_token,
      // pad_token and chat_template. Ids are an xent addition, for clients without a tokenizer.
      const info: Record<string, unknown> = {
        tokenizer_class: 'GGUFTokenizer',
        eos_token: specials.eos?.text ?? null,
        bos_token: specials.bos?.text ?? null,
        pad_token: specials.pad?.text ?? null,
        eos_token_id: specials.eos?.id ?? null,
        bos_token_id: specials.bos?.id ?? null,
        pad_token_id: specials.pad?.id ?? null,
        add_bos_token: model.addsBos,
        vocab_size: model.vocabSize,
        model_max_length: maxPromptTokens,
      };
      if (specials.chatTemplate !== undefined) info.chat_template = specials.chatTemplate;
      return (send(res, 200, info), 200);
    }
    if (req.method !== 'POST' || !['/v1/completions', '/tokenize', '/detokenize'].includes(path)) {
      return (send(res, 404, errorBody(404, `no route ${req.method} ${path}`)), 404);
    }
    const raw = await readBody(req, maxBody);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new RequestError(400, 'the request body is not JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new RequestError(400, 'the request body is not a JSON object');
    if (path === '/tokenize') {
      const text = typeof body.prompt === 'string' ? body.prompt : body.content;
      if (typeof text !== 'string')
        throw new RequestError(400, 'tokenize needs `prompt` (vLLM) or `content` (llama-server) as a string', 'prompt');
      const special = body.add_special_tokens === true || body.add_special === true;
      const tokens = await encode(text, special);
      let list: unknown[] = Array.from(tokens);
      if (body.with_pieces === true) {
        const pieces = await model.tokenPieces(tokens);
        list = Array.from(tokens, (id, i) => ({ id, piece: pieceJson(pieces[i]!) }));
      }
      return (
        send(res, 200, {
          tokens: list,
          count: tokens.length,
          max_model_len: Number.isFinite(model.trainContextLength) ? model.trainContextLength : maxPromptTokens,
        }),
        200
      );
    }
    if (path === '/detokenize') {
      const ids = body.tokens;
      if (!Array.isArray(ids) || !ids.every((t) => Number.isInteger(t) && t >= 0 && t < model.vocabSize))
        throw new RequestError(400, `tokens must be an array of token ids in [0, ${model.vocabSize})`, 'tokens');
      const s = Buffer.concat(await model.tokenPieces(ids)).toString('utf8');
      return (send(res, 200, { prompt: s, content: s }), 200);
    }
    if (waiting >= maxQueue)
      return (
        send(res, 503, errorBody(503, `server busy: ${waiting} requests waiting (--max-queue ${maxQueue})`), {
          'retry-after': '1',
        }),
        503
      );
    waiting++;
    try {
      return (send(res, 200, await completions(ctx, body)), 200);
    } finally {
      waiting--;
    }
  };

  const server = createServer((req, res) => {
    const t0 = performance.now();
    handle(req, res)
      .then((status) => o.log?.(`${req.method} ${req.url} ${status} ${(performance.now() - t0).toFixed(1)} ms`))
      .catch((e: unknown) => {
        const status = e instanceof RequestError ? e.status : 500;
        const message = e instanceof Error ? e.message : String(e);
        if (!res.headersSent) send(res, status, errorBody(status, message, e instanceof RequestError ? e.param : null));
        else res.destroy();
        o.log?.(`${req.method} ${req.url} ${status} ${message}`);
      });
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 600_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port,
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** llama-server's convention: the piece as a string when it is valid UTF-8, else its bytes. */
function pieceJson(b: Uint8Array): string | number[] {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return Array.from(b);
  }
}
