#!/usr/bin/env node
// `npm run bench -- <suite> [args]`: runs bench/<suite>.ts (xent beside its anchor,
// PyTorch or llama.cpp, in one run) after making sure the build is current.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const suites = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const [suite, ...args] = process.argv.slice(2);
if (!suite || !suites.includes(suite)) {
  console.error(`usage: npm run bench -- <suite> [args]\nsuites: ${suites.join(', ')}`);
  process.exit(suite ? 2 : 0);
}
if (!process.env.XENT_NO_BUILD || !existsSync(join(root, 'dist'))) {
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', `${suite}.ts`), ...args], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
