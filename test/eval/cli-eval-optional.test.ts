/**
 * Installed with --omit=optional (no node-llama-cpp, hence no native binding either):
 * `xent eval` must say how to enable GGUF support. Simulated by disabling the binding
 * (XENT_NATIVE=0) and making `node-llama-cpp` unresolvable with a module-resolution hook.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { requires } from '../helpers/requires.js';
import { CLI, sharedPath } from '../helpers/shared.js';

const MODEL = sharedPath('models', 'stories260K.gguf');
const dir = mkdtempSync(join(tmpdir(), 'xent-omit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('without node-llama-cpp, xent eval explains how to enable GGUF support', {
  skip: requires({ shared: ['models/stories260K.gguf'], cli: true }),
}, () => {
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `export async function resolve(spec, ctx, next) {
  if (spec === 'node-llama-cpp' || spec.startsWith('@node-llama-cpp/')) { const e = new Error("Cannot find package '" + spec + "'"); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; }
  return next(spec, ctx);
}\n`,
  );
  const reg = join(dir, 'register.mjs');
  writeFileSync(
    reg,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      pathToFileURL(reg).href,
      CLI,
      'eval',
      '--model',
      MODEL!,
      '--data',
      '/usr/share/common-licenses/GPL-3',
      '--ctx',
      '128',
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, XENT_NATIVE: '0', CI: '1' },
    },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(
    r.stderr,
    /^xent: loadGgufModel: GGUF support needs the optional dependency node-llama-cpp: install it with `npm install -E node-llama-cpp@3\.21\.1`/,
  );
});
