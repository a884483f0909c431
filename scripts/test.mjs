#!/usr/bin/env node
// Runs the test suite with node:test (TypeScript through tsx).
//   npm test                 build, then every test/**/*.test.ts
//   npm test -- test/loss    only files under these paths (or matching these substrings)
// First the checks that need no build: Biome (format and lint, biome.json) and the type check of
// src, test, bench and examples (tsconfig.test.json); a failure stops the run.
// XENT_NO_BUILD=1 skips the build (for quick iterations on library-only tests); XENT_NO_LINT=1
// skips the two checks (CI never sets it).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('-'));

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = walk(join(root, 'test'), []);
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s.replace(/^\.\//, ''))));
if (files.length === 0) {
  console.error(`test: no test files match ${JSON.stringify(filters)}`);
  process.exit(1);
}

function step(label, args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`test: ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

if (!process.env.XENT_NO_LINT) {
  step('biome (format and lint; fix with `npx biome check --write .`)', [
    join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome'),
    'ci',
    '.',
  ]);
}

if (!process.env.XENT_NO_BUILD) {
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

if (!process.env.XENT_NO_LINT) {
  // After the build: the tests import the generated WebAssembly modules.
  step('type check (tsconfig.test.json)', [
    join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.test.json',
  ]);
}

const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    './test/helpers/fast-check-seed.ts',
    '--test',
    '--test-concurrency=2',
    ...passthrough,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, XENT_REPO_ROOT: root } },
);
process.exit(r.status ?? 1);
