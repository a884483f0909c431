/**
 * Strict UTF-8 validation that names the first bad byte (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF). Text to evaluate must be valid UTF-8, or
 * bits per byte and the tokenizer's input would silently differ from the file.
 */
import { XentError } from './errors.js';

/** Byte offset of the first invalid UTF-8 sequence, or −1 when `b` is valid. */
export function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need > n - 1) return i; // truncated sequence at the end
    const c1 = b[i + 1]!;
    if (c1 < lo || c1 > hi) return i;
    for (let k = 2; k <= need; k++) {
      const ck = b[i + k]!;
      if (ck < 0x80 || ck > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Throws XentError('invalid_text') naming the file and byte offset of the first invalid sequence. */
export function assertUtf8(op: string, bytes: Uint8Array, file: string): void {
  const at = firstInvalidUtf8(bytes);
  if (at >= 0) {
    const show = Array.from(bytes.subarray(at, Math.min(bytes.length, at + 4)), (x) =>
      x.toString(16).padStart(2, '0'),
    ).join(' ');
    throw new XentError(
      'invalid_text',
      op,
      `${file} is not valid UTF-8: bad byte sequence at byte offset ${at} (${show})`,
      { file, offset: at },
    );
  }
}
