/**
 * The GGUF engine on node-llama-cpp's public API ('map'): controlledEvaluate with
 * probabilities returns a sorted Map<token, probability> per position, ~17 ms per position
 * at V = 32000. Used when xent's native binding was not built (gguf-language-model.ts). One sequence per
 * call, decoded in batches of at most n_ubatch tokens (the ubatches llama-perplexity's
 * llama_decode makes of one sequence), with the flash-attention setting asked for.
 */
import { basename } from 'node:path';
import { XentError } from '../../core/errors.js';
import { checkScoreInput, type PositionScores, type ScoreOptions } from '../language-model.js';
import type { GgufHeader } from './gguf-header.js';
import type { FlashAttention, GgufLanguageModel } from './gguf-language-model.js';
import { pieceOf } from './gguf-pieces.js';

const OP = 'loadGgufModel';

/** How to get GGUF support when node-llama-cpp is missing. */
export const GGUF_INSTALL_HINT =
  'GGUF support needs the optional dependency node-llama-cpp: install it with `npm install -E node-llama-cpp@3.21.1` ' +
  '(or reinstall xent without --omit=optional)';

export interface MapEngineOptions {
  ctx: number;
  threads: number;
  flashAttention: FlashAttention;
  batch: number;
  ubatch: number;
}

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

export class MapGgufLanguageModel implements GgufLanguageModel {
  readonly kind = 'gguf' as const;
  readonly engine = 'map' as const;
  readonly byteExact = true;
  readonly fullDistributions = true;
  /** One call at a time: node-llama-cpp's sequence evaluates one chunk after another. */
  readonly pipelined = false;
  readonly vocabSize: number;
  readonly trainContextLength: number;
  readonly addsBos: boolean;
  readonly bosToken: number | undefined;
  private context: NlcContext | undefined;
  private sequence: NlcSequence | undefined;
  private ctxSize = 0;
  private texts: string[] | undefined;
  private pieces: Uint8Array[] | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;

  readonly threads: number;
  readonly flashAttention: FlashAttention;
  readonly batch: number;
  readonly ubatch: number;

  private constructor(
    private readonly model: NlcModel,
    readonly header: GgufHeader,
    o: MapEngineOptions,
  ) {
    this.threads = o.threads;
    this.flashAttention = o.flashAttention;
    this.batch = o.batch;
    this.ubatch = o.ubatch;
    this.vocabSize = header.vocabSize ?? 0;
    this.trainContextLength = model.trainContextSize > 0 ? model.trainContextSize : Infinity;
    const bos = model.tokens.bos;
    this.bosToken = bos ?? undefined;
    // Same rule as llama.cpp's llama_vocab_get_add_bos (tokenizer.ggml.add_bos_token, default by tokenizer type).
    const flag = header.metadata.get('tokenizer.ggml.add_bos_token');
    this.addsBos =
      typeof flag === 'boolean' ? flag : header.metadata.get('tokenizer.ggml.model') === 'llama' && bos != null;
  }

  static async open(header: GgufHeader, o: MapEngineOptions): Promise<MapGgufLanguageModel> {
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
    const m = new MapGgufLanguageModel(model, header, o);
    await m.ensureContext(o.ctx);
    return m;
  }

  get name(): string {
    return basename(this.header.path);
  }

  get id(): string {
    return this.header.path;
  }

  private async ensureContext(n: number): Promise<void> {
    if (this.context && this.ctxSize >= n) return;
    if (this.context) await this.context.dispose();
    this.context = await this.model.createContext({
      contextSize: n,
      // node-llama-cpp sets n_ubatch = n_batch and feeds batches of this size: at most one
      // ubatch of llama-perplexity's (n_ubatch consecutive tokens of the sequence) each.
      batchSize: Math.min(n, this.batch, this.ubatch),
      threads: this.threads,
      sequences: 1,
      flashAttention: this.flashAttention === 'auto' ? 'auto' : this.flashAttention === 'on',
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
        'GgufLanguageModel.tokenize',
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
    const pieces: Uint8Array[] = new Array(V);
    const raw = (this.model as unknown as { _model: { getTokenString(t: number): string } })._model;
    const anchor = this.bosToken !== undefined ? [this.bosToken] : [];
    for (let t = 0; t < V; t++) {
      const vocabText = raw.getTokenString(t);
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(vocabText);
      if (m) {
        // A byte-fallback token is one byte: shown as itself when it is ASCII (as the native engine does).
        const b = parseInt(m[1]!, 16);
        texts[t] = b < 0x80 ? String.fromCharCode(b) : `<0x${m[1]!.toUpperCase()}>`;
        pieces[t] = Uint8Array.of(b);
      } else {
        const s = this.model.detokenize([t as never], true, anchor as never[]);
        texts[t] = s;
        pieces[t] = Buffer.from(s, 'utf8');
      }
    }
    this.texts = texts;
    this.pieces = pieces;
  }

  tokenText(token: number): string {
    this.loadTexts();
    return this.texts![token] ?? `<unk ${token}>`;
  }

  tokenBytes(): Int32Array {
    this.loadTexts();
    return Int32Array.from(this.pieces!, (p) => p.length);
  }

  async tokenPieces(tokens: ArrayLike<number>): Promise<Uint8Array[]> {
    this.loadTexts();
    const pieces = this.pieces!;
    return Array.from(tokens, (t) => pieceOf(pieces, t, 'GgufLanguageModel.tokenPieces'));
  }

  score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    const run = this.busy.then(() => this.scoreNow(tokens, opts));
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async scoreNow(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    const op = 'GgufLanguageModel.score';
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
