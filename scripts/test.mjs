#!/usr/bin/env node
// Runs the test suite with node:test (TypeScript through tsx).
//   npm test                 build, then every test/**/*.test.ts
//   npm test -- test/loss    only files under these paths (or matching these substrings)
// First the checks that need no build: Biome (format and lint, biome.json) and the type check of
// src, test, bench and examples (tsconfig.test.json); a failure stops the run.
// XENT_NO_BUILD=1 skips the build (for quick iterations on library-only tests); XENT_NO_LINT=1
// skips the two checks (CI never sets it).
// At the end, one line lists the skipped tests and why (test/helpers/requires.ts gives the
// reasons; scripts/test-skip-reporter.mjs collects them). Under CI (CI set) any skip fails the run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

// The visible reporter is node's default (spec on a terminal, tap otherwise); the skip reporter
// writes beside it. A --test-reporter of the caller's own replaces both.
const ownReporter = passthrough.some((a) => a.startsWith('--test-reporter'));
const skipLog = join(tmpdir(), `xent-test-skips-${process.pid}.jsonl`);
const reporters = ownReporter
  ? []
  : [
      `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts', 'test-skip-reporter.mjs')}`,
      `--test-reporter-destination=${skipLog}`,
    ];

const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    './test/helpers/fast-check-seed.ts',
    '--test',
    '--test-concurrency=2',
    ...reporters,
    ...passthrough,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, XENT_REPO_ROOT: root } },
);

/** One line: how many tests were skipped, in how many files, and each reason with its count. */
function skipSummary() {
  if (!existsSync(skipLog)) return undefined;
  const skips = readFileSync(skipLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  rmSync(skipLog, { force: true });
  if (skips.length === 0) return undefined;
  const byReason = new Map();
  for (const s of skips) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
  const files = new Set(skips.map((s) => s.file)).size;
  const reasons = [...byReason].map(([reason, n]) => `${reason} (×${n})`).join('; ');
  return `${skips.length} test${skips.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'} skipped: ${reasons}`;
}

const summary = skipSummary();
const ci = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
if (summary && ci) {
  console.error(`test: under CI nothing may be skipped, and ${summary}`);
  process.exit(r.status || 1);
}
if (summary) console.error(`test: ${summary}`);
process.exit(r.status ?? 1);
