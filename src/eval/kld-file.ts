/**
 * The base-distribution file of llama-perplexity --kl-divergence-base, read and written
 * in runs of rows (memory: the rows at hand, not a chunk's). Layout (little-endian; docs/kld-format.md):
 *
 *   char[8]  "_logits_"
 *   uint32   n_ctx
 *   int32    n_vocab (V)
 *   int32    n_chunk
 *   int32    tokens[n_chunk · n_ctx]      the token stream (BOS first when the model adds it;
 *                                         chunk starts are NOT replaced by BOS)
 *   then for each chunk, for each of its n_ctx − 1 − n_ctx/2 scored positions, one row of
 *   nv = 2·⌈V/2⌉ + 4 uint16: float32 scale, float32 min_log_prob, V quantised values
 *   (ln p_v = scale · q_v + min_log_prob), padding to nv.
 *
 * xent appends an optional trailer after the last row, which llama.cpp never reads (it
 * stops after n_chunk chunks): UTF-8 JSON metadata, its uint32 byte length, then the
 * 8 bytes "_xentkl1". The JSON names the base model and the text, so that a base file
 * made from another model or text is refused with a reason rather than silently used.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { XentError } from '../core/errors.js';
import { baseRowWidth } from '../kernels/kld-rows.js';

const MAGIC = '_logits_';
const TRAILER_MAGIC = '_xentkl1';

/** What xent records about how a base file was made. */
export interface BaseFileMeta {
  format: 'xent-kld-base/1';
  base_model: string;
  base_model_bytes: number;
  data_sha256: string;
  ctx: number;
  vocab_size: number;
  xent_version: string;
}

export interface BaseFileHeader {
  nCtx: number;
  vocabSize: number;
  nChunk: number;
  /** The stored token stream, n_chunk · n_ctx tokens. */
  tokens: Int32Array;
}

/** Scored positions per chunk (llama.cpp: n_ctx − 1 − n_ctx/2). */
export function rowsPerChunk(nCtx: number): number {
  return nCtx - 1 - Math.floor(nCtx / 2);
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

/** Writes a base file to `<path>.partial`, renamed to `path` by `finish()` (a killed run leaves no file that looks complete). */
export class BaseFileWriter {
  private readonly fd: number;
  private readonly partial: string;
  private rowsWritten = 0;
  readonly rowWidth: number;

  /**
   * `resumeChunks`: continue a `<path>.partial` that holds this header and that many
   * chunks (a resumed run; later bytes, from chunks not yet checkpointed, are cut off).
   */
  constructor(
    readonly path: string,
    readonly header: BaseFileHeader,
    resumeChunks = 0,
  ) {
    this.partial = `${path}.partial`;
    this.rowWidth = baseRowWidth(header.vocabSize);
    if (header.tokens.length !== header.nChunk * header.nCtx) {
      throw new XentError(
        'invalid_argument',
        'kld',
        `base file ${path}: ${header.tokens.length} tokens given for ${header.nChunk} chunks of ${header.nCtx}`,
      );
    }
    if (resumeChunks > 0) {
      const keep = this.sizeAfter(resumeChunks);
      if (!existsSync(this.partial) || statSync(this.partial).size < keep) {
        throw new XentError(
          'incompatible',
          'kld',
          `cannot resume: ${this.partial} is missing or shorter than the checkpoint says (${keep} bytes); delete the checkpoint to start over`,
          { file: this.partial },
        );
      }
      truncateSync(this.partial, keep);
      this.fd = openSync(this.partial, 'a');
      this.rowsWritten = resumeChunks * rowsPerChunk(header.nCtx);
      return;
    }
    try {
      this.fd = openSync(this.partial, 'w');
    } catch (e) {
      throw new XentError(
        'invalid_file',
        'kld',
        `cannot write the base file ${this.partial} (${(e as NodeJS.ErrnoException).code})`,
        { file: path, arg: '--save-base' },
      );
    }
    const h = Buffer.alloc(20);
    h.write(MAGIC, 0, 'latin1');
    h.writeUInt32LE(header.nCtx, 8);
    h.writeInt32LE(header.vocabSize, 12);
    h.writeInt32LE(header.nChunk, 16);
    writeAll(this.fd, h);
    writeAll(this.fd, new Uint8Array(header.tokens.buffer, header.tokens.byteOffset, header.tokens.byteLength));
  }

  /** File size once `chunks` chunks are written (before the trailer). */
  sizeAfter(chunks: number): number {
    return 20 + 4 * this.header.tokens.length + chunks * rowsPerChunk(this.header.nCtx) * this.rowWidth * 2;
  }

  /** Makes the chunks written so far durable (before a checkpoint records them). */
  sync(): void {
    fsyncSync(this.fd);
  }

  /** Closes the partial file and leaves it for a resumed run. */
  suspend(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
  }

  /** Appends one chunk: rowsPerChunk(n_ctx) rows of rowWidth uint16. */
  writeChunk(rows: Uint16Array): void {
    const want = rowsPerChunk(this.header.nCtx) * this.rowWidth;
    if (rows.length !== want)
      throw new XentError('shape_mismatch', 'kld', `base file chunk has ${rows.length} uint16, expected ${want}`, {
        expected: want,
        actual: rows.length,
      });
    this.writeRows(rows);
  }

  /** Appends whole rows (rowWidth uint16 each), in order: a chunk may arrive in several runs. */
  writeRows(rows: Uint16Array): void {
    if (rows.length % this.rowWidth !== 0)
      throw new XentError(
        'shape_mismatch',
        'kld',
        `${rows.length} uint16 are not whole base-file rows of ${this.rowWidth}`,
        {
          expected: this.rowWidth,
          actual: rows.length,
        },
      );
    writeAll(this.fd, new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
    this.rowsWritten += rows.length / this.rowWidth;
  }

  private get chunksWritten(): number {
    return Math.floor(this.rowsWritten / rowsPerChunk(this.header.nCtx));
  }

  /** Writes the trailer, syncs and renames into place. */
  finish(meta: BaseFileMeta): void {
    if (this.chunksWritten !== this.header.nChunk) {
      throw new XentError(
        'interrupted',
        'kld',
        `base file ${this.path}: only ${this.chunksWritten} of ${this.header.nChunk} chunks were written`,
      );
    }
    const json = Buffer.from(JSON.stringify(meta), 'utf8');
    const tail = Buffer.alloc(12);
    tail.writeUInt32LE(json.length, 0);
    tail.write(TRAILER_MAGIC, 4, 'latin1');
    writeAll(this.fd, json);
    writeAll(this.fd, tail);
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.partial, this.path);
  }

  /** Closes and removes the partial file. */
  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    rmSync(this.partial, { force: true });
  }
}

