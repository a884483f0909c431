/**
 * Evaluation across several servers: the windows (shards) of one evaluation are scored
 * concurrently by several endpoints, and folded into the statistics by the ordinary
 * `evaluatePerplexity` — in shard order, from the same per-position nats — so the result
 * is bit-identical to a local run's whatever the number of endpoints, the finishing
 * order, retries or reassignments. Checkpoints are evaluatePerplexity's (the folded
 * prefix); a restarted run re-scores only what was not folded, and nothing is counted twice.
 *
 * Scheduling (ShardScheduler):
 *  - each endpoint runs at most `concurrency` requests; only shards in [floor, floor +
 *    lookahead) are dispatched, floor = the first shard not yet scored, so memory for
 *    results that finished out of order stays bounded;
 *  - a retryable failure (HTTP 408/429/5xx, time-out, connection refused/reset, truncated
 *    body; see src/models/remote/remote-http.ts) puts the shard back after exponential backoff
 *    with jitter (base·2^(attempt−1)·[0.5, 1), at most maxDelayMs, at least Retry-After),
 *    preferably onto another endpoint; `dropAfter` consecutive failures drop an endpoint,
 *    and its shards go to the others; a shard that failed `maxAttempts` times, or the last
 *    endpoint dropped, stops the run with an error naming the endpoints and the shard;
 *  - a non-retryable failure (a response without the log-probabilities asked for, HTTP
 *    4xx) stops the run at once: it is a configuration error, not bad luck.
 * Every loop is bounded: requests per shard ≤ maxAttempts, each ≤ timeoutMs.
 */
import { XentError } from '../core/errors.js';
import type { LanguageModel, PositionScores, ScoreOptions } from '../models/language-model.js';
import type { RemoteLanguageModel } from '../models/remote/remote-language-model.js';
import { type EvaluateOptions, type EvaluateResult, evaluatePerplexity, tokenStream } from './evaluate.js';
import { type EvalWindow, planWindows } from './windows.js';

export interface ShardOptions {
  /** Requests in flight per endpoint. Default 2. */
  concurrency?: number;
  /** Attempts per shard, all endpoints together. Default 6. */
  maxAttempts?: number;
  /** Consecutive failures after which an endpoint is dropped. Default 3. */
  dropAfter?: number;
  /** First retry delay, ms. Default 250. */
  baseDelayMs?: number;
  /** Longest retry delay, ms. Default 8000. */
  maxDelayMs?: number;
  /** Per-request limit, ms. Default 120000. */
  timeoutMs?: number;
  /** Shards dispatched beyond the first unscored one. Default 4 × all endpoints' concurrency. */
  lookahead?: number;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /** Called when a request ends (progress, tests). */
  onShard?: (e: ShardEvent) => void | Promise<void>;
  /** Called when an endpoint is dropped. */
  onDrop?: (endpoint: string, reason: string) => void;
  /** Scores of windows finished by an earlier run (shards-checkpoint.ts): not requested again. */
  preloaded?: ReadonlyMap<number, PositionScores>;
  /** Called with each window's scores as they arrive, in any order (to save them). */
  onScored?: (shard: number, scores: PositionScores) => void;
}

export interface ShardEvent {
  /** 0-based shard (window) index. */
  shard: number;
  endpoint: string;
  ok: boolean;
  error?: string;
}

export interface EndpointStats {
  endpoint: string;
  /** Shards this endpoint scored (successful requests). */
  shards: number;
  requests: number;
  failures: number;
  dropped: boolean;
  drop_reason: string | null;
}

interface Slot {
  model: RemoteLanguageModel;
  stats: EndpointStats;
  active: number;
  consecutive: number;
}

interface Shard {
  state: 'pending' | 'running' | 'done';
  attempts: number;
  notBefore: number;
  avoid: Slot | undefined;
  promise: Promise<PositionScores>;
  resolve: (s: PositionScores) => void;
  reject: (e: unknown) => void;
}

const OP = 'eval';

