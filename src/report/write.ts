/**
 * `writeReport(path, sections, meta)`: builds the report and writes it atomically
 * (Node only; `buildReport` itself has no Node import).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { XentError } from '../core/errors.js';
import { atomicWriteFileSync } from '../io/atomic-write.js';
import { buildReport, type ReportMeta } from './html.js';
import type { ReportSection } from './sections.js';

/** Writes the report to `path`; returns the number of bytes written. */
export function writeReport(path: string, sections: readonly ReportSection[], meta: ReportMeta = {}): number {
  const html = buildReport(sections, meta);
  const bytes = Buffer.from(html, 'utf8');
  try {
    atomicWriteFileSync(path, bytes);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new XentError(
      'invalid_file',
      'report',
      `cannot write ${path}: ${err.code ?? err.message}`,
      { file: path },
      { cause: e },
    );
  }
  return bytes.length;
}

/**
 * Checks, before a long job starts, that a report can be written to `path`: its
 * folder exists and `path` is not a folder. `op` and `arg` name the command and flag.
 */
export function checkReportPath(op: string, arg: string, path: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new XentError('invalid_argument', op, `${arg} ${path}: folder ${dir} does not exist`, { arg, file: path });
  if (existsSync(path) && statSync(path).isDirectory())
    throw new XentError('invalid_argument', op, `${arg} ${path} is a folder, not a file`, { arg, file: path });
}
