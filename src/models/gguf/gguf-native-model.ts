/**
 * The native GGUF engine: llama.cpp driven through build/native/xent-llama.node
 * (native/xent-llama.c). Every call is a list of decode steps planned in gguf-batches.ts
 * and run in order on one llama_context (one lane, gguf-lane.ts: a model has one, or with
 * `contexts` several that take scoreBatch calls side by side); the binding reads each scored
 * logit row right after its decode (row statistics with llama-perplexity's arithmetic, and
 * the raw row where the caller wants the full distribution).
 *
 * Memory: llama.cpp's output buffer and the rows copied out hold one step's rows (one
 * ubatch of one sequence, or the chunks llama-perplexity packs into one decode); only
 * `full` results that the caller keeps whole grow with the context.
 */
import { basename } from 'node:path';
import { XentError } from '../../core/errors.js';
import {
  type BatchOptions,
  type BatchRequest,
  type BatchScorer,
  type ChunkScorer,
  type ChunkSlice,
  checkBatchRequests,
} from '../batch.js';
import { checkScoreInput, type PositionScores, type ScoreOptions } from '../language-model.js';
import { Arena, arenaResults, consecutiveRows } from './gguf-arena.js';
import {
  type ContextLayout,
  type DecodeStep,
  groupRequests,
  perplexityLayout,
  planChunks,
  planRequests,
  planSequence,
  requestsLayout,
  sequenceLayout,
} from './gguf-batches.js';
import type { GgufHeader } from './gguf-header.js';
import { ContextLane, laneThreads } from './gguf-lane.js';
import type { FlashAttention, GgufLanguageModel } from './gguf-language-model.js';
import type { NativeContextHandle, NativeModelHandle, XentLlamaBinding } from './gguf-native.js';
import { pieceOf, pieceText } from './gguf-pieces.js';

const OP_LOAD = 'loadGgufModel';

export interface NativeEngineOptions {
  ctx: number;
  threads: number;
  flashAttention: FlashAttention;
  batch: number;
  ubatch: number;
  sequences: number;
  /** KV cells of the packed-requests context (default sequences × ctx). */
  kvCells?: number;
  /** The context made at load: for llama-perplexity's chunks (default) or for packed requests (scoreBatch). */
  layout?: 'chunks' | 'requests';
  /**
   * With layout 'requests': llama.cpp contexts that decode scoreBatch calls side by side,
   * the threads shared among them (gguf-lane.ts). Default 1.
   */
  contexts?: number;
}

export class NativeGgufLanguageModel implements GgufLanguageModel, BatchScorer, ChunkScorer {
  readonly kind = 'gguf' as const;
  readonly engine = 'native' as const;
  readonly byteExact = true;
  readonly fullDistributions = true;
  readonly vocabSize: number;
  readonly trainContextLength: number;
  readonly addsBos: boolean;
  readonly bosToken: number | undefined;
  readonly threads: number;
  readonly flashAttention: FlashAttention;
  readonly batch: number;
  readonly ubatch: number;
  readonly sequences: number;
  private readonly kvCells: number | undefined;
  /** Lane 0 serves every kind of call; the others only scoreBatch calls their context serves. */
  private readonly lanes: ContextLane[];
  /** The context layout made at load (`layout`), for every lane. */
  private readonly loadLayout: ContextLayout;
  /** Tokens per sequence the caller prepared for (grows with longer calls). */
  private ctxHint: number;
  private pieces: Uint8Array[] | undefined;
  private texts: string[] | undefined;
  private closed = false;

  private constructor(
    private readonly b: XentLlamaBinding,
    private readonly m: NativeModelHandle,
    readonly header: GgufHeader,
    o: NativeEngineOptions,
  ) {
    const info = b.modelInfo(m);
    this.vocabSize = info.vocabSize;
    this.trainContextLength = info.nCtxTrain > 0 ? info.nCtxTrain : Infinity;
    this.addsBos = info.addBos;
    this.bosToken = info.bos >= 0 ? info.bos : undefined;
    this.threads = o.threads;
    this.flashAttention = o.flashAttention;
    this.batch = o.batch;
    this.ubatch = o.ubatch;
    this.sequences = o.sequences;
    this.kvCells = o.kvCells;
    this.ctxHint = o.ctx;
    this.loadLayout =
      o.layout === 'requests'
        ? requestsLayout(o.ctx, o.batch, o.ubatch, o.sequences, 0, o.kvCells)
        : perplexityLayout(o.ctx, o.batch, o.ubatch);
    const shares = laneThreads(o.threads, o.layout === 'requests' ? (o.contexts ?? 1) : 1);
    this.lanes = shares.map((t) => new ContextLane(b, m, t, o.flashAttention, header.path));
  }