export class ShardScheduler {
  private readonly shards = new Map<number, Shard>();
  private readonly slots: Slot[];
  /** The first shard not yet scored. */
  private floor: number;
  /** Scored shards at or beyond floor. */
  private readonly done = new Set<number>();
  /** One past the last shard the consumer asked for. */
  private nextAsk: number;
  private failure: unknown;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly ac = new AbortController();
  private readonly o: Required<Omit<ShardOptions, 'onShard' | 'onDrop' | 'preloaded' | 'onScored'>> &
    Pick<ShardOptions, 'onShard' | 'onDrop' | 'onScored'>;

  constructor(
    endpoints: RemoteLanguageModel[],
    private readonly windows: readonly EvalWindow[],
    private readonly windowTokens: (w: number) => Int32Array,
    startWindow: number,
    opts: ShardOptions = {},
  ) {
    const concurrency = opts.concurrency ?? 2;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new XentError(
        'invalid_argument',
        OP,
        `--server-concurrency must be a positive integer, got ${concurrency}`,
        { arg: '--server-concurrency', value: concurrency },
      );
    this.o = {
      concurrency,
      maxAttempts: opts.maxAttempts ?? 6,
      dropAfter: opts.dropAfter ?? 3,
      baseDelayMs: opts.baseDelayMs ?? 250,
      maxDelayMs: opts.maxDelayMs ?? 8000,
      timeoutMs: opts.timeoutMs ?? 120_000,
      lookahead: opts.lookahead ?? 4 * concurrency * endpoints.length,
      random: opts.random ?? Math.random,
      onShard: opts.onShard,
      onDrop: opts.onDrop,
      onScored: opts.onScored,
    };
    this.slots = endpoints.map((model) => ({
      model,
      active: 0,
      consecutive: 0,
      stats: { endpoint: model.endpoint, shards: 0, requests: 0, failures: 0, dropped: false, drop_reason: null },
    }));
    this.floor = startWindow;
    this.nextAsk = startWindow;
    for (const [w, scores] of opts.preloaded ?? []) {
      const win = windows[w];
      if (w < startWindow || !win || scores.nats.length !== win.length - 1 - win.from) continue;
      const s = this.shard(w);
      s.state = 'done';
      s.resolve(scores);
      this.done.add(w);
    }
    while (this.done.delete(this.floor)) this.floor++;
  }

  stats(): EndpointStats[] {
    return this.slots.map((s) => ({ ...s.stats }));
  }

