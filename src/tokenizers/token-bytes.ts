/**
 * The bytes each token stands for, for exact bits per byte and for serving token pieces.
 * A byte token is its byte and a BPE token its merged bytes (their display texts, such as
 * "<0xE2>", are not); a word is its UTF-8 text. Browser-safe (TextEncoder only).
 */
import { BpeTokenizer } from './bpe.js';
import type { Tokenizer } from './tokenizer.js';
import { checkTokenId } from './tokenizer-utf8.js';

const encoder = new TextEncoder();

/** The bytes of token `t` of `tok`. */
export function tokenizerPiece(tok: Tokenizer, t: number): Uint8Array {
  if (tok.kind === 'byte') {
    checkTokenId('tokenizerPiece', 't', t, tok.vocabSize);
    return Uint8Array.of(t);
  }
  if (tok instanceof BpeTokenizer) return tok.bytesOf(t);
  return encoder.encode(tok.tokenText(t));
}

/** UTF-8 byte length of every token of `tok` (length V). */
export function tokenizerByteLengths(tok: Tokenizer): Int32Array {
  const out = new Int32Array(tok.vocabSize);
  if (tok.kind === 'byte') out.fill(1);
  else for (let t = 0; t < out.length; t++) out[t] = tokenizerPiece(tok, t).length;
  return out;
}
