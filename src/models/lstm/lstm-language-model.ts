/**
 * An LSTM trained by xent as a `LanguageModel`: `loadLstmLanguageModel(dir)` reads the
 * model directory (lstm-model-dir.ts), so `xent eval --model dir` scores it exactly like
 * a GGUF model and bits per byte is comparable across all of them.
 *
 * Scoring: one forward pass from a zero state over tokens 0 … T−2 (B = 1) on the
 * WebAssembly kernels (lstm-engine.ts); position t's logits z_t [V] give
 * log p(· | tokens 0…t) = z_t − logsumexp(z_t), computed in float64. No BOS: the model
 * was trained on windows cut anywhere in the text. Rank = the number of tokens with a
 * strictly larger logit than the true one.
 */
import { basename } from 'node:path';
import { XentError } from '../../core/errors.js';
import { tokenizerByteLengths, tokenizerPiece } from '../../tokenizers/token-bytes.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { tokenizerFromJSON } from '../../tokenizers/tokenizer-spec.js';
import {
  checkScoreInput,
  type LanguageModel,
  type PositionScores,
  type ScoreOptions,
  utf8Text,
} from '../language-model.js';
import { TOKENIZER_FILE } from '../model-dir.js';
import type { LstmConfig } from './lstm.js';
import { LstmEngine } from './lstm-engine.js';
import { type GgufTokenizerRef, loadLstmModelDir } from './lstm-model-dir.js';

export interface LstmLoadOptions {
  /** CPU threads of the LSTM kernels (default 1, see LstmLanguageModel.engineFor). */
  threads?: number;
}

/** The text side of a model: an xent tokenizer, or a GGUF model's tokenizer for distilled students. */
interface TextSide {
  encode(text: string): Promise<Int32Array>;
  encodeBytes(bytes: Uint8Array): Promise<Int32Array>;
  tokenText(t: number): string;
  tokenBytes(): Int32Array;
  tokenPieces(tokens: ArrayLike<number>): Promise<Uint8Array[]>;
  vocabSize: number;
  byteExact: boolean;
  close(): Promise<void>;
}

function fromTokenizer(tok: Tokenizer): TextSide {
  let bytes: Int32Array | undefined;
  return {
    encode: async (text) => tok.encode(text),
    encodeBytes: async (b) => tok.encode(utf8Text(b)),
    tokenText: (t) => tok.tokenText(t),
    tokenBytes: () => (bytes ??= tokenizerByteLengths(tok)),
    tokenPieces: async (tokens) => Array.from(tokens, (t) => tokenizerPiece(tok, t)),
    vocabSize: tok.vocabSize,
    byteExact: tok.byteExact,
    close: async () => {},
  };
}

async function textSide(op: string, dir: string, json: unknown): Promise<TextSide> {
  const j = json as Partial<GgufTokenizerRef> | null;
  if (j && j.kind === 'gguf') {
    if (typeof j.file !== 'string')
      throw new XentError('invalid_file', op, `${dir}/${TOKENIZER_FILE}: "file" of a gguf tokenizer must be a path`, {
        file: `${dir}/${TOKENIZER_FILE}`,
      });
    // Imported here: only a distilled student needs llama.cpp.
    const { loadGgufModel } = await import('../gguf/gguf-language-model.js');
    const g = await loadGgufModel(j.file, { ctx: 64, threads: 1 });
    return {
      encode: (text) => g.tokenize(text),
      encodeBytes: (b) => g.tokenizeBytes(b),
      tokenText: (t) => g.tokenText(t),
      tokenBytes: () => g.tokenBytes(),
      tokenPieces: (tokens) => g.tokenPieces(tokens),
      vocabSize: g.vocabSize,
      byteExact: true,
      close: () => g.close(),
    };
  }
  return fromTokenizer(tokenizerFromJSON(json));
}

export class LstmLanguageModel implements LanguageModel {
  readonly kind = 'lstm' as const;
  readonly engine = 'wasm' as const;
  readonly name: string;
  readonly vocabSize: number;
  readonly trainContextLength: number;
  readonly addsBos = false;
  readonly bosToken = undefined;
  /** One call at a time: the forward pass runs synchronously on the kernels. */
  readonly pipelined = false;
  readonly fullDistributions = true;
  private lstm: LstmEngine | undefined;

  constructor(
    readonly id: string,
    readonly config: Required<LstmConfig>,
    private readonly weights: Float32Array,
    private readonly text: TextSide,
    opts: { seq?: number; threads?: number } = {},
  ) {
    if (text.vocabSize !== config.V) {
      throw new XentError(
        'incompatible',
        'LstmLanguageModel',
        `${id}: the tokenizer has V = ${text.vocabSize} but the model has V = ${config.V}`,
        { expected: config.V, actual: text.vocabSize },
      );
    }
    this.name = basename(id);
    this.vocabSize = config.V;
    // An LSTM runs on any length; the training window is the context it has seen.
    this.trainContextLength = Infinity;
    this.threads = opts.threads ?? 1;
    this.seq = opts.seq;
  }
  /** Kernel threads of the forward pass (default 1, see engineFor). */
  readonly threads: number;
  /** The sequence length T of training windows (informational). */
  readonly seq: number | undefined;

