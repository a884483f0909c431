/**
 * Locates `../shared` (models, data, fixtures, reference figures) for tests.
 * The product never needs it; tests that do declare it with `requires({ shared: […] })`
 * (test/helpers/requires.ts: a skip locally, a failure under CI). XENT_SHARED overrides the location.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DIR = resolve(process.env.XENT_SHARED ?? join(REPO_ROOT, '..', 'shared'));

/** Absolute path of a file under ../shared, or undefined when it is absent. */
export function sharedPath(...parts: string[]): string | undefined {
  const p = join(SHARED_DIR, ...parts);
  return existsSync(p) ? p : undefined;
}

/** The built CLI, as users run it after `npm ci`. */
export const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
