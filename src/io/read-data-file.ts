/**
 * Reading a text file named on the command line (`--data`): the bytes, or an XentError
 * naming the file when it is missing or unreadable, or not valid UTF-8 (with the byte
 * offset, src/core/utf8.ts). Node-only; the UTF-8 check itself is browser-safe.
 */
import { readFileSync } from 'node:fs';
import { XentError } from '../core/errors.js';
import { assertUtf8 } from '../core/utf8.js';

export function readDataFile(op: string, file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new XentError(
      'invalid_file',
      op,
      code === 'ENOENT' ? `data file ${file} does not exist` : `cannot read data file ${file} (${code})`,
      { file, arg: '--data' },
    );
  }
  assertUtf8(op, bytes, file);
  return bytes;
}
