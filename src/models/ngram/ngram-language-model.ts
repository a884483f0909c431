/**
 * A Kneser–Ney n-gram (ngram.ts) and its tokenizer as a `LanguageModel`, so `xent eval`
 * scores it exactly like a GGUF model; `loadNgramLanguageModel(dir)` reads a model
 * directory (ngram-model-dir.ts).
 *
 * No BOS: `addsBos` is false and the first token of a sequence is predicted by the
 * unigram level. The model accepts sequences of any length (`trainContextLength` =
 * Infinity) but only the last `order − 1` tokens of the context matter.
 * Rank = the number of tokens with strictly higher probability than the true one.
 */
import { basename } from 'node:path';
import { XentError } from '../../core/errors.js';
import { tokenizerByteLengths, tokenizerPiece } from '../../tokenizers/token-bytes.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import {
  checkScoreInput,
  type LanguageModel,
  type PositionScores,
  type ScoreOptions,
  utf8Text,
} from '../language-model.js';
import type { NgramModel } from './ngram.js';
import { loadNgramModelDir } from './ngram-model-dir.js';

export class NgramLanguageModel implements LanguageModel {
  readonly kind = 'ngram' as const;
  readonly engine = 'js' as const;
  readonly name: string;
  readonly vocabSize: number;
  readonly trainContextLength = Infinity;
  readonly addsBos = false;
  readonly bosToken = undefined;
  /** One call at a time, computed synchronously. */
  readonly pipelined = false;
  readonly fullDistributions = true;
  /** Single-threaded JavaScript: not a setting. */
  readonly threads = undefined;
  /** n: only the last n − 1 context tokens matter. */
  readonly order: number;

  constructor(
    readonly ngram: NgramModel,
    readonly tokenizer: Tokenizer,
    readonly id = `ngram-${ngram.order}`,
  ) {
    if (tokenizer.vocabSize !== ngram.vocabSize) {
      throw new XentError(
        'incompatible',
        'NgramLanguageModel',
        `tokenizer V = ${tokenizer.vocabSize} but the n-gram has V = ${ngram.vocabSize}`,
        {
          expected: ngram.vocabSize,
          actual: tokenizer.vocabSize,
        },
      );
    }
    this.name = basename(id);
    this.vocabSize = ngram.vocabSize;
    this.order = ngram.order;
  }

  async tokenize(text: string): Promise<Int32Array> {
    return this.tokenizer.encode(text);
  }

  async tokenizeBytes(bytes: Uint8Array): Promise<Int32Array> {
    return this.tokenizer.encode(utf8Text(bytes));
  }

  tokenText(token: number): string {
    return this.tokenizer.tokenText(token);
  }

  get byteExact(): boolean {
    return this.tokenizer.byteExact;
  }

  private bytes: Int32Array | undefined;
  /**
   * Each token's true UTF-8 byte length: the display text of a byte token ("<0xE2>")
   * is not its bytes, and bits per byte would drift.
   */
  tokenBytes(): Int32Array {
    return (this.bytes ??= tokenizerByteLengths(this.tokenizer));
  }

  async tokenPieces(tokens: ArrayLike<number>): Promise<Uint8Array[]> {
    return Array.from(tokens, (t) => tokenizerPiece(this.tokenizer, t));
  }

  async score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    return this.scoreSync(tokens, opts);
  }

  /** `score` without the promise. */
  scoreSync(tokens: Int32Array, opts: ScoreOptions): PositionScores {
    const op = 'NgramLanguageModel.score';
    const T = tokens.length;
    const V = this.vocabSize;
    const from = opts?.from;
    checkScoreInput(op, tokens, from, V, 0);
    const count = T - 1 - from;
    const nats = new Float64Array(count);
    const rank = new Int32Array(count);
    const top1 = new Int32Array(count);
    const top1Prob = new Float64Array(count);
    const logProbs = opts.full ? new Float32Array(count * V) : undefined;
    const dist = new Float64Array(V);
    for (let i = 0; i < count; i++) {
      const t = from + i;
      this.ngram.distributionAt(tokens, t + 1, dist);
      const y = tokens[t + 1] as number;
      const py = dist[y] as number;
      let best = 0;
      let bestP = dist[0] as number;
      let above = 0;
      for (let v = 0; v < V; v++) {
        const p = dist[v] as number;
        if (p > py) above++;
        if (p > bestP) {
          bestP = p;
          best = v;
        }
      }
      nats[i] = -Math.log(py);
      rank[i] = above;
      top1[i] = best;
      top1Prob[i] = bestP;
      if (logProbs) {
        const o = i * V;
        for (let v = 0; v < V; v++) logProbs[o + v] = Math.log(dist[v] as number);
      }
    }
    return logProbs ? { nats, rank, top1, top1Prob, logProbs } : { nats, rank, top1, top1Prob };
  }

  async close(): Promise<void> {}
}

/** Loads an n-gram model directory written by `xent train --arch ngram`. */
export function loadNgramLanguageModel(dir: string): NgramLanguageModel {
  const { ngram, tokenizer } = loadNgramModelDir(dir);
  return new NgramLanguageModel(ngram, tokenizer, dir);
}
