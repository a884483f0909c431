/**
 * GGUF language models (llama.cpp's format) behind the LanguageModel interface.
 *
 * Two engines, the same figures:
 *  - 'native': build/native/xent-llama.node reads llama.cpp's raw float32 logits for
 *    every scored position of a chunk in one call; xent computes the log-softmax
 *    (src/models/gguf/logit-scores.ts). As fast as llama-perplexity at any vocabulary size.
 *  - 'map': node-llama-cpp's public API (controlledEvaluate with probabilities), which
 *    returns a sorted Map<token, probability> per position: ~17 ms per position at
 *    V = 32000. Used when the binding was not built.
 * Both run llama.cpp with the context parameters llama-perplexity uses (one sequence,
 * the chunk in one batch, flash attention off unless asked), so the logits agree with
 * the reference figures to every printed decimal.
 *
 * The file's header and tensor table are validated in TypeScript first
 * (gguf-header.ts), so a truncated or foreign file never reaches native code.
 */
import { cpus } from 'node:os';
import { XentError } from '../../core/errors.js';
import { checkScoreInput, type LanguageModel, type PositionScores, type ScoreOptions } from '../language-model.js';
import { type GgufHeader, readGgufHeader } from './gguf-header.js';
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

/** How to get GGUF support when node-llama-cpp is missing. */
export const GGUF_INSTALL_HINT =
  'GGUF support needs the optional dependency node-llama-cpp: install it with `npm install -E node-llama-cpp@3.21.1` ' +
  '(or reinstall xent without --omit=optional)';

/** A loaded GGUF model. Extra members beyond LanguageModel: `engine`, `header`, `tokenizeBytes`, `tokenBytes`. */
export interface GgufModel extends LanguageModel {
  readonly kind: 'gguf';
  readonly engine: 'native' | 'map';
  readonly header: GgufHeader;
  readonly threads: number;
  readonly flashAttention: boolean;
  /** Tokenises UTF-8 bytes (no BOS), avoiding a string round trip for large files. */
  tokenizeBytes(bytes: Uint8Array): Promise<Int32Array>;
  /** UTF-8 byte length of each token's text, for bits per byte. Length V. */
  tokenBytes(): Int32Array;
}

/** Loads a .gguf file. Throws XentError for a missing/corrupt file or missing engine. */
export async function loadGgufModel(path: string, opts: GgufLoadOptions = {}): Promise<GgufModel> {
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
    if (binding) return NativeGgufModel.open(binding, header, ctx, threads, flash);
    if (engine === 'native') {
      throw new XentError(
        'missing_dependency',
        OP,
        `the native engine is unavailable: ${nativeUnavailableReason()}. Fix: ${nativeUnavailableFix()}`,
      );
    }
    refuseMapFallbackIfRequired(OP);
  }
  const model = await MapGgufModel.open(header, ctx, threads, flash);
  if (engine === 'auto') warnMapFallback(model.vocabSize);
  return model;
}

