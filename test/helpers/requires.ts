/**
 * The one place that decides what a test does when something outside the repository is
 * missing: files under ../shared, the native binding (build/native/xent-llama.node), Chromium,
 * the built CLI, or a system file.
 *
 *   test('…', { skip: requires({ shared: ['models/stories260K.gguf'], native: true }) }, …)
 *
 * Locally it returns the reason to skip (false when everything is there), and scripts/test.mjs
 * prints one line at the end of `npm test` listing what was skipped and why. Under CI (CI set,
 * as .ci/run does) nothing may be missing: for each missing thing the file gets one failing
 * test that names it, and scripts/test.mjs fails the run on any skip. So a broken native
 * build, a missing model or a missing browser can never pass as a skipped test.
 */
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { loadNativeBinding, nativeUnavailableFix, nativeUnavailableReason } from '../../src/models/gguf/gguf-native.js';
import { CLI, SHARED_DIR } from './shared.js';

export interface Needs {
  /** Paths under ../shared, e.g. 'models/stories260K.gguf'. */
  shared?: string[];
  /** The native binding loads (the GGUF fast path). */
  native?: boolean;
  /** The built CLI (dist/cli/main.js), which `npm test` builds first. */
  cli?: boolean;
  /** A headless Chromium at this path (the browser tests drive it through playwright-core). */
  chromium?: string;
  /** Other files: system files such as /usr/share/common-licenses/GPL-3, or build outputs. */
  files?: string[];
}

/** CI=true (or any value but '', 'false' and '0'): missing requirements fail. */
export const UNDER_CI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

const failed = new Set<string>();

/** What is missing, one phrase each. */
export function missing(needs: Needs): string[] {
  const out: string[] = [];
  const absent = (needs.shared ?? []).filter((p) => !existsSync(`${SHARED_DIR}/${p}`));
  if (absent.length) out.push(`../shared/${absent.length === 1 ? absent[0] : `{${absent.join(', ')}}`}`);
  if (needs.cli && !existsSync(CLI)) out.push('the built CLI (npm run build)');
  if (needs.chromium && !existsSync(needs.chromium))
    out.push(`Chromium at ${needs.chromium} (apt-get install -y chromium)`);
  for (const f of needs.files ?? []) if (!existsSync(f)) out.push(f);
  if (needs.native && !loadNativeBinding())
    out.push(`the native binding (${nativeUnavailableReason()}; fix: ${nativeUnavailableFix()})`);
  return out;
}

/** For `{ skip: requires(…) }`: false when everything is there, else the reason (and under CI, a failing test). */
export function requires(needs: Needs): false | string {
  const gone = missing(needs);
  if (gone.length === 0) return false;
  if (UNDER_CI) {
    for (const what of gone) {
      if (failed.has(what)) continue;
      failed.add(what);
      test(`CI requires ${what}`, () => {
        throw new Error(`${what} is missing: under CI a test that needs it fails instead of skipping`);
      });
    }
  }
  return `needs ${gone.join(', ')}`;
}

/** `requires({ shared: [parts joined by '/'] })`: `skipUnlessShared('models', 'x.gguf')`. */
export function skipUnlessShared(...parts: string[]): false | string {
  return requires({ shared: [parts.join('/')] });
}
