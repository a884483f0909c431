/**
 * Binary form of an n-gram model (browser-safe; files: ngram-model-dir.ts).
 *
 *   offset 0   8 bytes  magic "XENTNGRM"
 *          8   uint32   format version (1), little-endian
 *         12   uint32   H = header length in bytes
 *         16   H bytes  UTF-8 JSON {order, vocabSize, nodeCount, discounts}
 *              0–3 zero bytes so the arrays start at a multiple of 4
 *              int32[N] tokens, int32[N] counts, int32[N] childCount (little-endian)
 *
 * 12 bytes per trie node; the trie is breadth-first (ngram-count.ts), and loading
 * re-validates its whole structure, so a corrupt or truncated file is refused.
 */
import { XentError } from '../../core/errors.js';
import { type NgramDiscounts, NgramModel } from './ngram.js';

const MAGIC = 'XENTNGRM';
const VERSION = 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

interface Header {
  order: number;
  vocabSize: number;
  nodeCount: number;
  discounts: NgramDiscounts;
}

function arrayBytes(a: Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setInt32(4 * i, a[i] as number, true);
  return out;
}

export function serializeNgram(model: NgramModel): Uint8Array {
  const { tokens, counts, childCount } = model.trie;
  const N = tokens.length;
  const header: Header = { order: model.order, vocabSize: model.vocabSize, nodeCount: N, discounts: model.discounts };
  const h = new TextEncoder().encode(JSON.stringify(header));
  const start = (16 + h.length + 3) & ~3;
  const out = new Uint8Array(start + 12 * N);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, h.length, true);
  out.set(h, 16);
  out.set(arrayBytes(tokens), start);
  out.set(arrayBytes(counts), start + 4 * N);
  out.set(arrayBytes(childCount), start + 8 * N);
  return out;
}

/** Parses and validates a serialised model; `file` names it in errors. */
export function deserializeNgram(bytes: Uint8Array, file = '<bytes>'): NgramModel {
  const op = 'deserializeNgram';
  const fail = (msg: string, offset?: number, cause?: unknown): never => {
    throw new XentError(
      'invalid_file',
      op,
      `${file}: ${msg}`,
      { file, ...(offset === undefined ? {} : { offset }) },
      cause === undefined ? undefined : { cause },
    );
  };
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC)
    fail(`not an xent n-gram file (no ${MAGIC} magic)`, 0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== VERSION) {
    throw new XentError(
      'incompatible',
      op,
      `${file}: n-gram format version ${version} is not supported (expected ${VERSION})`,
      { file, value: version },
    );
  }
  const hLen = dv.getUint32(12, true);
  if (16 + hLen > bytes.length) fail(`header length ${hLen} runs past the end of the file (${bytes.length} bytes)`, 12);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + hLen))) as Header;
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`, 16, e);
  }
  const N = header?.nodeCount;
  if (!Number.isInteger(N) || N < 1) fail(`header nodeCount = ${String(N)} is not a positive integer`, 16);
  if (!Array.isArray(header.discounts)) fail('header has no discounts array', 16);
  const start = (16 + hLen + 3) & ~3;
  if (bytes.length !== start + 12 * N)
    fail(`expected ${start + 12 * N} bytes for ${N} nodes, found ${bytes.length} (truncated or corrupt)`, start);
  const read = (k: number): Int32Array => {
    const a = new Int32Array(N);
    const off = start + 4 * N * k;
    if (LITTLE_ENDIAN) new Uint8Array(a.buffer).set(bytes.subarray(off, off + 4 * N));
    else for (let i = 0; i < N; i++) a[i] = dv.getInt32(off + 4 * i, true);
    return a;
  };
  try {
    return new NgramModel(
      { order: header.order, vocabSize: header.vocabSize, tokens: read(0), counts: read(1), childCount: read(2) },
      header.discounts,
    );
  } catch (e) {
    return fail(`corrupt model: ${(e as Error).message}`, start, e);
  }
}
