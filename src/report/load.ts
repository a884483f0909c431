/**
 * Reads saved results back for `xent report`: each file's kind is detected from its
 * content (not its name): a JSON object is an eval, train-curves, compare or kld
 * result (see `detectKind`); JSON Lines of token records, or a JSON array of them,
 * are per-token records. Invalid UTF-8 in a file is decoded as U+FFFD and shown as such.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { XentError } from '../core/errors.js';
import { detectKind, type InputKind } from '../results/schema.js';
import type { ReportSection } from './sections.js';

function parseLine(line: string, file: string, n: number): unknown {
  try {
    return JSON.parse(line);
  } catch (e) {
    throw new XentError('invalid_file', 'report', `${file} line ${n}: not valid JSON (${(e as Error).message})`, {
      file,
      line: n,
    });
  }
}

/** Parses one input file's text into a report section. `name` is used in messages and captions. */
export function sectionFromText(text: string, name: string): ReportSection {
  const body = text.replace(/^\ufeff/, '');
  if (body.trim() === '') throw new XentError('empty_input', 'report', `${name} is empty`, { file: name });
  let whole: unknown;
  let isJson = true;
  try {
    whole = JSON.parse(body);
  } catch {
    isJson = false;
  }
  if (isJson && Array.isArray(whole)) {
    if (whole.length === 0 || detectKind(whole[0]) !== 'tokens') {
      throw new XentError(
        'invalid_file',
        'report',
        `${name}: a JSON array must hold token records ({ position, token, text, nats, … })`,
        { file: name },
      );
    }
    return { kind: 'tokens', records: whole as never, source: name };
  }
  if (isJson) {
    const kind = detectKind(whole);
    if (kind === undefined) throw unknown(name);
    return toSection(kind, whole, name, [whole]);
  }
  // JSON Lines: one token record per non-empty line.
  const records: unknown[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const rec = parseLine(line, name, i + 1);
    if (records.length === 0 && detectKind(rec) !== 'tokens') throw unknown(name);
    records.push(rec);
  }
  return { kind: 'tokens', records: records as never, source: name };
}

function unknown(name: string): XentError {
  return new XentError(
    'invalid_file',
    'report',
    `${name}: not a result xent knows (expected the JSON of eval/compare/kld --json, training curves, or token records from eval --tokens)`,
    { file: name },
  );
}

function toSection(kind: InputKind, v: unknown, name: string, records: unknown[]): ReportSection {
  switch (kind) {
    case 'eval':
      return { kind, result: v as never, source: name };
    case 'train':
      return { kind, curves: v as never, source: name };
    case 'compare':
      return { kind, result: v as never, source: name };
    case 'kld':
      return { kind, result: v as never, source: name };
    case 'tokens':
      return { kind, records: records as never, source: name };
  }
}

/** Reads and parses each file (validation happens when the report is built). */
export function loadInputs(paths: readonly string[]): ReportSection[] {
  return paths.map((p) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? (e as Error).message);
      throw new XentError('invalid_file', 'report', `cannot read ${p}: ${why}`, { file: p }, { cause: e });
    }
    return sectionFromText(new TextDecoder('utf-8', { fatal: false }).decode(bytes), basename(p));
  });
}
