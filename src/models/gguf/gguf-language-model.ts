/**
 * GGUF language models (llama.cpp's format) behind the LanguageModel interface.
 *
 * Two engines, the same figures:
 *  - 'native': build/native/xent-llama.node reads llama.cpp's raw float32 logits for
 *    every scored position of a chunk in one call; xent computes the log-softmax
 *    (src/models/gguf/logit-scores.ts). As fast as llama-perplexity at any vocabulary size.
 *  - 'map': node-llama-cpp's public API (controlledEvaluate with probabilities), which
 *    returns a sorted Map<token, probability> per position: ~17 ms per position at
 *    V = 32000 (gguf-map-model.ts). Used when the binding was not built.
 * Both run llama.cpp with the context parameters llama-perplexity uses (one sequence,
 * the chunk in one batch, flash attention off unless asked), so the logits agree with
 * the reference figures to every printed decimal.
 *
 * The file's header and tensor table are validated in TypeScript first
 * (gguf-header.ts), so a truncated or foreign file never reaches native code.
 */
import { cpus } from 'node:os';
import { basename } from 'node:path';
import { XentError } from '../../core/errors.js';
import { checkScoreInput, type LanguageModel, type PositionScores, type ScoreOptions } from '../language-model.js';
import { type GgufHeader, readGgufHeader } from './gguf-header.js';
import { GGUF_INSTALL_HINT, MapGgufLanguageModel } from './gguf-map-model.js';
import {
  loadNativeBinding,
  type NativeContextHandle,
  type NativeModelHandle,
  nativeUnavailableFix,
  nativeUnavailableReason,
  refuseMapFallbackIfRequired,
  warnMapFallback,
  type XentLlamaBinding,
} from './gguf-native.js';
import { pieceOf, pieceText } from './gguf-pieces.js';

export { GGUF_INSTALL_HINT };

export type GgufEngine = 'auto' | 'native' | 'map';

export interface GgufLoadOptions {
  /** Context size to prepare for (tokens per evaluated sequence); grown on demand. Default 512. */
  ctx?: number;
  /** CPU threads for llama.cpp. Default: min(4, cores). */
  threads?: number;
  /** 'auto' (default): native when built, else map. */
  engine?: GgufEngine;
  /** llama.cpp flash attention (default false: llama-perplexity's reference figures were made without it). */
  flashAttention?: boolean;
}

const OP = 'loadGgufModel';

/** A loaded GGUF model: a LanguageModel with its file's header and llama.cpp's settings. */
export interface GgufLanguageModel extends LanguageModel {
  readonly kind: 'gguf';
  readonly engine: 'native' | 'map';
  readonly header: GgufHeader;
  readonly threads: number;
  readonly flashAttention: boolean;
}

/** Loads a .gguf file. Throws XentError for a missing/corrupt file or missing engine. */
export async function loadGgufModel(path: string, opts: GgufLoadOptions = {}): Promise<GgufLanguageModel> {
  const header = readGgufHeader(path);
  const threads = opts.threads ?? Math.max(1, Math.min(4, cpus().length));
  if (!Number.isInteger(threads) || threads < 1)
    throw new XentError('invalid_argument', OP, `threads must be a positive integer, got ${opts.threads}`, {
      arg: 'threads',
      value: opts.threads,
    });
  const ctx = opts.ctx ?? 512;
  if (!Number.isInteger(ctx) || ctx < 2)
    throw new XentError('invalid_argument', OP, `ctx must be an integer ≥ 2, got ${opts.ctx}`, {
      arg: 'ctx',
      value: opts.ctx,
    });
  const engine = opts.engine ?? 'auto';
  const flash = opts.flashAttention ?? false;
  if (engine !== 'map') {
    const binding = loadNativeBinding();
    if (binding) return NativeGgufLanguageModel.open(binding, header, ctx, threads, flash);
    if (engine === 'native') {
      throw new XentError(
        'missing_dependency',
        OP,
        `the native engine is unavailable: ${nativeUnavailableReason()}. Fix: ${nativeUnavailableFix()}`,
      );
    }
    refuseMapFallbackIfRequired(OP);
  }
  const model = await MapGgufLanguageModel.open(header, ctx, threads, flash);
  if (engine === 'auto') warnMapFallback(model.vocabSize);
  return model;
}

