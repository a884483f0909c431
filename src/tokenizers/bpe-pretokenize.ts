/**
 * The pre-split of byte-level BPE (version 'xent-bytes-v1'): BPE merges never cross
 * a chunk boundary, as in GPT-2, but the split is a small byte scanner instead of
 * GPT-2's Unicode regex (same in every JS engine, fast, and total over bytes).
 *
 * Byte classes: letter = ASCII A–Z a–z and every byte ≥ 0x80 (so a word in any
 * script stays one chunk and a multi-byte character is never cut, except by the
 * length cap); digit = 0–9; space = SP HT LF VT FF CR; punctuation = everything else.
 *
 * Chunks, scanned left to right:
 *   - an optional single SP followed by a maximal run of one non-space class
 *     (" the", "word", " 1961", ",", " --"), like GPT-2's ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`;
 *   - a run of spaces, minus its last SP when that SP is followed by a non-space
 *     (that SP starts the next chunk), like GPT-2's `\s+(?!\S)`;
 *   - any chunk is cut after MAX_CHUNK_BYTES bytes, so encoding stays linear on
 *     text without spaces (the cut is part of the definition: training and encoding agree).
 * There are no contraction rules ("don't" is " don", "'", "t").
 */

export const PRETOKENIZER_ID = 'xent-bytes-v1';
export const MAX_CHUNK_BYTES = 64;

const SPACE = 0;
const LETTER = 1;
const DIGIT = 2;
const PUNCT = 3;

const CLASS = new Uint8Array(256).fill(PUNCT);
for (let b = 0; b < 256; b++) {
  if ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b >= 0x80) CLASS[b] = LETTER;
  else if (b >= 0x30 && b <= 0x39) CLASS[b] = DIGIT;
}
for (const b of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]) CLASS[b] = SPACE;

/** Calls `onChunk(start, end)` for each chunk [start, end) of `bytes`, in order, covering every byte once. */
export function forEachChunk(bytes: Uint8Array, onChunk: (start: number, end: number) => void): void {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const start = i;
    let cls = CLASS[bytes[i] as number] as number;
    if (bytes[i] === 0x20 && i + 1 < n && CLASS[bytes[i + 1] as number] !== SPACE) {
      i++; // the single leading space belongs to the following run
      cls = CLASS[bytes[i] as number] as number;
    }
    let j = i + 1;
    const limit = Math.min(n, start + MAX_CHUNK_BYTES);
    while (j < limit && CLASS[bytes[j] as number] === cls) j++;
    // A space run followed by a non-space gives its last SP to the next chunk.
    if (cls === SPACE && j < n && j - start > 1 && bytes[j - 1] === 0x20 && CLASS[bytes[j] as number] !== SPACE) j--;
    onChunk(start, j);
    i = j;
  }
}

/** The chunk bytes as a string of char codes 0–255 (a Map key). */
export function chunkKey(bytes: Uint8Array, start: number, end: number): string {
  // String.fromCharCode over ≤ MAX_CHUNK_BYTES arguments is safe from argument-count limits.
  return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
}