  /** llama.cpp contexts that decode scoreBatch calls at the same time (NativeEngineOptions.contexts). */
  get concurrency(): number {
    return this.lanes.length;
  }

  static open(b: XentLlamaBinding, header: GgufHeader, o: NativeEngineOptions): NativeGgufLanguageModel {
    let m: NativeModelHandle;
    try {
      m = b.loadModel(header.path);
    } catch (e) {
      throw new XentError(
        'invalid_file',
        OP_LOAD,
        `llama.cpp could not load ${header.path} (architecture ${header.architecture ?? 'unknown'}); run with XENT_LLAMA_LOG=1 for llama.cpp's log`,
        { file: header.path },
        { cause: e },
      );
    }
    const model = new NativeGgufLanguageModel(b, m, header, o);
    // The context the first calls will need, so that they do not replace it (for a large
    // model, a KV cache of gigabytes allocated and cleared for nothing). The other lanes' are
    // made when the first call keeps this one busy (laneFor), while it decodes.
    try {
      model.lanes[0]!.create(model.loadLayout);
    } catch (e) {
      b.freeModel(m);
      throw e;
    }
    return model;
  }

  get id(): string {
    return this.header.path;
  }

  get name(): string {
    return basename(this.header.path);
  }

  /** The first context's sizes and whether flash attention is on (llama.cpp's resolution of 'auto'). */
  contextInfo(): ReturnType<XentLlamaBinding['contextInfo']> | undefined {
    return this.lanes[0]!.info();
  }

  /** Runs `work` on `lane` (default the first), whose context is made to serve `layout`. */
  private run<T>(
    layout: ContextLayout,
    work: (ctx: NativeContextHandle) => Promise<T>,
    lane: ContextLane = this.lanes[0]!,
  ): Promise<T> {
    return lane.run(layout, work, () => this.assertOpen('GgufLanguageModel.score'));
  }

  /**
   * The lane for a scoreBatch call: the one with the fewest calls in flight among those whose
   * context serves `layout` (the first lane always qualifies: it replaces its context).
   */
  private laneFor(layout: ContextLayout): ContextLane {
    let best = this.lanes[0]!;
    for (const lane of this.lanes) {
      if (best.pending === 0) break;
      // A lane's context is made on its first call, with the first lane's layout at load
      // (~8 ms for stories260K, while the first lane decodes; a run of one call makes none).
      if (!lane.made) lane.create(this.loadLayout);
      if (lane.pending < best.pending && lane.serves(layout)) best = lane;
    }
    return best;
  }

  /** Issues one step; its rows land in the arena (in place when consecutive, else scattered after). */
  private issue(ctx: NativeContextHandle, step: DecodeStep, arena: Arena): Promise<void> {
    const K = step.pairIndex.length;
    const V = this.vocabSize;
    const g0 = consecutiveRows(step, arena.base);
    // Each of the arena's arrays (rows of `width` values) in place where the step's rows are
    // consecutive in it, else a scratch array copied into place afterwards.
    const rowsOf = <A extends Float32Array | Float64Array>(all: A | null, width: number): A | null =>
      !all
        ? null
        : g0 !== undefined
          ? (all.subarray(g0 * width, (g0 + K) * width) as A)
          : new (all.constructor as new (n: number) => A)(K * width);
    const stats = rowsOf(arena.stats, 5);
    const llama = rowsOf(arena.llama, 2);
    const out = rowsOf(arena.logits, V);
    const p = this.b.decode(
      ctx,
      step.clear,
      step.tokens,
      step.pos,
      step.seqStart,
      step.seqIds,
      step.outputs,
      step.pairIndex,
      step.pairTarget,
      out,
      stats,
      llama,
    );
    return p.then(
      () => {
        if (g0 !== undefined) return;
        const back = <A extends Float32Array | Float64Array>(all: A | null, part: A | null, width: number): void => {
          if (!all || !part) return;
          for (let q = 0; q < K; q++) {
            const g = arena.base[step.pairDest[q]!]! + step.pairRow[q]!;
            all.set(part.subarray(q * width, (q + 1) * width), g * width);
          }
        };
        back(arena.stats, stats, 5);
        back(arena.llama, llama, 2);
        back(arena.logits, out, V);
      },
      (e: unknown) => {
        throw new XentError(
          'numerical_error',
          'GgufLanguageModel.score',
          `llama.cpp failed to evaluate a batch of ${step.tokens.length} tokens (${(e as Error).message})`,
          {},
          { cause: e },
        );
      },
    );
  }

