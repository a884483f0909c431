/**
 * Word-level tokenizer with `<unk>` (id 0): NOT byte-exact. Words outside the
 * vocabulary all map to `<unk>`, and decoding joins words with single spaces, so the
 * text is not recovered and a model's bits per byte over it are NOT comparable with
 * byte-level models (it never pays for spelling rare words or for whitespace).
 * Offered only for comparison with classic word-level results (`byteExact: false`).
 *
 * Words: a run of letters/marks/digits, optionally joined by inner apostrophes
 * ("don't"), or any single other non-space character. Whitespace is dropped.
 */
import { XentError } from '../core/errors.js';
import type { Tokenizer } from './tokenizer.js';
import { checkTokenId, firstLoneSurrogate } from './tokenizer-utf8.js';

export const UNK = '<unk>';
const WORD_RE = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*|[^\s\p{L}\p{M}\p{N}]/gu;

export interface WordTokenizerJSON {
  kind: 'word';
  version: 1;
  vocabSize: number;
  /** words[0] is "<unk>". */
  words: string[];
}

function splitWords(op: string, text: string): string[] {
  if (typeof text !== 'string')
    throw new XentError('invalid_argument', op, `text must be a string, got ${typeof text}`, { arg: 'text' });
  const bad = firstLoneSurrogate(text);
  if (bad >= 0)
    throw new XentError('invalid_text', op, `text[${bad}] is a lone UTF-16 surrogate`, { arg: 'text', offset: bad });
  return text.match(WORD_RE) ?? [];
}

export class WordTokenizer implements Tokenizer {
  readonly kind = 'word' as const;
  readonly byteExact = false;
  readonly vocabSize: number;
  private readonly words: string[];
  private readonly ids = new Map<string, number>();

  /** `words[0]` must be "<unk>"; words must be distinct. */
  constructor(words: readonly string[]) {
    if (words[0] !== UNK)
      throw new XentError('invalid_argument', 'WordTokenizer', `words[0] must be "${UNK}"`, {
        arg: 'words',
        value: words[0],
      });
    this.words = words.slice();
    this.words.forEach((w, i) => {
      if (this.ids.has(w))
        throw new XentError('invalid_argument', 'WordTokenizer', `words[${i}] = ${JSON.stringify(w)} repeats`, {
          arg: 'words',
          row: i,
        });
      this.ids.set(w, i);
    });
    this.vocabSize = this.words.length;
  }

  /** Keeps the `vocabSize − 1` most frequent words of `text` (ties: code-unit order), plus `<unk>`. */
  static train(text: string, vocabSize: number): WordTokenizer {
    if (!Number.isInteger(vocabSize) || vocabSize < 2) {
      throw new XentError(
        'invalid_argument',
        'WordTokenizer.train',
        `vocabSize = ${vocabSize} must be an integer ≥ 2`,
        { arg: 'vocabSize', value: vocabSize },
      );
    }
    const freq = new Map<string, number>();
    for (const w of splitWords('WordTokenizer.train', text)) freq.set(w, (freq.get(w) ?? 0) + 1);
    freq.delete(UNK);
    const ranked = [...freq].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    return new WordTokenizer([UNK, ...ranked.slice(0, vocabSize - 1).map(([w]) => w)]);
  }

  encode(text: string): Int32Array {
    const ws = splitWords('WordTokenizer.encode', text);
    const out = new Int32Array(ws.length);
    for (let i = 0; i < ws.length; i++) out[i] = this.ids.get(ws[i] as string) ?? 0;
    return out;
  }

  /** Words joined by single spaces (lossy: whitespace and unknown words are not recovered). */
  decode(tokens: ArrayLike<number>): string {
    const parts: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as number;
      checkTokenId('WordTokenizer.decode', 'tokens', t, this.vocabSize, i);
      parts.push(this.words[t] as string);
    }
    return parts.join(' ');
  }

  tokenText(token: number): string {
    checkTokenId('WordTokenizer.tokenText', 'token', token, this.vocabSize);
    return this.words[token] as string;
  }

  toJSON(): WordTokenizerJSON {
    return { kind: 'word', version: 1, vocabSize: this.vocabSize, words: this.words.slice() };
  }

  static fromJSON(json: unknown): WordTokenizer {
    const j = json as Partial<WordTokenizerJSON> | null;
    if (
      !j ||
      typeof j !== 'object' ||
      j.kind !== 'word' ||
      !Array.isArray(j.words) ||
      j.words.some((w) => typeof w !== 'string')
    ) {
      throw new XentError(
        'invalid_file',
        'WordTokenizer.fromJSON',
        'not a word tokenizer (expected {"kind":"word","words":["<unk>",…]})',
        {},
      );
    }
    const tok = new WordTokenizer(j.words);
    if (j.vocabSize !== tok.vocabSize) {
      throw new XentError(
        'invalid_file',
        'WordTokenizer.fromJSON',
        `vocabSize = ${String(j.vocabSize)} but words has ${tok.vocabSize}`,
        {
          expected: tok.vocabSize,
          actual: j.vocabSize,
        },
      );
    }
    return tok;
  }
}
