#!/usr/bin/env node
// Builds xent from source: every scripts/build-*.mjs step (WebAssembly kernels,
// optional native binding, generated modules) in name order, then TypeScript.
// Runs on `npm ci` (prepare) and before `npm test`; no prebuilt binary is fetched.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const steps = readdirSync(join(root, 'scripts'))
  .filter((f) => /^build-.*\.mjs$/.test(f))
  .sort();

function run(label, cmd, args) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: step '${label}' failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  if (process.env.XENT_BUILD_VERBOSE) console.error(`build: ${label} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

for (const s of steps) run(s, process.execPath, [join('scripts', s)]);
run('tsc', process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