/** Reads a base file written by llama.cpp or xent, one chunk at a time. */
export class BaseFileReader {
  readonly header: BaseFileHeader;
  readonly meta: BaseFileMeta | undefined;
  readonly rowWidth: number;
  private readonly fd: number;
  private readonly dataStart: number;

  constructor(readonly path: string) {
    const op = 'kld';
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new XentError(
        'invalid_file',
        op,
        code === 'ENOENT' ? `base file ${path} does not exist` : `cannot read base file ${path} (${code})`,
        { file: path, arg: '--base-file' },
      );
    }
    try {
      const size = fstatSync(this.fd).size;
      const h = Buffer.alloc(20);
      const got = readSync(this.fd, h, 0, 20, 0);
      if (got < 20 || h.toString('latin1', 0, 8) !== MAGIC) {
        throw new XentError(
          'invalid_file',
          op,
          `${path} is not a llama.cpp/xent base file: it does not start with "${MAGIC}"`,
          { file: path, arg: '--base-file', offset: 0 },
        );
      }
      const nCtx = h.readUInt32LE(8);
      const V = h.readInt32LE(12);
      const nChunk = h.readInt32LE(16);
      if (nCtx < 4 || V < 1 || nChunk < 1) {
        throw new XentError(
          'invalid_file',
          op,
          `${path}: implausible header n_ctx = ${nCtx}, n_vocab = ${V}, n_chunk = ${nChunk}`,
          { file: path, offset: 8 },
        );
      }
      this.rowWidth = baseRowWidth(V);
      const nTok = nChunk * nCtx;
      this.dataStart = 20 + 4 * nTok;
      const dataEnd = this.dataStart + nChunk * rowsPerChunk(nCtx) * this.rowWidth * 2;
      if (size < dataEnd) {
        throw new XentError(
          'invalid_file',
          op,
          `${path} is truncated: ${size} bytes, but its header (n_ctx ${nCtx}, n_vocab ${V}, ${nChunk} chunks) needs ${dataEnd}`,
          {
            file: path,
            expected: dataEnd,
            actual: size,
          },
        );
      }
      const tokens = new Int32Array(nTok);
      readSync(this.fd, new Uint8Array(tokens.buffer), 0, 4 * nTok, 20);
      this.header = { nCtx, vocabSize: V, nChunk, tokens };
      this.meta = readTrailer(this.fd, size, dataEnd);
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  /** Chunk i's rows: rowsPerChunk(n_ctx) × rowWidth uint16 (own buffer, 4-byte aligned rows). */
  readChunk(i: number): Uint16Array {
    return this.readRows(i, 0, rowsPerChunk(this.header.nCtx));
  }

  /** Rows r0 … r0+n−1 of chunk i, n × rowWidth uint16 (into `into` when given and large enough). */
  readRows(i: number, r0: number, n: number, into?: Uint16Array): Uint16Array {
    const len = n * this.rowWidth;
    const out = into && into.length >= len ? into.subarray(0, len) : new Uint16Array(len);
    const pos = this.dataStart + (i * rowsPerChunk(this.header.nCtx) + r0) * this.rowWidth * 2;
    const got = readSync(this.fd, new Uint8Array(out.buffer, out.byteOffset, len * 2), 0, len * 2, pos);
    if (got !== len * 2)
      throw new XentError('invalid_file', 'kld', `${this.path}: short read in chunk ${i + 1}`, {
        file: this.path,
        offset: pos,
      });
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function readTrailer(fd: number, size: number, dataEnd: number): BaseFileMeta | undefined {
  if (size < dataEnd + 12) return undefined;
  const tail = Buffer.alloc(12);
  readSync(fd, tail, 0, 12, size - 12);
  if (tail.toString('latin1', 4, 12) !== TRAILER_MAGIC) return undefined;
  const len = tail.readUInt32LE(0);
  if (dataEnd + len + 12 !== size) return undefined;
  const json = Buffer.alloc(len);
  readSync(fd, json, 0, len, dataEnd);
  try {
    const m = JSON.parse(json.toString('utf8')) as BaseFileMeta;
    return m?.format === 'xent-kld-base/1' ? m : undefined;
  } catch {
    return undefined;
  }
}
