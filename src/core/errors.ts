/**
 * Every error xent raises on purpose is an `XentError`: a stable machine-readable
 * `code`, the `op` (public function or CLI command) that refused the input, and
 * structured fields naming the argument, shape, row, value, file or line at fault.
 * Messages are written for people: `crossEntropy: target[3] = 12 is out of range [0, 10)`.
 */

export type XentErrorCode =
  /** An argument has the wrong type or an invalid value (e.g. labelSmoothing = 2). */
  | 'invalid_argument'
  /** Shapes of two arguments disagree, or a shape does not match its data length. */
  | 'shape_mismatch'
  /** A class index lies outside [0, V) and is not the ignore index. */
  | 'index_out_of_range'
  /** NaN (or +Infinity where not meaningful) in an input. */
  | 'non_finite'
  /** An input with no rows or no columns where the op needs some. */
  | 'empty_input'
  /** A file is missing, unreadable, truncated or not of the expected format. */
  | 'invalid_file'
  /** Text is not valid UTF-8, or a tokenizer cannot encode it. */
  | 'invalid_text'
  /** The input is too short for the requested evaluation. */
  | 'too_short'
  /** Two models, checkpoints or files that must match do not. */
  | 'incompatible'
  /** A feature needs an optional dependency that is not installed. */
  | 'missing_dependency'
  /** A remote endpoint answered badly or not at all. */
  | 'remote_error'
  /** A computation produced a non-finite value that must not be hidden. */
  | 'numerical_error'
  /** Work was interrupted (signal, abort). */
  | 'interrupted'
  /** A WebAssembly kernel trapped or aborted (a bug in xent or its memory use, not bad input). */
  | 'kernel_error';

export interface XentErrorFields {
  /** The argument at fault, as the caller spells it (e.g. 'target', '--ctx'). */
  arg?: string;
  /** Row (or position, chunk) index at fault. */
  row?: number;
  /** Column index at fault. */
  column?: number;
  /** The offending value. */
  value?: unknown;
  /** Expected and actual shapes, when shapes disagree. */
  expected?: unknown;
  actual?: unknown;
  /** File and 1-based line at fault. */
  file?: string;
  line?: number;
  /** Byte offset at fault (invalid UTF-8, corrupt file). */
  offset?: number;
  /** Anything else worth keeping for programmatic handling. */
  [key: string]: unknown;
}

export class XentError extends Error {
  override readonly name = 'XentError';
  readonly code: XentErrorCode;
  readonly op: string;
  readonly fields: XentErrorFields;

  constructor(
    code: XentErrorCode,
    op: string,
    message: string,
    fields: XentErrorFields = {},
    options?: { cause?: unknown },
  ) {
    super(`${op}: ${message}`, options);
    this.code = code;
    this.op = op;
    this.fields = fields;
  }

  toJSON(): { name: string; code: XentErrorCode; op: string; message: string; fields: XentErrorFields } {
    return { name: this.name, code: this.code, op: this.op, message: this.message, fields: this.fields };
  }
}

export function isXentError(e: unknown): e is XentError {
  return e instanceof XentError;
}
