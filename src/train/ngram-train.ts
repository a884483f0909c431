/**
 * End-to-end n-gram training and evaluation on text, for `xent train --arch ngram`
 * and the demo: tokenise, count, estimate modified Kneser–Ney (ngram.ts).
 */
import { XentError } from '../core/errors.js';
import { NgramModel } from '../models/ngram/ngram.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { utf8Encode } from '../tokenizers/tokenizer-utf8.js';

export interface TrainNgramOptions {
  /** Training text (tokenised with `tokenizer`). */
  text: string;
  /** Already-trained tokenizer (see trainTokenizer in tokenizer-spec.ts). */
  tokenizer: Tokenizer;
  /** n, 1 … 8 (2 … 5 recommended; default 4). */
  order?: number;
}

/** Trains an interpolated modified Kneser–Ney model of `order` on `text`. */
export function trainNgram(opts: TrainNgramOptions): NgramModel {
  const { text, tokenizer } = opts;
  const order = opts.order ?? 4;
  const tokens = tokenizer.encode(text);
  if (tokens.length === 0) {
    throw new XentError('empty_input', 'trainNgram', 'the training text has no tokens', { arg: 'text' });
  }
  return NgramModel.fromTokens(tokens, order, tokenizer.vocabSize);
}

export interface NgramTextScore {
  tokens: number;
  bytes: number;
  /** −Σ ln p over all tokens (the first one by the unigram level), nats. */
  totalNats: number;
  natsPerToken: number;
  bitsPerToken: number;
  /** totalNats / ln 2 / UTF-8 bytes: comparable across byte-exact tokenizers only. */
  bitsPerByte: number;
  /** Whether bitsPerByte is comparable across models (false for word-level vocabularies). */
  byteExact: boolean;
}

/** Cross-entropy of `text` under the model (no BOS; every token scored). */
export function scoreNgramText(model: NgramModel, tokenizer: Tokenizer, text: string): NgramTextScore {
  const op = 'scoreNgramText';
  if (tokenizer.vocabSize !== model.vocabSize) {
    throw new XentError(
      'incompatible',
      op,
      `tokenizer V = ${tokenizer.vocabSize} but the model has V = ${model.vocabSize}`,
      {
        expected: model.vocabSize,
        actual: tokenizer.vocabSize,
      },
    );
  }
  const bytes = utf8Encode(op, text).length;
  const tokens = tokenizer.encode(text);
  if (tokens.length === 0) throw new XentError('empty_input', op, 'the text has no tokens to score', { arg: 'text' });
  const totalNats = -model.sequenceLogProbNats(tokens);
  return {
    tokens: tokens.length,
    bytes,
    totalNats,
    natsPerToken: totalNats / tokens.length,
    bitsPerToken: totalNats / Math.LN2 / tokens.length,
    bitsPerByte: totalNats / Math.LN2 / bytes,
    byteExact: tokenizer.byteExact,
  };
}
