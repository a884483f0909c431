/** Running the built CLI from tests, and the error contract every command keeps. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CLI } from './shared.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node dist/cli/main.js …args` with CI=1 (no progress bars), output captured. */
export function runCli(args: string[], cwd?: string): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
    maxBuffer: 1 << 26,
    ...(cwd ? { cwd } : {}),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Bad input: exit code 2 and exactly one stderr line `xent: …` matching `re`, no stack trace. */
export function failsWith(r: { code: number | null; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0]!, /^xent: /);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}
