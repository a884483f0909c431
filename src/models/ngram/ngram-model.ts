/**
 * A saved Kneser–Ney n-gram (src/models/ngram/ngram.ts) and its tokenizer as a
 * `LanguageModel`, so `xent eval` scores it exactly like a GGUF model.
 *
 * No BOS: `addsBos` is false and the first token of a sequence is predicted by the
 * unigram level. The model accepts sequences of any length (`trainContextLength` =
 * Infinity) but only the last `order − 1` tokens of the context matter.
 * Rank = the number of tokens with strictly higher probability than the true one.
 *
 * Model directory (written by saveNgramModelDir; model.json is written last, so a
 * directory with model.json is complete):
 *   model.json      {"format":"xent-model","version":1,"kind":"ngram","order":4,"vocabSize":4096,
 *                    "tokenizer":"tokenizer.json","weights":"ngram.bin","byteExact":true, …meta}
 *   tokenizer.json  tokenizer.toJSON()
 *   ngram.bin       the counted trie (src/models/ngram/ngram-format.ts)
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XentError } from '../../core/errors.js';
import { atomicWriteFileSync } from '../../io/atomic-write.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { tokenizerFromJSON } from '../../tokenizers/tokenizer-spec.js';
import { checkScoreInput, type LanguageModel, type PositionScores, type ScoreOptions } from '../language-model.js';
import { tokenizerByteLengths } from '../lstm/lstm-model-dir.js';
import type { NgramModel } from './ngram.js';
import { loadNgram, saveNgram } from './ngram-file.js';

export const NGRAM_MODEL_FILE = 'model.json';

export interface NgramModelDirJSON {
  format: 'xent-model';
  version: 1;
  kind: 'ngram';
  order: number;
  vocabSize: number;
  tokenizer: string;
  weights: string;
  byteExact: boolean;
  [key: string]: unknown;
}

export class NgramLanguageModel implements LanguageModel {
  readonly kind = 'ngram' as const;
  readonly vocabSize: number;
  readonly trainContextLength = Infinity;
  readonly addsBos = false;
  readonly bosToken = undefined;
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
    this.vocabSize = ngram.vocabSize;
    this.order = ngram.order;
  }

  async tokenize(text: string): Promise<Int32Array> {
    return this.tokenizer.encode(text);
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

/** Writes a model directory (see the module comment); extra `meta` goes into model.json. */
export function saveNgramModelDir(
  dir: string,
  model: NgramModel,
  tokenizer: Tokenizer,
  meta: Record<string, unknown> = {},
): void {
  if (tokenizer.vocabSize !== model.vocabSize) {
    throw new XentError(
      'incompatible',
      'saveNgramModelDir',
      `tokenizer V = ${tokenizer.vocabSize} but the n-gram has V = ${model.vocabSize}`,
      {
        expected: model.vocabSize,
        actual: tokenizer.vocabSize,
      },
    );
  }
  mkdirSync(dir, { recursive: true });
  atomicWriteFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
  saveNgram(join(dir, 'ngram.bin'), model);
  const json: NgramModelDirJSON = {
    ...meta,
    format: 'xent-model',
    version: 1,
    kind: 'ngram',
    order: model.order,
    vocabSize: model.vocabSize,
    tokenizer: 'tokenizer.json',
    weights: 'ngram.bin',
    byteExact: tokenizer.byteExact,
  };
  atomicWriteFileSync(join(dir, NGRAM_MODEL_FILE), `${JSON.stringify(json, null, 2)}\n`);
}

/** Whether `dir` holds an xent n-gram model (model.json with kind "ngram"). */
export function isNgramModelDir(dir: string): boolean {
  const p = join(dir, NGRAM_MODEL_FILE);
  if (!existsSync(p)) return false;
  try {
    const j = JSON.parse(readFileSync(p, 'utf8')) as { format?: unknown; kind?: unknown };
    return j.format === 'xent-model' && j.kind === 'ngram';
  } catch {
    return false;
  }
}

/** Loads a model directory written by saveNgramModelDir. */
export function loadNgramModelDir(dir: string): NgramLanguageModel {
  const op = 'loadNgramModelDir';
  const p = join(dir, NGRAM_MODEL_FILE);
  const readJson = (file: string): unknown => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new XentError('invalid_file', op, `cannot read ${file}: ${(e as Error).message}`, { file }, { cause: e });
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new XentError(
        'invalid_file',
        op,
        `${file} is not valid JSON: ${(e as Error).message}`,
        { file },
        { cause: e },
      );
    }
  };
  const j = readJson(p) as Partial<NgramModelDirJSON>;
  if (
    j?.format !== 'xent-model' ||
    j.kind !== 'ngram' ||
    typeof j.tokenizer !== 'string' ||
    typeof j.weights !== 'string'
  ) {
    throw new XentError(
      'invalid_file',
      op,
      `${p} does not describe an xent n-gram model (expected format "xent-model", kind "ngram")`,
      { file: p },
    );
  }
  const tokFile = join(dir, j.tokenizer);
  let tokenizer: Tokenizer;
  try {
    tokenizer = tokenizerFromJSON(readJson(tokFile));
  } catch (e) {
    if (e instanceof XentError && e.op === op) throw e;
    throw new XentError('invalid_file', op, `${tokFile}: ${(e as Error).message}`, { file: tokFile }, { cause: e });
  }
  const ngram = loadNgram(join(dir, j.weights));
  if (ngram.order !== j.order || ngram.vocabSize !== j.vocabSize) {
    throw new XentError(
      'incompatible',
      op,
      `${p} says order ${String(j.order)}, V ${String(j.vocabSize)} but ${j.weights} has order ${ngram.order}, V ${ngram.vocabSize}`,
      {
        file: p,
      },
    );
  }
  return new NgramLanguageModel(ngram, tokenizer, dir);
}
