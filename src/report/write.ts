/**
 * `writeReport(path, sections, meta)`: builds the report and writes it atomically
 * (Node only; `buildReport` itself has no Node import).
 */
import { XentError } from '../errors.js';
import { atomicWriteFileSync } from '../util/fs.js';
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
    throw new XentError('invalid_file', 'report', `cannot write ${path}: ${err.code ?? err.message}`, { file: path }, { cause: e });
  }
  return bytes.length;
}
