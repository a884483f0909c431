/**
 * A model behind an OpenAI-compatible HTTP endpoint (vLLM, `xent serve`; llama-server
 * for tokenisation) as a LanguageModel: `loadModel('http://host:port')` opens one, and
 * `xent eval --server` shares the windows of one evaluation among several
 * (src/eval/shards.ts).
 *
 *   GET  /v1/models      model name (data[0].id), max_model_len; `xent serve` adds
 *                        {xent: {vocab_size}}.
 *   POST /tokenize       the endpoint's own tokenisation (so token counts agree with it),
 *                        asked in both dialects at once: llama-server's
 *                        {content, add_special, parse_special, with_pieces} and vLLM's
 *                        {prompt, add_special_tokens}. BOS is found by tokenising "" with
 *                        special tokens on.
 *   POST /detokenize     the text of a token the other answers did not reveal.
 *   POST /v1/completions prompt as token ids, max_tokens 0 (xent) or 1, prompt_logprobs 1
 *                        (vLLM; `prompt_logprobs_from` lets xent serve score only what is
 *                        asked, exactly as a local run does) or echo + logprobs 1.
 * Parsing: remote-protocol.ts. Failures: remote-http.ts (classified for retries).
 *
 * The endpoint answers the log-probabilities of the true and the top-ranked tokens, never
 * full rows of V: `fullDistributions` is false, and `score(…, { full: true })` is refused.
 *
 * Bits per byte needs each scored token's byte length: exact from pieces (xent serve,
 * llama-server); for vLLM, from /detokenize of each distinct token, which renders a
 * token holding part of a UTF-8 character as U+FFFD (3 bytes) — reported as a warning.
 */
import { XentError } from '../../core/errors.js';
import {
  checkScoreInput,
  type LanguageModel,
  type PositionScores,
  type ScoreOptions,
  utf8Text,
} from '../language-model.js';
import { displayUrl, type HttpOptions, remoteError, requestJson } from './remote-http.js';
import { ProtocolError, parsePromptLogprobs, parseTokenize, pieceText } from './remote-protocol.js';

export interface RemoteOptions {
  /** Model name on the endpoint; default: the first of GET /v1/models. */
  model?: string | undefined;
  /** Bearer token; default XENT_API_KEY, then OPENAI_API_KEY. */
  apiKey?: string | undefined;
  /** Per-request limit, ms. Default 120000. */
  timeoutMs?: number;
  /**
   * The op named in this model's errors: 'remote' by default; `xent eval --server` names
   * its endpoints 'server', after the option they came from.
   */
  op?: string;
  /** The option that gave the URL, for messages about it. Default '--model'. */
  arg?: string;
}

export interface ScoreRequestOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
}

/** The key from the environment; never printed. */
export function apiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.XENT_API_KEY || env.OPENAI_API_KEY || undefined;
}

function protocol(op: string, endpoint: string, what: string, e: unknown): XentError {
  if (e instanceof ProtocolError) return remoteError(op, endpoint, `${what}: ${e.message}`, { retryable: false });
  return e as XentError;
}

export class RemoteLanguageModel implements LanguageModel {
  /** 'server': the kind results have always named a model behind an endpoint. */
  readonly kind = 'server' as const;
  readonly engine = 'remote' as const;
  /** The endpoint answers the true and top-ranked tokens only, never rows of V. */
  readonly fullDistributions = false;
  /** The tokenizers OpenAI-compatible engines serve (GGUF, Hugging Face) encode every byte sequence. */
  readonly byteExact = true;
  /** Not a setting here: the endpoint decides. */
  readonly threads = undefined;
  /** The endpoint's software, from /v1/models owned_by ('vllm', 'llamacpp', 'xent', …). */
  readonly ownedBy: string;
  readonly trainContextLength: number;
  /** Texts and bytes of the tokens seen so far, by id (a text may come without its bytes). */
  private readonly texts = new Map<number, string>();
  private readonly pieces = new Map<number, Uint8Array>();
  private vocab: number;
  /** Whether the endpoint stated V (xent serve); else V is one past the largest id seen. */
  readonly vocabKnown: boolean;
  private _addsBos = false;
  private _bos: number | undefined;
  /** Set when some token's byte length was inferred from lossy detokenised text. */
  lossyBytes = false;
  /** Set when some answer did not identify the top-1 token (legacy format keyed by text): top-1 accuracy is then unknown. */
  top1Unknown = false;
  private readonly http: HttpOptions;
  private readonly op: string;

  private constructor(
    /** Base URL as given (may carry credentials; never shown). */
    private readonly base: string,
    /** The URL as messages show it. */
    readonly endpoint: string,
    readonly modelName: string,
    ownedBy: string,
    vocab: number,
    maxLen: number | undefined,
    http: HttpOptions,
    op: string,
  ) {
    this.op = op;
    this.ownedBy = ownedBy;
    this.vocab = vocab;
    this.vocabKnown = vocab > 0;
    this.trainContextLength = maxLen ?? Infinity;
    this.http = http;
  }

