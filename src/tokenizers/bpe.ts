/**
 * Byte-level BPE tokenizer: tokens 0–255 are the bytes, token 256 + r is merge r
 * (the concatenation of its two parts). Every byte sequence encodes, so bits per
 * byte is exact. encode = pre-split (bpe-pretokenize.ts), then within each chunk
 * apply merges in rank order (lowest rank first, all occurrences left to right,
 * exactly as they were learned). decode(encode(s)) === s for every well-formed s.
 */
import { XentError } from '../core/errors.js';
import { chunkKey, forEachChunk, MAX_CHUNK_BYTES, PRETOKENIZER_ID } from './bpe-pretokenize.js';
import { learnBpeMerges, MAX_BPE_VOCAB } from './bpe-train.js';
import type { Tokenizer } from './tokenizer.js';
import { bytesDisplayText, checkTokenId, utf8DecodeLenient, utf8Encode } from './tokenizer-utf8.js';

export interface BpeTokenizerJSON {
  kind: 'bpe';
  version: 1;
  pretokenizer: typeof PRETOKENIZER_ID;
  maxChunkBytes: number;
  vocabSize: number;
  /** Flat [a0, b0, a1, b1, …]: merge r makes token 256 + r. */
  merges: number[];
}

const CACHE_LIMIT = 1 << 17;

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly byteExact = true;
  readonly vocabSize: number;
  private readonly merges: Int32Array;
  /** pair key a·2^21 + b → rank r. */
  private readonly rank = new Map<number, number>();
  /** Bytes of each token. */
  private readonly tokenBytes: Uint8Array[] = [];
  private readonly cache = new Map<string, Int32Array>();

  /** `merges` is flat [a0, b0, …]; validated (each part must be an earlier token). */
  constructor(merges: ArrayLike<number>) {
    const op = 'BpeTokenizer';
    if (merges.length % 2 !== 0) {
      throw new XentError('invalid_argument', op, `merges has odd length ${merges.length} (expected pairs)`, {
        arg: 'merges',
        value: merges.length,
      });
    }
    const m = merges.length / 2;
    if (256 + m > MAX_BPE_VOCAB) {
      throw new XentError('invalid_argument', op, `${m} merges exceed the vocabulary limit ${MAX_BPE_VOCAB}`, {
        arg: 'merges',
        value: m,
      });
    }
    this.merges = Int32Array.from(merges);
    this.vocabSize = 256 + m;
    for (let b = 0; b < 256; b++) this.tokenBytes.push(Uint8Array.of(b));
    for (let r = 0; r < m; r++) {
      const a = merges[2 * r] as number;
      const b = merges[2 * r + 1] as number;
      for (const [x, name] of [
        [a, 'left'],
        [b, 'right'],
      ] as const) {
        if (!Number.isInteger(x) || x < 0 || x >= 256 + r) {
          throw new XentError(
            'invalid_argument',
            op,
            `merges[${r}] ${name} part = ${x} is not a byte or an earlier merge (range [0, ${256 + r}))`,
            {
              arg: 'merges',
              row: r,
              value: x,
            },
          );
        }
      }
      const key = a * MAX_BPE_VOCAB + b;
      if (this.rank.has(key)) {
        throw new XentError(
          'invalid_argument',
          op,
          `merges[${r}] = (${a}, ${b}) repeats merges[${this.rank.get(key)}]`,
          { arg: 'merges', row: r },
        );
      }
      this.rank.set(key, r);
      const ba = this.tokenBytes[a] as Uint8Array;
      const bb = this.tokenBytes[b] as Uint8Array;
      const cat = new Uint8Array(ba.length + bb.length);
      cat.set(ba, 0);
      cat.set(bb, ba.length);
      this.tokenBytes.push(cat);
    }
  }

  /** Learns a tokenizer of at most `vocabSize` tokens from `text` (see learnBpeMerges). */
  static train(text: string, vocabSize: number, opts: { minPairCount?: number } = {}): BpeTokenizer {
    return new BpeTokenizer(learnBpeMerges(text, { vocabSize, ...opts }));
  }

  /** Number of merges (vocabSize − 256). */
  get mergeCount(): number {
    return this.merges.length / 2;
  }

  /** Merge r's parts [a, b]. */
  merge(r: number): [number, number] {
    checkTokenId('BpeTokenizer.merge', 'r', r, this.mergeCount);
    return [this.merges[2 * r] as number, this.merges[2 * r + 1] as number];
  }

  /** Bytes of a token (a copy). */
  bytesOf(token: number): Uint8Array {
    checkTokenId('BpeTokenizer.bytesOf', 'token', token, this.vocabSize);
    return (this.tokenBytes[token] as Uint8Array).slice();
  }

  encode(text: string): Int32Array {
    const bytes = utf8Encode('BpeTokenizer.encode', text);
    const out = new Int32Array(bytes.length);
    let n = 0;
    const sym: number[] = [];
    forEachChunk(bytes, (s, e) => {
      if (e - s === 1) {
        out[n++] = bytes[s] as number;
        return;
      }
      const key = chunkKey(bytes, s, e);
      let toks = this.cache.get(key);
      if (toks === undefined) {
        sym.length = 0;
        for (let i = s; i < e; i++) sym.push(bytes[i] as number);
        toks = Int32Array.from(this.mergeChunk(sym));
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(key, toks);
      }
      out.set(toks, n);
      n += toks.length;
    });
    return out.slice(0, n);
  }

  /** Applies merges to one chunk's symbols in place (O(L²), L ≤ MAX_CHUNK_BYTES). */
  private mergeChunk(sym: number[]): number[] {
    for (;;) {
      let best = -1;
      for (let i = 0; i + 1 < sym.length; i++) {
        const r = this.rank.get((sym[i] as number) * MAX_BPE_VOCAB + (sym[i + 1] as number));
        if (r !== undefined && (best < 0 || r < best)) best = r;
      }
      if (best < 0) return sym;
      const a = this.merges[2 * best] as number;
      const b = this.merges[2 * best + 1] as number;
      let w = 0;
      for (let i = 0; i < sym.length; i++) {
        if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
          sym[w++] = 256 + best;
          i++;
        } else sym[w++] = sym[i] as number;
      }
      sym.length = w;
    }
  }

  /** Tokens back to text; a byte sequence that is not valid UTF-8 decodes to U+FFFD. */
  decode(tokens: ArrayLike<number>): string {
    let len = 0;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as number;
      checkTokenId('BpeTokenizer.decode', 'tokens', t, this.vocabSize, i);
      len += (this.tokenBytes[t] as Uint8Array).length;
    }
    const bytes = new Uint8Array(len);
    let o = 0;
    for (let i = 0; i < tokens.length; i++) {
      const tb = this.tokenBytes[tokens[i] as number] as Uint8Array;
      bytes.set(tb, o);
      o += tb.length;
    }
    return utf8DecodeLenient(bytes);
  }

  tokenText(token: number): string {
    checkTokenId('BpeTokenizer.tokenText', 'token', token, this.vocabSize);
    return bytesDisplayText(this.tokenBytes[token] as Uint8Array);
  }

  toJSON(): BpeTokenizerJSON {
    return {
      kind: 'bpe',
      version: 1,
      pretokenizer: PRETOKENIZER_ID,
      maxChunkBytes: MAX_CHUNK_BYTES,
      vocabSize: this.vocabSize,
      merges: Array.from(this.merges),
    };
  }

  static fromJSON(json: unknown): BpeTokenizer {
    const op = 'BpeTokenizer.fromJSON';
    const j = json as Partial<BpeTokenizerJSON> | null;
    if (!j || typeof j !== 'object' || j.kind !== 'bpe' || !Array.isArray(j.merges)) {
      throw new XentError('invalid_file', op, 'not a BPE tokenizer (expected {"kind":"bpe","merges":[…]})', {});
    }
    if (j.version !== 1 || j.pretokenizer !== PRETOKENIZER_ID || j.maxChunkBytes !== MAX_CHUNK_BYTES) {
      throw new XentError(
        'incompatible',
        op,
        `BPE tokenizer version ${String(j.version)} / pretokenizer ${String(j.pretokenizer)} / maxChunkBytes ${String(j.maxChunkBytes)} is not supported (expected 1 / ${PRETOKENIZER_ID} / ${MAX_CHUNK_BYTES})`,
        { value: { version: j.version, pretokenizer: j.pretokenizer, maxChunkBytes: j.maxChunkBytes } },
      );
    }
    let tok: BpeTokenizer;
    try {
      tok = new BpeTokenizer(j.merges as number[]);
    } catch (e) {
      throw new XentError('invalid_file', op, `bad merges: ${(e as Error).message}`, {}, { cause: e });
    }
    if (j.vocabSize !== tok.vocabSize) {
      throw new XentError(
        'invalid_file',
        op,
        `vocabSize = ${String(j.vocabSize)} but the merges give ${tok.vocabSize}`,
        {
          expected: tok.vocabSize,
          actual: j.vocabSize,
        },
      );
    }
    return tok;
  }
}