function pieceText(bytes: Uint8Array): string {
  // Byte-fallback tokens (a lone byte of a multi-byte character) are shown as <0xNN>.
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Array.from(bytes, (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
  }
}

class NativeGgufModel implements GgufModel {
  readonly kind = 'gguf' as const;
  readonly engine = 'native' as const;
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

  static open(b: XentLlamaBinding, header: GgufHeader, ctx: number, threads: number, flash: boolean): NativeGgufModel {
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
    const model = new NativeGgufModel(b, m, header, threads, flash);
    model.ensureContext(ctx);
    return model;
  }

  get id(): string {
    return this.header.path;
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
        'GgufModel.score',
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
        'GgufModel.tokenize',
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
    const op = 'GgufModel.score';
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

/* ------------------------------------------------------------------------------------ */
/* node-llama-cpp's public API: probabilities as a sorted Map per position.             */

type NlcModule = typeof import('node-llama-cpp');
type NlcLlama = Awaited<ReturnType<NlcModule['getLlama']>>;
type NlcModel = Awaited<ReturnType<NlcLlama['loadModel']>>;
type NlcContext = Awaited<ReturnType<NlcModel['createContext']>>;
type NlcSequence = ReturnType<NlcContext['getSequence']>;

async function importNodeLlamaCpp(): Promise<NlcModule> {
  try {
    return await import('node-llama-cpp');
  } catch (e) {
    throw new XentError(
      'missing_dependency',
      OP,
      `${GGUF_INSTALL_HINT} (import failed: ${(e as Error).message.split('\n')[0]})`,
      {},
      { cause: e },
    );
  }
}

class MapGgufModel implements GgufModel {
  readonly kind = 'gguf' as const;
  readonly engine = 'map' as const;
  readonly vocabSize: number;
  readonly trainContextLength: number;
  readonly addsBos: boolean;
  readonly bosToken: number | undefined;
  private context: NlcContext | undefined;
  private sequence: NlcSequence | undefined;
  private ctxSize = 0;
  private texts: string[] | undefined;
  private bytes: Int32Array | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly model: NlcModel,
    readonly header: GgufHeader,
    readonly threads: number,
    readonly flashAttention: boolean,
  ) {
    this.vocabSize = header.vocabSize ?? 0;
    this.trainContextLength = model.trainContextSize > 0 ? model.trainContextSize : Infinity;
    const bos = model.tokens.bos;
    this.bosToken = bos ?? undefined;
    // Same rule as llama.cpp's llama_vocab_get_add_bos (tokenizer.ggml.add_bos_token, default by tokenizer type).
    const flag = header.metadata.get('tokenizer.ggml.add_bos_token');
    this.addsBos =
      typeof flag === 'boolean' ? flag : header.metadata.get('tokenizer.ggml.model') === 'llama' && bos != null;
  }

  static async open(header: GgufHeader, ctx: number, threads: number, flash: boolean): Promise<MapGgufModel> {
    const nlc = await importNodeLlamaCpp();
    const llama = await nlc.getLlama({
      gpu: false,
      build: 'never',
      logLevel: nlc.LlamaLogLevel.error,
      progressLogs: false,
    });
    let model: NlcModel;
    try {
      model = await llama.loadModel({ modelPath: header.path, gpuLayers: 0 });
    } catch (e) {
      throw new XentError(
        'invalid_file',
        OP,
        `llama.cpp could not load ${header.path}: ${(e as Error).message}`,
        { file: header.path },
        { cause: e },
      );
    }
    if (!header.vocabSize)
      throw new XentError('invalid_file', OP, `${header.path} has no tokenizer.ggml.tokens vocabulary`, {
        file: header.path,
      });
    const m = new MapGgufModel(model, header, threads, flash);
    await m.ensureContext(ctx);
    return m;
  }

  get id(): string {
    return this.header.path;
  }

  private async ensureContext(n: number): Promise<void> {
    if (this.context && this.ctxSize >= n) return;
    if (this.context) await this.context.dispose();
    this.context = await this.model.createContext({
      contextSize: n,
      batchSize: n,
      threads: this.threads,
      sequences: 1,
      flashAttention: this.flashAttention,
    });
    this.sequence = this.context.getSequence();
    this.ctxSize = n;
  }

  async tokenize(text: string): Promise<Int32Array> {
    try {
      return Int32Array.from(this.model.tokenize(text, false));
    } catch (e) {
      throw new XentError(
        'invalid_text',
        'GgufModel.tokenize',
        `the model's tokenizer could not encode the text (${(e as Error).message})`,
        {},
        { cause: e },
      );
    }
  }

  async tokenizeBytes(bytes: Uint8Array): Promise<Int32Array> {
    return this.tokenize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  }

  private loadTexts(): void {
    if (this.texts) return;
    const V = this.vocabSize;
    const texts: string[] = new Array(V);
    const bytes = new Int32Array(V);
    const raw = (this.model as unknown as { _model: { getTokenString(t: number): string } })._model;
    const anchor = this.bosToken !== undefined ? [this.bosToken] : [];
    for (let t = 0; t < V; t++) {
      const vocabText = raw.getTokenString(t);
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(vocabText);
      if (m) {
        // A byte-fallback token is one byte: shown as itself when it is ASCII (as the native engine does).
        const b = parseInt(m[1]!, 16);
        texts[t] = b < 0x80 ? String.fromCharCode(b) : `<0x${m[1]!.toUpperCase()}>`;
        bytes[t] = 1;
      } else {
        const s = this.model.detokenize([t as never], true, anchor as never[]);
        texts[t] = s;
        bytes[t] = Buffer.byteLength(s, 'utf8');
      }
    }
    this.texts = texts;
    this.bytes = bytes;
  }

  tokenText(token: number): string {
    this.loadTexts();
    return this.texts![token] ?? `<unk ${token}>`;
  }

  tokenBytes(): Int32Array {
    this.loadTexts();
    return Int32Array.from(this.bytes!);
  }

  score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    const run = this.busy.then(() => this.scoreNow(tokens, opts));
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async scoreNow(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    const op = 'GgufModel.score';
    if (this.closed) throw new XentError('invalid_argument', op, `model ${this.id} is closed`);
    const V = this.vocabSize;
    checkScoreInput(op, tokens, opts.from, V, 1);
    const T = tokens.length;
    await this.ensureContext(T);
    const seq = this.sequence!;
    await seq.clearHistory();
    const items = Array.from(tokens, (t, k) =>
      k >= opts.from && k <= T - 2 ? ([t, { generateNext: { probabilities: true } }] as const) : t,
    );
    const res = await seq.controlledEvaluate(items as Parameters<NlcSequence['controlledEvaluate']>[0]);
    const count = T - 1 - opts.from;
    const nats = new Float64Array(count);
    const rank = new Int32Array(count);
    const top1 = new Int32Array(count);
    const top1Prob = new Float64Array(count);
    const logProbs = opts.full ? new Float32Array(count * V).fill(-Infinity) : undefined;
    for (let r = 0; r < count; r++) {
      const k = opts.from + r;
      const probs = res[k]?.next?.probabilities;
      if (!probs)
        throw new XentError('numerical_error', op, `node-llama-cpp returned no probabilities at position ${k}`, {
          row: r,
        });
      const target = tokens[k + 1]!;
      let i = 0;
      let p = 0;
      let found = -1;
      for (const [tok, prob] of probs) {
        if (!Number.isFinite(prob))
          throw new XentError(
            'numerical_error',
            op,
            `non-finite probability ${prob} for token ${tok} at scored row ${r}`,
            { row: r, column: tok },
          );
        if (i === 0) {
          top1[r] = tok;
          top1Prob[r] = prob;
        }
        if (tok === target) {
          p = prob;
          found = i;
        }
        if (logProbs) logProbs[r * V + tok] = Math.log(prob);
        i++;
      }
      // The Map is sorted by probability: the index of the true token is its rank.
      nats[r] = -Math.log(p);
      rank[r] = found;
    }
    return logProbs ? { nats, rank, top1, top1Prob, logProbs } : { nats, rank, top1, top1Prob };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.busy;
    this.closed = true;
    await this.context?.dispose();
    await this.model.dispose();
  }
}
