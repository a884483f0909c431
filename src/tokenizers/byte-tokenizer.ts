/**
 * Byte-level tokenizer: token = one UTF-8 byte, V = 256. Every byte sequence has a
 * token sequence, so a model over it gives every text a probability and its bits
 * per byte are exact.
 */
import { XentError } from '../core/errors.js';
import type { Tokenizer } from './tokenizer.js';
import { bytesDisplayText, checkTokenId, utf8DecodeLenient, utf8Encode } from './tokenizer-utf8.js';

export interface ByteTokenizerJSON {
  kind: 'byte';
  version: 1;
  vocabSize: 256;
}

export class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte' as const;
  readonly vocabSize = 256;
  readonly byteExact = true;

  encode(text: string): Int32Array {
    return Int32Array.from(utf8Encode('ByteTokenizer.encode', text));
  }

  /** Bytes back to text; byte sequences that are not valid UTF-8 decode to U+FFFD. */
  decode(tokens: ArrayLike<number>): string {
    const bytes = new Uint8Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as number;
      checkTokenId('ByteTokenizer.decode', 'tokens', t, 256, i);
      bytes[i] = t;
    }
    return utf8DecodeLenient(bytes);
  }

  tokenText(token: number): string {
    checkTokenId('ByteTokenizer.tokenText', 'token', token, 256);
    return bytesDisplayText(Uint8Array.of(token));
  }

  toJSON(): ByteTokenizerJSON {
    return { kind: 'byte', version: 1, vocabSize: 256 };
  }

  static fromJSON(json: unknown): ByteTokenizer {
    const j = json as Partial<ByteTokenizerJSON> | null;
    if (j?.kind !== 'byte' || j.vocabSize !== 256) {
      throw new XentError(
        'invalid_file',
        'ByteTokenizer.fromJSON',
        'not a byte tokenizer (expected {"kind":"byte","vocabSize":256})',
        {
          value: j && typeof j === 'object' ? { kind: j.kind, vocabSize: j.vocabSize } : j,
        },
      );
    }
    return new ByteTokenizer();
  }
}
