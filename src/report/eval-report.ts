/**
 * `xent eval --report out.html`: the report of one evaluation, built from exactly
 * what `--json` prints (round-tripped through JSON, so non-finite figures become
 * absent as they would in a saved file) and the per-token records: read back from
 * the finished `--tokens` file when there is one (it also covers chunks scored before
 * a resume), else the records this run collected in memory. Node only.
 */
import { basename } from 'node:path';
import type { ReportMeta } from './html.js';
import { loadInputs } from './load.js';
import type { ReportSection } from './sections.js';
import { writeReport } from './write.js';

export interface EvalReportOptions {
  /** The command line, shown under the title. */
  command?: string;
  /** A complete `--tokens` JSONL file to read the per-token records from. */
  tokensFile?: string;
  /** Otherwise, the per-token records collected during the run (xent eval's TokenRecord). */
  records?: readonly unknown[];
  /** Set when the run was interrupted: the report says the figures are partial. */
  interrupted?: boolean;
  tokensPerPage?: number;
  maxTokens?: number;
}

/** The sections and meta of an eval report (exported for tests and other commands). */
export function evalReportInputs(
  result: Record<string, unknown>,
  opts: EvalReportOptions = {},
): { sections: ReportSection[]; meta: ReportMeta } {
  const saved = JSON.parse(JSON.stringify(result)) as Record<string, unknown>;
  const sections: ReportSection[] = [{ kind: 'eval', result: saved as never, source: 'xent eval' }];
  if (opts.tokensFile !== undefined) sections.push(...loadInputs([opts.tokensFile]));
  else if (opts.records && opts.records.length > 0) {
    sections.push({ kind: 'tokens', records: opts.records as never, source: 'xent eval (this run)' });
  }
  const model = typeof saved.model === 'string' ? basename(saved.model) : 'model';
  const data = typeof saved.data === 'string' ? basename(saved.data) : 'text';
  const meta: ReportMeta = {
    title: `xent eval: ${model} on ${data}${opts.interrupted ? ' (interrupted: partial figures)' : ''}`,
    ...(opts.command !== undefined ? { command: opts.command } : {}),
    ...(opts.tokensPerPage !== undefined ? { tokensPerPage: opts.tokensPerPage } : {}),
    ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
  };
  return { sections, meta };
}

/** Writes the eval report atomically; returns the number of bytes written. */
export function writeEvalReport(path: string, result: Record<string, unknown>, opts: EvalReportOptions = {}): number {
  const { sections, meta } = evalReportInputs(result, opts);
  return writeReport(path, sections, meta);
}
