/**
 * Tokenizer specs as the CLI spells them (`--vocab`): `byte` (V = 256), `bpe:<V>`
 * (byte-level BPE learned from the training text, V ≥ 256) and `word:<V>` (word level
 * with <unk>, not byte-exact). Plus loading any tokenizer from its JSON form.
 */
import { XentError } from '../core/errors.js';
import { BpeTokenizer } from './bpe.js';
import { ByteTokenizer } from './byte-tokenizer.js';
import type { Tokenizer, TokenizerKind } from './tokenizer.js';
import { WordTokenizer } from './word-tokenizer.js';

export interface TokenizerSpec {
  kind: TokenizerKind;
  /** Requested V (256 for byte). BPE may learn fewer when the text runs out of pairs. */
  vocabSize: number;
}

/** Parses `byte`, `bpe:4096`, `word:10000`. */
export function parseTokenizerSpec(spec: string, arg = '--vocab'): TokenizerSpec {
  const op = 'parseTokenizerSpec';
  const s = String(spec).trim();
  if (s === 'byte' || s === 'byte:256') return { kind: 'byte', vocabSize: 256 };
  const m = /^(bpe|word):(\d+)$/.exec(s);
  if (!m) {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg} = ${JSON.stringify(spec)} is not a tokenizer spec (expected byte, bpe:<V> or word:<V>, e.g. bpe:4096)`,
      {
        arg,
        value: spec,
      },
    );
  }
  const kind = m[1] as 'bpe' | 'word';
  const v = Number(m[2]);
  const min = kind === 'bpe' ? 256 : 2;
  const max = 1 << 21;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new XentError(
      'invalid_argument',
      op,
      `${arg} = ${JSON.stringify(spec)}: V = ${m[2]} must be in [${min}, ${max}]`,
      { arg, value: spec },
    );
  }
  return { kind, vocabSize: v };
}

/** Builds the tokenizer a spec names, learning BPE merges / the word list from `text`. */
export function trainTokenizer(spec: string | TokenizerSpec, text: string): Tokenizer {
  const sp = typeof spec === 'string' ? parseTokenizerSpec(spec) : spec;
  switch (sp.kind) {
    case 'byte':
      return new ByteTokenizer();
    case 'bpe':
      return BpeTokenizer.train(text, sp.vocabSize);
    case 'word':
      return WordTokenizer.train(text, sp.vocabSize);
  }
}

/** The tokenizer saved by `tokenizer.toJSON()` (as parsed JSON). */
export function tokenizerFromJSON(json: unknown): Tokenizer {
  const kind = json && typeof json === 'object' ? (json as { kind?: unknown }).kind : undefined;
  switch (kind) {
    case 'byte':
      return ByteTokenizer.fromJSON(json);
    case 'bpe':
      return BpeTokenizer.fromJSON(json);
    case 'word':
      return WordTokenizer.fromJSON(json);
    default:
      throw new XentError(
        'invalid_file',
        'tokenizerFromJSON',
        `unknown tokenizer kind ${JSON.stringify(kind)} (expected byte, bpe or word)`,
        {
          value: kind,
        },
      );
  }
}