  private shard(w: number): Shard {
    let s = this.shards.get(w);
    if (!s) {
      let resolve!: (x: PositionScores) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<PositionScores>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined); // delivered through get(); never an unhandled rejection
      s = { state: 'pending', attempts: 0, notBefore: 0, avoid: undefined, promise, resolve, reject };
      this.shards.set(w, s);
    }
    return s;
  }

  /** The scores of window `w` (each window is asked for once, in order). */
  get(w: number): Promise<PositionScores> {
    if (this.failure) return Promise.reject(this.failure);
    const s = this.shard(w);
    this.nextAsk = Math.max(this.nextAsk, w + 1);
    this.pump();
    // Delivered: forget it (done shards are remembered in `done`), so that memory holds
    // only the look-ahead.
    return s.promise.finally(() => this.shards.delete(w));
  }

  private describe(w: number): string {
    const win = this.windows[w]!;
    return `shard ${w + 1} of ${this.windows.length} (tokens ${win.start}…${win.start + win.length - 1})`;
  }

  private pump(): void {
    if (this.failure || this.closed) return;
    const now = Date.now();
    // Dispatch ahead of both the scoring and the consumer, by at most `lookahead`.
    const end = Math.min(this.windows.length, Math.min(this.floor, this.nextAsk) + this.o.lookahead);
    const alive = this.slots.filter((s) => !s.stats.dropped);
    let wake = Infinity;
    for (const slot of alive) {
      for (let w = this.floor; w < end && slot.active < this.o.concurrency; w++) {
        if (this.done.has(w)) continue;
        const s = this.shard(w);
        if (s.state !== 'pending') continue;
        // After a failure, leave the shard to another endpoint when one is alive.
        if (s.avoid === slot && alive.length > 1) continue;
        if (s.notBefore > now) {
          wake = Math.min(wake, s.notBefore);
          continue;
        }
        this.run(slot, w, s);
      }
    }
    if (wake < Infinity && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wake - now);
    }
  }

  private run(slot: Slot, w: number, s: Shard): void {
    s.state = 'running';
    s.attempts++;
    slot.active++;
    slot.stats.requests++;
    const win = this.windows[w]!;
    slot.model
      .scoreRequest(this.windowTokens(w), win.from, { signal: this.ac.signal, timeoutMs: this.o.timeoutMs })
      .then(
        async (scores) => {
          s.state = 'done';
          slot.consecutive = 0;
          slot.stats.shards++;
          this.done.add(w);
          while (this.done.delete(this.floor)) this.floor++;
          this.o.onScored?.(w, scores);
          s.resolve(scores);
          await this.o.onShard?.({ shard: w, endpoint: slot.stats.endpoint, ok: true });
        },
        async (e: unknown) => {
          this.onFailure(slot, w, s, e);
          await this.o.onShard?.({ shard: w, endpoint: slot.stats.endpoint, ok: false, error: (e as Error).message });
        },
      )
      .catch((e: unknown) => this.fail(e))
      .finally(() => {
        slot.active--;
        this.pump();
      });
  }

  private onFailure(slot: Slot, w: number, s: Shard, e: unknown): void {
    if (this.closed || this.failure) return;
    const f = (e instanceof XentError ? e.fields : {}) as {
      retryable?: boolean;
      detail?: string;
      retryAfterSeconds?: number;
    };
    const detail = f.detail ?? (e as Error).message;
    if (!(e instanceof XentError && e.code === 'remote_error' && f.retryable === true)) {
      const code = e instanceof XentError ? e.code : 'remote_error';
      this.fail(
        new XentError(
          code,
          OP,
          `endpoint ${slot.stats.endpoint}, ${this.describe(w)}: ${detail}`,
          { endpoint: slot.stats.endpoint, shard: w + 1, row: w },
          { cause: e },
        ),
      );
      return;
    }
    slot.stats.failures++;
    slot.consecutive++;
    if (slot.consecutive >= this.o.dropAfter && !slot.stats.dropped) {
      slot.stats.dropped = true;
      slot.stats.drop_reason = detail;
      this.o.onDrop?.(slot.stats.endpoint, detail);
    }
    const alive = this.slots.filter((x) => !x.stats.dropped);
    if (alive.length === 0) {
      const why = this.slots.map((x) => `${x.stats.endpoint} (${x.stats.drop_reason ?? 'dropped'})`).join('; ');
      this.fail(
        new XentError(
          'remote_error',
          OP,
          `every endpoint failed ${this.o.dropAfter} times in a row, ${this.describe(w)} unscored: ${why}`,
          { shard: w + 1, row: w },
          { cause: e },
        ),
      );
      return;
    }
    if (s.attempts >= this.o.maxAttempts) {
      this.fail(
        new XentError(
          'remote_error',
          OP,
          `${this.describe(w)} failed ${s.attempts} times; last: endpoint ${slot.stats.endpoint}: ${detail}`,
          { endpoint: slot.stats.endpoint, shard: w + 1, row: w },
          { cause: e },
        ),
      );
      return;
    }
    const backoff =
      Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (s.attempts - 1)) * (0.5 + 0.5 * this.o.random());
    const asked = f.retryAfterSeconds !== undefined ? Math.min(this.o.maxDelayMs, f.retryAfterSeconds * 1000) : 0;
    s.state = 'pending';
    s.avoid = slot;
    s.notBefore = Date.now() + Math.max(backoff, asked);
  }

  private fail(e: unknown): void {
    if (this.failure) return;
    this.failure = e;
    for (const s of this.shards.values()) if (s.state !== 'done') s.reject(e);
    this.ac.abort();
    if (this.timer) clearTimeout(this.timer);
  }

  /** Cancels requests in flight. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.ac.abort();
    for (const s of this.shards.values())
      if (s.state !== 'done') s.reject(new XentError('interrupted', OP, 'evaluation closed'));
  }
}

/**
 * The LanguageModel evaluatePerplexity sees: the first endpoint's tokenizer and texts,
 * and scores from the scheduler. It checks that each window asked for is the one
 * planned, so a change in evaluation order can never pair scores with the wrong window.
 */
