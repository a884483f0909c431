/** Shared by test/metrics: tolerance checks, the reference-case file and error matchers. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XentError } from '../../src/core/errors.js';

export const DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'data');

/** |a − b| ≤ tol·max(1, |b|); NaN equals NaN. */
export function close(a: number, b: number, tol = 1e-12, what = ''): void {
  if (Number.isNaN(a) && Number.isNaN(b)) return;
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what} ${a} vs ${b}`);
}

export function closeArray(a: readonly number[], b: readonly number[], tol = 1e-12, what = ''): void {
  assert.equal(a.length, b.length, `${what} length`);
  a.forEach((x, i) => {
    close(x, b[i] as number, tol, `${what}[${i}]`);
  });
}

export const isCode =
  (code: string, re?: RegExp) =>
  (e: unknown): boolean =>
    e instanceof XentError && e.code === code && (re === undefined || re.test(e.message));

/** test/metrics/data/reference-cases.json, written by make_reference_cases.py from the Python anchors. */
// biome-ignore lint/suspicious/noExplicitAny: the reference JSON is read field by field, each test checks the shape it uses
export const REF: any = JSON.parse(readFileSync(join(DATA_DIR, 'reference-cases.json'), 'utf8'));