  /** Issues every step at once (they run back to back natively) and waits for all. */
  private async runSteps(ctx: NativeContextHandle, steps: readonly DecodeStep[], arena: Arena): Promise<void> {
    const all = steps.map((s) => this.issue(ctx, s, arena));
    const settled = await Promise.allSettled(all);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
  }

  /**
   * Pipelined: calls may overlap. Each queues its steps natively, where they run back to
   * back, so the next call's decode starts as soon as the previous one ends, while
   * JavaScript still works on the previous result (evaluation keeps two calls in flight).
   */
  readonly pipelined = true;

  score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    const op = 'GgufLanguageModel.score';
    try {
      this.assertOpen(op);
      checkScoreInput(op, tokens, opts.from, this.vocabSize, 1);
    } catch (e) {
      return Promise.reject(e);
    }
    const T = tokens.length;
    this.ctxHint = Math.max(this.ctxHint, T);
    const layout = sequenceLayout(this.ctxHint, this.batch, this.ubatch);
    const toks = Int32Array.from(tokens);
    const steps = planSequence(toks, opts.from, opts.from, T - 2, layout);
    const arena = new Arena([T - 1 - opts.from], this.vocabSize, {
      full: opts.full === true,
      llama: opts.llamaTaskLogProbs === true,
    });
    return this.run(layout, async (ctx) => {
      await this.runSteps(ctx, steps, arena);
      return arenaResults(op, arena, opts)[0]!;
    });
  }

  chunkGroupSize(T: number): number {
    return perplexityLayout(T, this.batch, this.ubatch).nSeqMax;
  }

  private checkChunks(op: string, chunks: readonly Int32Array[], from: number): number {
    const T = chunks[0]?.length ?? 0;
    if (chunks.length < 1 || chunks.some((c) => c.length !== T))
      throw new XentError('invalid_argument', op, 'chunks must be a non-empty list of equally long token arrays', {
        arg: 'chunks',
      });
    for (const c of chunks) checkScoreInput(op, c, from, this.vocabSize, 1);
    return T;
  }

  scoreChunks(
    chunks: readonly Int32Array[],
    opts: { from: number; full?: boolean; rawLogits?: boolean },
  ): Promise<PositionScores[]> {
    const op = 'GgufLanguageModel.scoreChunks';
    let T: number;
    try {
      this.assertOpen(op);
      T = this.checkChunks(op, chunks, opts.from);
    } catch (e) {
      return Promise.reject(e);
    }
    const layout = perplexityLayout(T, this.batch, this.ubatch);
    if (chunks.length > layout.nSeqMax)
      return Promise.reject(
        new XentError(
          'invalid_argument',
          op,
          `${chunks.length} chunks of ${T} tokens, but one decode holds ${layout.nSeqMax}`,
        ),
      );
    const steps = planChunks(
      chunks.map((c) => Int32Array.from(c)),
      opts.from,
      layout,
    );
    const arena = new Arena(
      chunks.map(() => T - 1 - opts.from),
      this.vocabSize,
      { full: opts.full === true },
    );
    return this.run(layout, async (ctx) => {
      await this.runSteps(ctx, steps, arena);
      return arenaResults(op, arena, opts);
    });
  }

  async *scoreChunkSlices(
    chunks: readonly Int32Array[],
    opts: { from: number; full?: boolean; rawLogits?: boolean },
  ): AsyncGenerator<ChunkSlice> {
    const op = 'GgufLanguageModel.scoreChunkSlices';
    this.assertOpen(op);
    const T = this.checkChunks(op, chunks, opts.from);
    const layout = perplexityLayout(T, this.batch, this.ubatch);
    // Every group's steps, in order, planned as the run reaches them; each step's pairs
    // become one arena whose results are the step's chunks, rows counted from each
    // chunk's first row in the step.
    type Planned = { step: DecodeStep; chunks: number[]; rows: number[]; counts: number[] };
    const g = layout.nSeqMax;
    function* planned(): Generator<Planned> {
      for (let gi = 0; gi * g < chunks.length; gi++) {
        const group = chunks.slice(gi * g, (gi + 1) * g).map((c) => Int32Array.from(c));
        for (const step of planChunks(group, opts.from, layout)) {
          const dests: number[] = [];
          const rows: number[] = [];
          const counts: number[] = [];
          step.pairDest.forEach((d, p) => {
            if (dests.at(-1) !== d) {
              dests.push(d);
              rows.push(step.pairRow[p]!);
              counts.push(0);
            }
            counts[counts.length - 1]!++;
          });
          const local: DecodeStep = {
            ...step,
            pairDest: Int32Array.from(step.pairDest, (d) => dests.indexOf(d)),
            pairRow: Int32Array.from(step.pairRow, (r, p) => r - rows[dests.indexOf(step.pairDest[p]!)]!),
          };
          yield { step: local, chunks: dests.map((d) => gi * g + d), rows, counts };
        }
      }
    }
    // The run holds the context from its first step to its last.
    const lane = this.lanes[0]!;
    const prior = lane.snapshot();
    const release = await lane.acquire();
    try {
      this.assertOpen(op);
      const ctx = await lane.contextFor(layout, prior);
      // One arena, reused: a slice is valid until the next one is asked for. The next step
      // is not decoded ahead: at long contexts the decode dwarfs the consumer's work on a
      // slice (KL divergence of 512 rows), and a second [rows, V] buffer per model is what
      // would keep memory from staying well under llama-perplexity's.
      let arena: Arena | undefined;
      for (const p of planned()) {
        arena = new Arena(p.counts, this.vocabSize, { full: opts.full === true }, arena);
        await this.issue(ctx, p.step, arena);
        const scores = arenaResults(op, arena, opts, p.rows);
        for (let k = 0; k < p.chunks.length; k++) yield { chunk: p.chunks[k]!, row: p.rows[k]!, scores: scores[k]! };
      }
    } finally {
      release();
    }
  }

  scoreBatch(requests: readonly BatchRequest[], opts: BatchOptions = {}): Promise<PositionScores[]> {
    const op = 'GgufLanguageModel.scoreBatch';
    try {
      this.assertOpen(op);
      checkBatchRequests(op, requests, this.vocabSize, 1);
    } catch (e) {
      return Promise.reject(e);
    }
    if (requests.length === 0) return Promise.resolve([]);
    const groups = groupRequests(requests, this.sequences);
    const longest = Math.max(...requests.map((q) => q.tokens.length));
    this.ctxHint = Math.max(this.ctxHint, longest);
    const biggest = Math.max(...groups.map((g) => g.cells));
    const layout = requestsLayout(this.ctxHint, this.batch, this.ubatch, this.sequences, biggest, this.kvCells);
    let decodes: DecodeStep[][];
    try {
      decodes = planRequests(op, requests, groups, layout);
    } catch (e) {
      return Promise.reject(e);
    }
    const arena = new Arena(
      requests.map((q) => q.tokens.length - 1 - q.from),
      this.vocabSize,
      { full: opts.full === true, llama: opts.llamaTaskLogProbs === true },
    );
    let lane: ContextLane;
    try {
      lane = this.laneFor(layout);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.run(
      layout,
      async (ctx) => {
        await this.runSteps(ctx, decodes.flat(), arena);
        return arenaResults(op, arena, opts);
      },
      lane,
    );
  }

  async tokenize(text: string): Promise<Int32Array> {
    return this.tokenizeBytes(Buffer.from(text, 'utf8'));
  }

  async tokenizeBytes(bytes: Uint8Array): Promise<Int32Array> {
    this.assertOpen('tokenize');
    try {
      return this.b.tokenize(this.m, bytes, false, false);
    } catch (e) {
      throw new XentError(
        'invalid_text',
        'GgufLanguageModel.tokenize',
        `the model's tokenizer could not encode the text (${(e as Error).message})`,
        {},
        { cause: e },
      );
    }
  }

  private loadPieces(): Uint8Array[] {
    this.pieces ??= this.b.tokenPieces(this.m);
    return this.pieces;
  }

  tokenText(token: number): string {
    this.texts ??= this.loadPieces().map(pieceText);
    return this.texts[token] ?? `<unk ${token}>`;
  }

  tokenBytes(): Int32Array {
    return Int32Array.from(this.loadPieces(), (p) => p.length);
  }

  async tokenPieces(tokens: ArrayLike<number>): Promise<Uint8Array[]> {
    const pieces = this.loadPieces();
    return Array.from(tokens, (t) => pieceOf(pieces, t, 'GgufLanguageModel.tokenPieces'));
  }

  private assertOpen(op: string): void {
    if (this.closed) throw new XentError('invalid_argument', op, `model ${this.id} is closed`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.close()));
    this.b.freeModel(this.m);
  }
}
