/**
 * UTF-8 helpers shared by the byte-level tokenizers (byte, BPE). Browser-safe
 * (TextEncoder/TextDecoder only).
 *
 * Round-trip contract: for every well-formed string s (no lone UTF-16 surrogate),
 * decode(encode(s)) === s. Lone surrogates have no UTF-8 encoding (TextEncoder would
 * silently turn them into U+FFFD and lose the text), so encoding rejects them.
 */
import { XentError } from '../core/errors.js';

const encoder = new TextEncoder();
const lenientDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Index of the first lone surrogate in `text`, or −1 when it is well-formed. */
export function firstLoneSurrogate(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const d = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/** UTF-8 bytes of `text`; throws `invalid_text` for lone surrogates. */
export function utf8Encode(op: string, text: string): Uint8Array {
  if (typeof text !== 'string') {
    throw new XentError('invalid_argument', op, `text must be a string, got ${typeof text}`, { arg: 'text' });
  }
  const bad = firstLoneSurrogate(text);
  if (bad >= 0) {
    throw new XentError(
      'invalid_text',
      op,
      `text[${bad}] is a lone UTF-16 surrogate (0x${text.charCodeAt(bad).toString(16)}), which has no UTF-8 encoding`,
      { arg: 'text', offset: bad, value: text.charCodeAt(bad) },
    );
  }
  return encoder.encode(text);
}

/** Decodes bytes; invalid sequences (possible when decoding arbitrary token ids) become U+FFFD. */
export function utf8DecodeLenient(bytes: Uint8Array): string {
  return lenientDecoder.decode(bytes);
}

/**
 * Display text of a byte string: the text itself when it is valid UTF-8 (a token
 * may hold part of a character), otherwise every byte as `<0xNN>` like llama.cpp's
 * byte-fallback tokens.
 */
export function bytesDisplayText(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    let s = '';
    for (const b of bytes) s += `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
    return s;
  }
}

/** Validates one token id of a V-token vocabulary (used by decode/tokenText). */
export function checkTokenId(op: string, arg: string, token: number, vocabSize: number, row?: number): void {
  if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
    const where = row === undefined ? arg : `${arg}[${row}]`;
    throw new XentError('index_out_of_range', op, `${where} = ${token} is out of range [0, ${vocabSize})`, {
      arg,
      value: token,
      ...(row === undefined ? {} : { row }),
    });
  }
}
