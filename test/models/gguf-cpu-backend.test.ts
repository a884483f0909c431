/**
 * The CPU build of llama.cpp the binding loads: the one llama.cpp's own scan of
 * node-llama-cpp's builds picks (ggml_backend_load_all_from_path), taken at start from what
 * scripts/build-native.mjs recorded while the CPU's cpuid signature is the recorded one
 * (native/cpu-backend.h). Each case is a fresh process: backends load once per process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NATIVE_FILES } from '../../src/models/gguf/gguf-native.js';
import { requires } from '../helpers/requires.js';

const skip = requires({ native: true });

/** In a fresh process: init(libDir, false, cpuModule) on the binding, then cpuBackend() and stderr. */
function initWith(cpuModule: string | null): { signature: string; module: string; stderr: string } {
  const { libDir } = JSON.parse(readFileSync(NATIVE_FILES.meta, 'utf8')) as { libDir: string };
  const probe = `const b = require(${JSON.stringify(NATIVE_FILES.binding)});
b.init(${JSON.stringify(libDir)}, false, ${JSON.stringify(cpuModule)});
process.stdout.write(JSON.stringify(b.cpuBackend()));`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { ...(JSON.parse(r.stdout) as { signature: string; module: string }), stderr: r.stderr };
}

/** In a fresh process: what loadNativeBinding() loaded. */
function loadedByXent(): string {
  const url = new URL('../../src/models/gguf/gguf-native.ts', import.meta.url).href;
  const probe = `const g = await import(${JSON.stringify(url)}); process.stdout.write(g.loadNativeBinding().cpuBackend().module);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("the recorded CPU build is llama.cpp's own choice on this CPU, and the one loadNativeBinding loads", {
  skip,
}, () => {
  const scan = initWith(null);
  assert.match(scan.module, /ggml-cpu/, 'the scan loaded a CPU build');
  const meta = JSON.parse(readFileSync(NATIVE_FILES.meta, 'utf8')) as { cpu?: { signature: string; module: string } };
  // x86: a signature of the cpuid words; elsewhere none is recorded and every start scans.
  if (process.arch === 'x64') {
    assert.ok(meta.cpu, 'scripts/build-native.mjs recorded the CPU build');
    assert.equal(meta.cpu.signature, scan.signature, 'recorded for this CPU');
    assert.equal(meta.cpu.module, scan.module, "recorded: llama.cpp's choice");
  }
  assert.equal(loadedByXent(), scan.module);
});

test('a recorded CPU build that is gone falls back to the scan, silently; a given one is the one loaded', {
  skip,
}, () => {
  const scan = initWith(null);
  const gone = initWith(join(NATIVE_FILES.binding, '..', 'libggml-cpu-gone.so'));
  assert.equal(gone.module, scan.module);
  assert.equal(gone.stderr, '');
  // Any build this CPU runs is taken as given (the baseline x64 one runs everywhere).
  const { libDir } = JSON.parse(readFileSync(NATIVE_FILES.meta, 'utf8')) as { libDir: string };
  const baseline = join(libDir, process.platform === 'linux' ? 'libggml-cpu-x64.so' : 'ggml-cpu-x64.dll');
  if (process.arch === 'x64') assert.equal(initWith(baseline).module, baseline);
});
