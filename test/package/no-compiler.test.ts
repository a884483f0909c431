/**
 * An installed package whose install found no C compiler: scripts/build-native.mjs records
 * why and exits 0 (exit 1 under XENT_NATIVE=require); then each GGUF command says once on
 * stderr that it runs on node-llama-cpp's probability Map, how much slower, and the fix; the
 * figures are still llama-perplexity's (../shared/reference/README.md); XENT_NATIVE=require
 * refuses the fallback; `xent doctor` warns (exit 0), or fails under XENT_NATIVE=require.
 *
 * The install is simulated: the checkout's dist/, native/ and build script with package.json
 * in a temporary folder (no src/: the layout of an installed package), node_modules linked to
 * the checkout's, and the build script run with no compiler on PATH.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { failsWith } from '../helpers/cli.js';
import { requires } from '../helpers/requires.js';
import { REPO_ROOT, sharedPath } from '../helpers/shared.js';

const GPL = '/usr/share/common-licenses/GPL-3';
const skip = requires({
  shared: ['models/stories260K.gguf', 'models/stories260K-bf16.gguf', 'data/tinystories_valid_600k.txt'],
  cli: true,
  files: [GPL, join(REPO_ROOT, 'node_modules', 'node-llama-cpp', 'package.json')],
});
const work = mkdtempSync(join(tmpdir(), 'xent-nocc-'));
const pkg = join(work, 'xent');
after(() => rmSync(work, { recursive: true, force: true }));

/** The environment of a user who set nothing (CI's XENT_NATIVE=require removed), plus `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, CI: '1', ...extra };
  if (!('XENT_NATIVE' in extra)) delete e.XENT_NATIVE;
  return e;
}

function xent(args: string[], extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [join(pkg, 'dist', 'cli', 'main.js'), ...args], {
    encoding: 'utf8',
    env: env(extra),
    timeout: 300_000,
  });
}

let build: SpawnSyncReturns<string> | undefined;
let buildRequired: SpawnSyncReturns<string> | undefined;
before(() => {
  if (skip) return;
  mkdirSync(join(pkg, 'scripts'), { recursive: true });
  cpSync(join(REPO_ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  cpSync(join(REPO_ROOT, 'native'), join(pkg, 'native'), { recursive: true });
  cpSync(join(REPO_ROOT, 'scripts', 'build-native.mjs'), join(pkg, 'scripts', 'build-native.mjs'));
  cpSync(join(REPO_ROOT, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  // No compiler: PATH holds nothing (the script itself runs on this Node), CC is unset.
  const script = [join(pkg, 'scripts', 'build-native.mjs')];
  const noCc = { PATH: join(work, 'empty-path'), CC: '' };
  buildRequired = spawnSync(process.execPath, script, {
    encoding: 'utf8',
    env: env({ ...noCc, XENT_NATIVE: 'require' }),
  });
  build = spawnSync(process.execPath, script, { encoding: 'utf8', env: env(noCc) });
});

const WARNING =
  /^xent: warning: the native GGUF engine is unavailable \(the native binding was not built: no C compiler \(cc, gcc or clang\) on PATH\), so this model \(V = 512\) runs on node-llama-cpp's probability Map: the same figures, ~60× slower at V = 32000\. Fix: install a C compiler and git \(Debian\/Ubuntu: `apt-get install build-essential git`.*\), then `npm rebuild xent`; `xent doctor` checks the install\.$/;

test('the build script records why it built nothing and exits 0; under XENT_NATIVE=require it fails', { skip }, () => {
  assert.equal(buildRequired?.status, 1, buildRequired?.stderr);
  assert.match(buildRequired?.stderr ?? '', /no C compiler .* \(fatal: XENT_NATIVE=require\)/);
  assert.equal(build?.status, 0, build?.stderr);
  assert.ok(!existsSync(join(pkg, 'build', 'native', 'xent-llama.node')));
  const recorded = JSON.parse(readFileSync(join(pkg, 'build', 'native', 'unavailable.json'), 'utf8')) as {
    reason: string;
    fix: string;
  };
  assert.equal(recorded.reason, 'no C compiler (cc, gcc or clang) on PATH');
  assert.match(recorded.fix, /then `npm rebuild xent`$/);
});

test("xent eval warns once, with the slowdown and the fix, and still prints llama-perplexity's figures", {
  skip,
}, () => {
  const r = xent(
    ['eval', '--model', sharedPath('models', 'stories260K.gguf')!, '--data', GPL, '--ctx', '128'].concat([
      '--chunks',
      '20',
      '--threads',
      '1',
      // the mode llama-perplexity printed the reference figure in
      '--flash-attn',
      'off',
    ]),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Final estimate: PPL = 83\.7522 \+\/- 8\.02147/);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, WARNING);
  const j = xent(
    ['eval', '--model', sharedPath('models', 'stories260K.gguf')!, '--data', GPL, '--ctx', '128'].concat([
      '--chunks',
      '2',
      '--json',
    ]),
  );
  assert.equal(j.status, 0, j.stderr);
  assert.equal((JSON.parse(j.stdout) as { engine: string }).engine, 'map');
});

test('two GGUF models in one command: the warning comes once; an explicit --engine map gives none', { skip }, () => {
  const text = join(work, 'tiny9k.txt');
  writeFileSync(text, readFileSync(sharedPath('data', 'tinystories_valid_600k.txt')!).subarray(0, 9_000));
  const models = [sharedPath('models', 'stories260K.gguf')!, sharedPath('models', 'stories260K-bf16.gguf')!];
  const r = xent(['compare', '--models', ...models, '--data', text, '--ctx', '128', '--threads', '1', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('xent: warning:'));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0]!, WARNING);
  const m = xent([
    'compare',
    '--models',
    ...models,
    '--data',
    text,
    '--ctx',
    '128',
    '--threads',
    '1',
    '--engine',
    'map',
  ]);
  assert.equal(m.status, 0, m.stderr);
  assert.doesNotMatch(m.stderr, /warning/);
});

test('XENT_NATIVE=require: the GGUF loader refuses the fallback in one line', { skip }, () => {
  const r = xent(
    ['eval', '--model', sharedPath('models', 'stories260K.gguf')!, '--data', GPL, '--ctx', '128', '--chunks', '2'],
    { XENT_NATIVE: 'require' },
  );
  failsWith(
    { code: r.status, stderr: r.stderr },
    /^xent: loadGgufModel: XENT_NATIVE=require, and the native GGUF engine is unavailable: the native binding was not built: no C compiler \(cc, gcc or clang\) on PATH\. Fix: install a C compiler/,
  );
});

test('xent doctor: the missing binding is a warning with the fix (exit 0); under XENT_NATIVE=require an error (exit 1)', {
  skip,
}, () => {
  const r = xent(['doctor']);
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^warn +native binding +the native binding was not built: no C compiler/m);
  assert.match(r.stdout, /^ +fix: install a C compiler and git .*then `npm rebuild xent`$/m);
  assert.match(r.stdout, /^ok +node-llama-cpp +3\.21\.1/m);
  assert.match(r.stdout, /^no errors, 1 warning$/m);
  const q = xent(['doctor', '--json'], { XENT_NATIVE: 'require' });
  assert.equal(q.status, 1, q.stderr);
  const j = JSON.parse(q.stdout) as { ok: boolean; exit_code: number; checks: Array<{ id: string; status: string }> };
  assert.equal(j.ok, false);
  assert.equal(j.exit_code, 1);
  assert.deepEqual(
    j.checks.filter((c) => c.status === 'error').map((c) => c.id),
    ['native'],
  );
});
