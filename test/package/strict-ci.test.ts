/**
 * The skip policy end to end, through `scripts/test.mjs` on a real test file with ../shared
 * pointed at an empty place (XENT_SHARED): locally the tests skip and the run ends with one
 * line naming what was skipped and why; under CI the same run fails, with a failing test that
 * names the missing file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '../helpers/shared.js';

const empty = mkdtempSync(join(tmpdir(), 'xent-no-shared-'));
after(() => rmSync(empty, { recursive: true, force: true }));

function runSuite(ci: string): { code: number | null; stdout: string; stderr: string } {
  // A test run started inside a test: node:test's marker for its own children must not leak in.
  const env: NodeJS.ProcessEnv = { ...process.env, CI: ci, XENT_SHARED: empty, XENT_NO_BUILD: '1', XENT_NO_LINT: '1' };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'test.mjs'), 'test/models/gguf-header.test.ts'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env,
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('locally: the tests that need ../shared skip, and one closing line says which and why', () => {
  const r = runSuite('');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const last = r.stderr.trimEnd().split('\n').at(-1);
  assert.equal(last, 'test: 3 tests in 1 file skipped: needs ../shared/models/stories260K.gguf (×3)');
});

test('under CI: the same run fails, and a failing test names what is missing', () => {
  const r = runSuite('true');
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /^not ok \d+ - CI requires \.\.\/shared\/models\/stories260K\.gguf$/m);
  assert.match(r.stderr, /^test: under CI nothing may be skipped, and 3 tests in 1 file skipped: /m);
});
