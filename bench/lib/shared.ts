/**
 * Where the benchmarks find the repository and `../shared` (models, data, the PyTorch
 * scripts): `XENT_SHARED` overrides the location. Benchmarks need `../shared`; a missing
 * file is the caller's error to report.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED_DIR = resolve(process.env.XENT_SHARED ?? join(REPO_ROOT, '..', 'shared'));

/** Absolute path of a file under ../shared, or undefined when it is absent. */
export function sharedPath(...parts: string[]): string | undefined {
  const p = join(SHARED_DIR, ...parts);
  return existsSync(p) ? p : undefined;
}