class NativeGgufLanguageModel implements GgufLanguageModel {
  readonly kind = 'gguf' as const;
  readonly engine = 'native' as const;
  readonly byteExact = true;
  readonly fullDistributions = true;
  readonly vocabSize: number;
  readonly trainContextLength: number;
  readonly addsBos: boolean;
  readonly bosToken: number | undefined;
  private ctxHandle: NativeContextHandle | undefined;
  private ctxSize = 0;
  private pieces: Uint8Array[] | undefined;
  private texts: string[] | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly b: XentLlamaBinding,
    private readonly m: NativeModelHandle,
    readonly header: GgufHeader,
    readonly threads: number,
    readonly flashAttention: boolean,
  ) {
    const info = b.modelInfo(m);
    this.vocabSize = info.vocabSize;
    this.trainContextLength = info.nCtxTrain > 0 ? info.nCtxTrain : Infinity;
    this.addsBos = info.addBos;
    this.bosToken = info.bos >= 0 ? info.bos : undefined;
  }

  static open(
    b: XentLlamaBinding,
    header: GgufHeader,
    ctx: number,
    threads: number,
    flash: boolean,
  ): NativeGgufLanguageModel {
    let m: NativeModelHandle;
    try {
      m = b.loadModel(header.path);
    } catch (e) {
      throw new XentError(
        'invalid_file',
        OP,
        `llama.cpp could not load ${header.path} (architecture ${header.architecture ?? 'unknown'}); run with XENT_LLAMA_LOG=1 for llama.cpp's log`,
        { file: header.path },
        { cause: e },
      );
    }
    const model = new NativeGgufLanguageModel(b, m, header, threads, flash);
    model.ensureContext(ctx);
    return model;
  }

  get id(): string {
    return this.header.path;
  }

  get name(): string {
    return basename(this.header.path);
  }

  private ensureContext(n: number): void {
    if (this.ctxHandle && this.ctxSize >= n) return;
    if (this.ctxHandle) this.b.freeContext(this.ctxHandle);
    this.ctxHandle = undefined;
    try {
      this.ctxHandle = this.b.createContext(this.m, n, n, this.threads, this.flashAttention);
    } catch (e) {
      throw new XentError(
        'invalid_argument',
        'GgufLanguageModel.score',
        `llama.cpp could not create a context of ${n} tokens for ${this.id}`,
        { arg: 'ctx', value: n },
        { cause: e },
      );
    }
    this.ctxSize = n;
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

  /**
   * Pipelined: calls may overlap. Each goes straight to the binding, which queues the
   * chunks and decodes them one after another on its worker threads, so the next chunk
   * starts as soon as the previous one ends, while JavaScript is still busy with the
   * previous result (evaluatePerplexity keeps two calls in flight). Each call in flight
   * holds [T−1−from, 5] float64 statistics, plus one [T−1−from, V] float32 logits buffer
   * with `full`.
   */
  readonly pipelined = true;

  score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    // A longer chunk than the context holds needs a new context: only once the calls in
    // flight on the old one have finished.
    const grow = this.ctxHandle === undefined || this.ctxSize < tokens.length;
    const run =
      grow && this.inflight.size > 0
        ? Promise.allSettled([...this.inflight]).then(() => this.decode(tokens, opts))
        : this.decode(tokens, opts);
    this.inflight.add(run);
    const done = (): void => void this.inflight.delete(run);
    run.then(done, done);
    return run;
  }

  private async decode(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    const op = 'GgufLanguageModel.score';
    this.assertOpen(op);
    const V = this.vocabSize;
    checkScoreInput(op, tokens, opts.from, V, 1);
    const T = tokens.length;
    this.ensureContext(T);
    const count = T - 1 - opts.from;
    const stats = new Float64Array(count * 5);
    const logits = opts.full ? new Float32Array(count * V) : null;
    // The binding keeps a reference to these arrays while its worker thread uses them.
    const toks = Int32Array.from(tokens);
    try {
      await this.b.evalChunk(this.ctxHandle!, toks, opts.from, logits, stats);
    } catch (e) {
      throw new XentError(
        'numerical_error',
        op,
        `llama.cpp failed to evaluate ${T} tokens (${(e as Error).message})`,
        {},
        { cause: e },
      );
    }
    const nats = new Float64Array(count);
    const rank = new Int32Array(count);
    const top1 = new Int32Array(count);
    const top1Prob = new Float64Array(count);
    for (let r = 0; r < count; r++) {
      const s = r * 5;
      const nll = stats[s]!;
      if (!Number.isFinite(nll)) {
        const bad = stats[s + 3]!;
        throw new XentError(
          'numerical_error',
          op,
          `non-finite logit${bad >= 0 ? ` for token ${bad}` : ''} at scored row ${r}`,
          { row: r, column: bad },
        );
      }
      nats[r] = nll;
      top1[r] = stats[s + 3]!;
      rank[r] = stats[s + 4]!;
      top1Prob[r] = Math.exp(stats[s + 2]! - stats[s + 1]!);
    }
    if (!logits) return { nats, rank, top1, top1Prob };
    if (opts.rawLogits) return { nats, rank, top1, top1Prob, logits };
    // Full distribution: log p = l − lse, in place (float32).
    for (let r = 0; r < count; r++) {
      const lse = stats[r * 5 + 1]!;
      const o = r * V;
      for (let v = 0; v < V; v++) logits[o + v] = logits[o + v]! - lse;
    }
    return { nats, rank, top1, top1Prob, logProbs: logits };
  }

  private assertOpen(op: string): void {
    if (this.closed) throw new XentError('invalid_argument', op, `model ${this.id} is closed`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
    if (this.ctxHandle) this.b.freeContext(this.ctxHandle);
    this.ctxHandle = undefined;
    this.b.freeModel(this.m);
  }
}