  /** Connects: lists models, checks the name, finds BOS. Throws XentError('remote_error' | 'invalid_argument'). */
  static async open(url: string, opts: RemoteOptions = {}): Promise<RemoteLanguageModel> {
    const op = opts.op ?? 'remote';
    const arg = opts.arg ?? '--model';
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new XentError(
        'invalid_argument',
        op,
        `${arg} ${JSON.stringify(url)} is not a URL (expected e.g. http://127.0.0.1:8000)`,
        { arg, value: url },
      );
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new XentError('invalid_argument', op, `${arg} ${displayUrl(url)} must be an http:// or https:// URL`, {
        arg,
      });
    // Accept both http://host:port and http://host:port/v1 (OpenAI clients' base URL).
    const base = url.replace(/\/+$/, '').replace(/\/v1$/, '');
    const endpoint = displayUrl(base);
    const http: HttpOptions = { apiKey: opts.apiKey ?? apiKeyFromEnv(), timeoutMs: opts.timeoutMs ?? 120_000 };
    const list = await requestJson(op, base, '/v1/models', undefined, {
      ...http,
      timeoutMs: Math.min(http.timeoutMs, 30_000),
    });
    const data = (list as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length === 0)
      throw remoteError(op, endpoint, 'GET /v1/models lists no model', { retryable: false });
    const names = data.map((d) => (d as { id?: unknown }).id).filter((x): x is string => typeof x === 'string');
    const name = opts.model ?? names[0];
    const card = data.find((d) => (d as { id?: unknown }).id === name) as Record<string, unknown> | undefined;
    if (name === undefined || !card) {
      throw new XentError(
        'invalid_argument',
        op,
        `--server-model ${JSON.stringify(opts.model)} is not served by ${endpoint} (it serves ${names.map((n) => JSON.stringify(n)).join(', ')})`,
        {
          arg: '--server-model',
          value: opts.model,
        },
      );
    }
    const ext = card.xent as { vocab_size?: unknown } | undefined;
    const vocab = typeof ext?.vocab_size === 'number' ? ext.vocab_size : 0;
    const mml = typeof card.max_model_len === 'number' ? card.max_model_len : undefined;
    const m = new RemoteLanguageModel(
      base,
      endpoint,
      name,
      typeof card.owned_by === 'string' ? card.owned_by : 'unknown',
      vocab,
      mml,
      http,
      op,
    );
    const bos = await m.tokenizeRaw('', true);
    if (bos.tokens.length === 1) {
      m._addsBos = true;
      m._bos = bos.tokens[0];
    }
    return m;
  }

  get id(): string {
    return `${this.endpoint} ${this.modelName}`;
  }
  get name(): string {
    return this.modelName;
  }
  get vocabSize(): number {
    return this.vocab;
  }
  get addsBos(): boolean {
    return this._addsBos;
  }
  get bosToken(): number | undefined {
    return this._bos;
  }
  /** The endpoint scores a request while it works on others. */
  readonly pipelined = true;

  private async tokenizeRaw(text: string, special: boolean): Promise<ReturnType<typeof parseTokenize>> {
    const body = {
      model: this.modelName,
      prompt: text,
      content: text,
      add_special_tokens: special,
      add_special: special,
      parse_special: false,
      with_pieces: true,
    };
    const res = await requestJson(this.op, this.base, '/tokenize', body, this.http);
    try {
      const p = parseTokenize(res);
      for (const [id, b] of p.pieces ?? []) this.learn(id, pieceText(b), b);
      return p;
    } catch (e) {
      throw protocol(this.op, this.endpoint, 'POST /tokenize', e);
    }
  }

  private learn(id: number, text: string, piece: Uint8Array): void {
    if (!this.texts.has(id)) this.texts.set(id, text);
    if (!this.pieces.has(id)) this.pieces.set(id, piece);
  }

  /** Tokenises with the endpoint's tokenizer (no BOS), and learns the pieces' texts. */
  async tokenize(text: string): Promise<Int32Array> {
    const p = await this.tokenizeRaw(text, false);
    if (this.vocabKnown) {
      for (let i = 0; i < p.tokens.length; i++) {
        if (p.tokens[i]! >= this.vocab)
          throw remoteError(
            this.op,
            this.endpoint,
            `POST /tokenize: token ${i} has id ${p.tokens[i]}, outside the vocabulary [0, ${this.vocab})`,
            { retryable: false },
          );
      }
    }
    await this.learnTexts(p.tokens);
    if (!this.vocabKnown) {
      // vLLM does not say V: the largest id seen bounds what evaluation indexes.
      let max = Math.max(this.vocab - 1, this._bos ?? -1);
      for (const t of p.tokens) if (t > max) max = t;
      this.vocab = max + 1;
    }
    return p.tokens;
  }

