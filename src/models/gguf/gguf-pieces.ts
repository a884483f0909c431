/**
 * The bytes of GGUF tokens (pieces) and how xent prints them, shared by both GGUF engines.
 */
import { XentError } from '../../core/errors.js';

/** A piece as text: its UTF-8 text, or <0xNN> per byte when it is not valid UTF-8 (a byte-fallback token). */
export function pieceText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Array.from(bytes, (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
  }
}

/** A copy of token t's piece; ids outside the vocabulary are refused. */
export function pieceOf(pieces: readonly Uint8Array[], t: number, op: string): Uint8Array {
  const p = Number.isInteger(t) ? pieces[t] : undefined;
  if (!p)
    throw new XentError('index_out_of_range', op, `token ${t} is out of range [0, ${pieces.length})`, {
      arg: 'tokens',
      value: t,
    });
  return p.slice();
}
