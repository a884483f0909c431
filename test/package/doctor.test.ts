/**
 * `xent doctor` in the checkout: each line against its source of truth — Node's version, the
 * node-llama-cpp package's own package.json, the llama.cpp release it records and the commit
 * that `git bundle list-heads` reads from its source bundle, the row-statistics path the
 * binding reports, the WebAssembly build the kernels load here, the cores the OS reports;
 * exit codes for a deliberately disabled binding. (The install without a compiler, and the
 * installed package, are no-compiler.test.ts and pack-install.test.ts.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { enableRelaxedSimd } from '../../src/kernels/relaxed-simd.js';
import { kernelBuild, kernelsAvailable } from '../../src/kernels/runtime.js';
import { loadNativeBinding } from '../../src/models/gguf/gguf-native.js';
import { runCli } from '../helpers/cli.js';
import { requires } from '../helpers/requires.js';
import { REPO_ROOT } from '../helpers/shared.js';

const NLC = join(REPO_ROOT, 'node_modules', 'node-llama-cpp');
const skip = requires({ cli: true, native: true, files: [join(NLC, 'llama', 'gitRelease.bundle')] });

interface Check {
  id: string;
  status: string;
  detail: string;
  fix?: string;
  data?: Record<string, unknown>;
}

function doctor(env: Record<string, string> = {}): { code: number | null; checks: Map<string, Check>; ok: boolean } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'cli', 'main.js'), 'doctor', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  assert.equal(r.stderr, '');
  const j = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
  return { code: r.status, ok: j.ok, checks: new Map(j.checks.map((c) => [c.id, c])) };
}

test('every check is ok here, and each says what its source says', { skip }, () => {
  const { code, ok, checks } = doctor({ XENT_NATIVE: '' });
  assert.equal(code, 0);
  assert.equal(ok, true);
  assert.deepEqual(
    [...checks.keys()],
    ['node', 'xent', 'node-llama-cpp', 'llama.cpp', 'native', 'wasm-simd', 'relaxed-simd', 'worker-threads', 'cpu'],
  );
  for (const c of checks.values()) assert.equal(c.status, 'ok', JSON.stringify(c));
  assert.equal(checks.get('node')?.data?.version, process.version);
  assert.equal(checks.get('xent')?.data?.path, REPO_ROOT);
  const nlcVersion = (JSON.parse(readFileSync(join(NLC, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(checks.get('node-llama-cpp')?.data?.version, nlcVersion);
  const info = JSON.parse(readFileSync(join(NLC, 'llama', 'llama.cpp.info.json'), 'utf8')) as { tag: string };
  const heads = spawnSync('git', ['bundle', 'list-heads', join(NLC, 'llama', 'gitRelease.bundle')], {
    encoding: 'utf8',
  });
  assert.equal(heads.status, 0, heads.stderr);
  assert.equal(checks.get('llama.cpp')?.data?.tag, info.tag);
  assert.equal(checks.get('llama.cpp')?.data?.commit, heads.stdout.split(' ')[0]);
  const rowStats = loadNativeBinding()!.rowStats(new Float32Array(2), 2, Int32Array.of(0), new Float64Array(5), false);
  assert.equal(checks.get('native')?.data?.row_stats, rowStats);
  enableRelaxedSimd();
  assert.ok(kernelsAvailable());
  assert.equal(checks.get('wasm-simd')?.data?.build, kernelBuild());
  assert.equal(checks.get('cpu')?.data?.cores, availableParallelism());
});

test('XENT_NATIVE=0: the native line is a warning naming the switch, and the exit code stays 0', { skip }, () => {
  const { code, checks } = doctor({ XENT_NATIVE: '0' });
  assert.equal(code, 0);
  const native = checks.get('native');
  assert.equal(native?.status, 'warn');
  assert.match(native?.detail ?? '', /^disabled by XENT_NATIVE=0/);
  assert.equal(native?.fix, 'unset XENT_NATIVE');
});

test('the text form: one line per check and a closing line', { skip }, () => {
  const r = runCli(['doctor']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 10);
  for (const l of lines.slice(0, 9)) assert.match(l, /^ok {4}\S/);
  assert.equal(lines[9], 'everything is in order');
});