  tokenizeBytes(bytes: Uint8Array): Promise<Int32Array> {
    return this.tokenize(utf8Text(bytes));
  }

  /** Fetches (once each) the texts of tokens not yet known, 8 requests at a time. */
  async learnTexts(ids: Iterable<number>): Promise<void> {
    const missing = [...new Set(ids)].filter((t) => t >= 0 && !this.pieces.has(t));
    for (let i = 0; i < missing.length; i += 8) {
      await Promise.all(
        missing.slice(i, i + 8).map(async (t) => {
          const res = (await requestJson(
            this.op,
            this.base,
            '/detokenize',
            { model: this.modelName, tokens: [t] },
            this.http,
          )) as Record<string, unknown>;
          const s =
            typeof res?.prompt === 'string' ? res.prompt : typeof res?.content === 'string' ? res.content : undefined;
          if (s === undefined)
            throw remoteError(
              this.op,
              this.endpoint,
              `POST /detokenize of token ${t}: the response has neither prompt (vLLM) nor content (llama-server)`,
              { retryable: false },
            );
          if (s.includes('\uFFFD')) this.lossyBytes = true;
          this.learn(t, s, Buffer.from(s, 'utf8'));
        }),
      );
    }
  }

  tokenText(token: number): string {
    return this.texts.get(token) ?? `<unk ${token}>`;
  }

  /** The token's text when this endpoint has seen it. */
  knownText(token: number): string | undefined {
    return this.texts.get(token);
  }

  tokenBytes(): Int32Array {
    let n = this.vocab;
    for (const id of this.pieces.keys()) if (id >= n) n = id + 1;
    const out = new Int32Array(n);
    for (const [id, p] of this.pieces) out[id] = p.length;
    return out;
  }

  async tokenPieces(tokens: ArrayLike<number>): Promise<Uint8Array[]> {
    const ids = Array.from(tokens);
    for (const t of ids)
      if (!Number.isInteger(t) || t < 0 || (this.vocabKnown && t >= this.vocab))
        throw new XentError(
          'index_out_of_range',
          `${this.op}.tokenPieces`,
          `token ${t} is out of range [0, ${this.vocabKnown ? this.vocab : '?'})`,
          { arg: 'tokens', value: t },
        );
    await this.learnTexts(ids);
    return ids.map((t) => this.pieces.get(t)!.slice());
  }

  /** One request: the prompt log-probabilities of `tokens` from `from` on. */
  async scoreRequest(tokens: Int32Array, from: number, o: ScoreRequestOptions = {}): Promise<PositionScores> {
    checkScoreInput(`${this.op}.score`, tokens, from, undefined, 1);
    const xent = this.ownedBy === 'xent';
    const body: Record<string, unknown> = {
      model: this.modelName,
      prompt: Array.from(tokens),
      // vLLM wants at least one generated token; xent serve scores the prompt only.
      max_tokens: xent ? 0 : 1,
      temperature: 0,
    };
    if (this.ownedBy === 'llamacpp') Object.assign(body, { echo: true, logprobs: 1 });
    else Object.assign(body, { prompt_logprobs: 1, prompt_logprobs_from: from });
    const res = await requestJson(this.op, this.base, '/v1/completions', body, {
      ...this.http,
      signal: o.signal,
      timeoutMs: o.timeoutMs ?? this.http.timeoutMs,
    });
    let parsed: ReturnType<typeof parsePromptLogprobs>;
    try {
      parsed = parsePromptLogprobs(res, tokens, from);
    } catch (e) {
      if (e instanceof ProtocolError && this.ownedBy === 'llamacpp') {
        e.message +=
          "; llama.cpp's llama-server answers log-probabilities of generated tokens only (llama.cpp issue #27174): serve the GGUF file with `xent serve` instead";
      }
      throw protocol(this.op, this.endpoint, 'POST /v1/completions', e);
    }
    for (const [id, s] of parsed.texts) if (!this.texts.has(id)) this.texts.set(id, s);
    if (parsed.top1.some((t) => t < 0)) this.top1Unknown = true;
    // Texts of top-1 tokens the answer did not name (the legacy format), for per-token output.
    const unknown: number[] = [];
    for (const t of parsed.top1) if (t >= 0 && !this.texts.has(t)) unknown.push(t);
    if (unknown.length) await this.learnTexts(unknown);
    const { nats, rank, top1, top1Prob } = parsed;
    return { nats, rank, top1, top1Prob };
  }

  async score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    if (opts.full)
      throw new XentError(
        'invalid_argument',
        `${this.op}.score`,
        'full log-probability rows (KL divergence, distillation) are not available from a server, only the true and top-1 tokens',
      );
    return this.scoreRequest(tokens, opts.from);
  }

  async close(): Promise<void> {
    // Connections are pooled by fetch and closed when idle; nothing is held here.
  }
}
