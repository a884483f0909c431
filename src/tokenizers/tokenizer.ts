/**
 * Tokenizers for models trained by xent. Byte-level ones give every byte sequence a
 * probability, so bits per byte is exact and comparable across models.
 */
export type TokenizerKind = 'byte' | 'bpe' | 'word';

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** V. */
  readonly vocabSize: number;
  /** False for word-level vocabularies with <unk>: their scores are not comparable per byte. */
  readonly byteExact: boolean;
  encode(text: string): Int32Array;
  decode(tokens: ArrayLike<number>): string;
  /** Display text of one token. */
  tokenText(token: number): string;
  /** Serialisable form, written into a model directory. */
  toJSON(): unknown;
}