  get byteExact(): boolean {
    return this.text.byteExact;
  }

  tokenize(text: string): Promise<Int32Array> {
    return this.text.encode(text);
  }

  tokenizeBytes(bytes: Uint8Array): Promise<Int32Array> {
    return this.text.encodeBytes(bytes);
  }

  tokenText(token: number): string {
    return this.text.tokenText(token);
  }

  tokenBytes(): Int32Array {
    return this.text.tokenBytes();
  }

  tokenPieces(tokens: ArrayLike<number>): Promise<Uint8Array[]> {
    return this.text.tokenPieces(tokens);
  }

  /** An engine for sequences of up to `n` inputs (grown on demand; shorter inputs are padded at the end). */
  private engineFor(n: number): LstmEngine {
    if (this.lstm && this.lstm.T >= n) return this.lstm;
    const params = this.lstm ? this.lstm.model.params.flat : this.weights;
    const copy = Float32Array.from(params);
    this.lstm?.close();
    // One thread by default: with B = 1 the recurrence is a chain of tiny products, and
    // synchronising a second thread at each of them costs about what it gains.
    this.lstm = new LstmEngine(this.config, { B: 1, T: Math.max(n, 16), threads: this.threads }, copy);
    return this.lstm;
  }

  async score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    return this.scoreSync(tokens, opts);
  }

  scoreSync(tokens: Int32Array, opts: ScoreOptions): PositionScores {
    const op = 'LstmLanguageModel.score';
    const T = tokens.length;
    const V = this.vocabSize;
    const from = opts?.from;
    checkScoreInput(op, tokens, from, V, 0);
    const n = T - 1;
    const count = n - from;
    const nats = new Float64Array(count);
    const rank = new Int32Array(count);
    const top1 = new Int32Array(count);
    const top1Prob = new Float64Array(count);
    const logProbs = opts.full ? new Float32Array(count * V) : undefined;
    if (count === 0) return logProbs ? { nats, rank, top1, top1Prob, logProbs } : { nats, rank, top1, top1Prob };
    const eng = this.engineFor(n);
    const inputs = new Int32Array(eng.T);
    inputs.set(tokens.subarray(0, n));
    eng.forward(inputs);
    eng.forEachBlock(
      (r0, rows, z) => {
        for (let r = 0; r < rows; r++) {
          const t = r0 + r; // B = 1: row = time step
          if (t < from || t >= n) continue;
          const o = r * V;
          let mx = -Infinity;
          let arg = 0;
          for (let v = 0; v < V; v++) {
            const x = z[o + v]!;
            if (x > mx) {
              mx = x;
              arg = v;
            }
          }
          let s = 0;
          for (let v = 0; v < V; v++) s += Math.exp(z[o + v]! - mx);
          const lse = mx + Math.log(s);
          const y = tokens[t + 1]!;
          const zy = z[o + y]!;
          let above = 0;
          for (let v = 0; v < V; v++) if (z[o + v]! > zy) above++;
          const i = t - from;
          nats[i] = lse - zy;
          rank[i] = above;
          top1[i] = arg;
          top1Prob[i] = Math.exp(mx - lse);
          if (logProbs) for (let v = 0; v < V; v++) logProbs[i * V + v] = z[o + v]! - lse;
        }
      },
      false,
      from,
    );
    return logProbs ? { nats, rank, top1, top1Prob, logProbs } : { nats, rank, top1, top1Prob };
  }

  async close(): Promise<void> {
    this.lstm?.close();
    this.lstm = undefined;
    await this.text.close();
  }
}

/** Loads an LSTM model directory written by `xent train --arch lstm` or `xent distill`. */
export async function loadLstmLanguageModel(dir: string, opts: LstmLoadOptions = {}): Promise<LstmLanguageModel> {
  const op = 'loadModel';
  const { json, config, params, tokenizerJSON } = loadLstmModelDir(dir, op);
  let text: TextSide;
  try {
    text = await textSide(op, dir, tokenizerJSON);
  } catch (e) {
    if (e instanceof XentError && e.op === op) throw e;
    throw new XentError(
      'invalid_file',
      op,
      `${dir}/${TOKENIZER_FILE}: ${(e as Error).message}`,
      { file: `${dir}/${TOKENIZER_FILE}` },
      { cause: e },
    );
  }
  return new LstmLanguageModel(dir, config, params, text, {
    ...(typeof json.seq === 'number' ? { seq: json.seq } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
  });
}