class ShardedModel implements LanguageModel {
  readonly kind = 'server' as const;
  readonly engine = 'remote' as const;
  readonly pipelined = true;
  readonly fullDistributions = false;
  readonly byteExact = true;
  readonly threads = undefined;
  private next: number;
  constructor(
    private readonly primary: RemoteLanguageModel,
    private readonly all: readonly RemoteLanguageModel[],
    private readonly scheduler: ShardScheduler,
    private readonly windowTokens: (w: number) => Int32Array,
    private readonly windows: readonly EvalWindow[],
    start: number,
  ) {
    this.next = start;
  }
  get id(): string {
    return this.primary.id;
  }
  get name(): string {
    return this.primary.name;
  }
  get vocabSize(): number {
    return this.primary.vocabSize;
  }
  get trainContextLength(): number {
    return this.primary.trainContextLength;
  }
  get addsBos(): boolean {
    return this.primary.addsBos;
  }
  get bosToken(): number | undefined {
    return this.primary.bosToken;
  }
  tokenize(text: string): Promise<Int32Array> {
    return this.primary.tokenize(text);
  }
  tokenizeBytes(bytes: Uint8Array): Promise<Int32Array> {
    return this.primary.tokenizeBytes(bytes);
  }
  tokenText(t: number): string {
    // A top-1 token's text arrives with the response of whichever endpoint scored it.
    for (const m of this.all) {
      const s = m.knownText(t);
      if (s !== undefined) return s;
    }
    return this.primary.tokenText(t);
  }
  tokenBytes(): Int32Array {
    return this.primary.tokenBytes();
  }
  tokenPieces(tokens: ArrayLike<number>): Promise<Uint8Array[]> {
    return this.primary.tokenPieces(tokens);
  }
  async score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    const w = this.next++;
    const planned = this.windowTokens(w);
    const win = this.windows[w];
    if (!win || opts.from !== win.from || tokens.length !== planned.length || tokens.some((t, i) => t !== planned[i])) {
      throw new XentError('incompatible', OP, `internal: window ${w + 1} asked for is not the planned one`);
    }
    if (opts.full)
      throw new XentError(
        'invalid_argument',
        OP,
        'full log-probability rows (KL divergence) are not available from servers',
      );
    return this.scheduler.get(w);
  }
  async close(): Promise<void> {
    this.scheduler.close();
  }
}

export interface ShardedResult {
  result: EvaluateResult;
  endpoints: EndpointStats[];
}

/**
 * Scores `textTokens` (from endpoints[0].tokenize, without BOS: its pieces give exact byte
 * lengths; tokens it has not seen are looked up with /detokenize) across `endpoints`.
 * Same options and result as evaluatePerplexity (resume, onWindow checkpoints, onTokens).
 */
export async function evaluateSharded(
  endpoints: RemoteLanguageModel[],
  textTokens: Int32Array,
  opts: EvaluateOptions & ShardOptions,
): Promise<ShardedResult> {
  if (endpoints.length === 0)
    throw new XentError('invalid_argument', OP, 'no endpoint to evaluate with', { arg: '--server' });
  const primary = endpoints[0]!;
  // Texts and byte lengths of the scored tokens (known already when endpoints[0] tokenised them).
  await primary.learnTexts(textTokens);
  const stream = tokenStream(primary, textTokens);
  const plan = planWindows(OP, stream.length, opts.ctx, {
    addsBos: primary.addsBos && primary.bosToken !== undefined,
    ...(opts.stride !== undefined ? { stride: opts.stride } : {}),
    ...(opts.chunks !== undefined ? { chunks: opts.chunks } : {}),
  });
  // The tokens of window w exactly as evaluatePerplexity builds them.
  const windowTokens = (w: number): Int32Array => {
    const win = plan.windows[w]!;
    const t = stream.slice(win.start, win.start + win.length);
    if (win.bosFirst) t[0] = primary.bosToken!;
    return t;
  };
  const start = opts.resume?.windowsDone ?? 0;
  const scheduler = new ShardScheduler(endpoints, plan.windows, windowTokens, start, opts);
  const model = new ShardedModel(primary, endpoints, scheduler, windowTokens, plan.windows, start);
  try {
    const result = await evaluatePerplexity(model, textTokens, opts);
    return { result, endpoints: scheduler.stats() };
  } finally {
    scheduler.close();
  }
}
