/**
 * The package as a user installs it: `npm pack`, the tarball installed into an empty project
 * (scripts/install-packed.mjs: `npm ci` from npm's cache, the checkout's versions), then what
 * a user does first. Checks that the install built the native binding there (against that
 * project's node-llama-cpp, not copied from the checkout); that `xent` and `xent/tfjs` types
 * compile under tsc --strict with nodenext resolution and the ESM import runs; that
 * `xent eval` on llama-2-tiny-random (V = 32000) runs on the native engine with no fallback
 * warning; that the installed package reproduces llama-perplexity's printed figures
 * (../shared/reference/README.md: stories260K, GPL-3, ctx 128, --chunks 20); that
 * `xent doctor` passes. Under CI (XENT_NATIVE=require) a failed native build fails the install.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadNativeBinding } from '../../src/models/gguf/gguf-native.js';
import { requires } from '../helpers/requires.js';
import { REPO_ROOT, sharedPath } from '../helpers/shared.js';

const GPL = '/usr/share/common-licenses/GPL-3';
const skip = requires({
  shared: ['models/llama-2-tiny-random.gguf', 'models/stories260K.gguf', 'data/tinystories_valid_600k.txt'],
  cli: true,
  native: true,
  files: [GPL],
});
const work = mkdtempSync(join(tmpdir(), 'xent-pack-'));
const project = join(work, 'project');
const installed = join(project, 'node_modules', 'xent');
after(() => rmSync(work, { recursive: true, force: true }));

/** The user's environment: none of npm's variables from the `npm test` that runs this file. */
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'),
) as NodeJS.ProcessEnv;

function sh(cmd: string, args: string[], timeoutMs = 120_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, {
    cwd: project,
    encoding: 'utf8',
    env: { ...userEnv, CI: '1' },
    timeout: timeoutMs,
    maxBuffer: 1 << 26,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let install: { code: number | null; stdout: string; stderr: string } | undefined;
before(() => {
  if (skip) return;
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'install-packed.mjs'), project], {
    encoding: 'utf8',
    env: userEnv,
    timeout: 480_000,
    maxBuffer: 1 << 26,
  });
  install = { code: r.status, stdout: r.stdout, stderr: r.stderr };
});

test('the tarball installs, and its install script builds the native binding in the new project', {
  skip,
  timeout: 600_000,
}, () => {
  assert.equal(install?.code, 0, `install-packed:\n${install?.stderr}`);
  // Shipped: the built JavaScript and the binding's sources; not shipped: TypeScript sources, a built binding.
  assert.ok(existsSync(join(installed, 'dist', 'cli', 'main.js')));
  assert.ok(existsSync(join(installed, 'native', 'xent-llama.c')));
  assert.ok(existsSync(join(installed, 'scripts', 'build-native.mjs')));
  assert.ok(!existsSync(join(installed, 'src')));
  assert.ok(existsSync(join(installed, 'build', 'native', 'xent-llama.node')), install?.stderr);
  assert.ok(!existsSync(join(installed, 'build', 'native', 'unavailable.json')));
  const meta = JSON.parse(readFileSync(join(installed, 'build', 'native', 'xent-llama.json'), 'utf8')) as {
    libDir: string;
  };
  assert.ok(meta.libDir.startsWith(join(project, 'node_modules', '@node-llama-cpp')), `linked against ${meta.libDir}`);
});

test('`import … from "xent"` and `xent/tfjs` types compile under tsc --strict (nodenext), and the import runs', {
  skip,
}, () => {
  assert.equal(install?.code, 0, 'the install failed (see the test above)');
  // xent/tfjs's types import @tensorflow/tfjs, the peer dependency a user of that subpath installs;
  // linked from the checkout (the same version) rather than copied (270 MB).
  symlinkSync(join(REPO_ROOT, 'node_modules', '@tensorflow'), join(project, 'node_modules', '@tensorflow'), 'dir');
  // xent's own declarations are checked in full (skipLibCheck off); tfjs's are not strict-clean
  // (tfjs-layers under strictNullChecks), so the xent/tfjs check skips library files, as its users must.
  const compilerOptions = {
    strict: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    outDir: 'out',
    types: [],
  };
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['check.ts'] }));
  writeFileSync(
    join(project, 'tsconfig.tfjs.json'),
    JSON.stringify({ compilerOptions: { ...compilerOptions, skipLibCheck: true }, files: ['check-tfjs.ts'] }),
  );
  writeFileSync(
    join(project, 'check.ts'),
    `import { type CrossEntropyResult, crossEntropy, isXentError, VERSION } from 'xent';

const logits = { data: new Float64Array([0, 0]), shape: [1, 2] as [number, number] };
const r: CrossEntropyResult = crossEntropy(logits, Int32Array.of(1));
let refused = '';
try {
  crossEntropy(logits, Int32Array.of(2));
} catch (e) {
  if (isXentError(e)) refused = e.code;
}
console.log(JSON.stringify({ loss: r.loss, version: VERSION, refused }));
`,
  );
  writeFileSync(
    join(project, 'check-tfjs.ts'),
    `import type * as tf from '@tensorflow/tfjs';
import type { LayersLossFn, TfCrossEntropyOptions } from 'xent/tfjs';
import type { sparseSoftmaxCrossEntropy } from 'xent/tfjs';

export const options: TfCrossEntropyOptions = { reduction: 'sum', labelSmoothing: 0.1 };
export type Op = typeof sparseSoftmaxCrossEntropy;
export type Out = ReturnType<LayersLossFn> extends tf.Tensor ? true : never;
`,
  );
  const tscBin = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const config of ['tsconfig.json', 'tsconfig.tfjs.json']) {
    const tsc = sh(process.execPath, [tscBin, '-p', config]);
    assert.equal(tsc.code, 0, `tsc -p ${config}:\n${tsc.stdout}${tsc.stderr}`);
  }
  const run = sh(process.execPath, [join('out', 'check.js')]);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { loss: number; version: string; refused: string };
  // Two equal logits: −log(1/2) = ln 2 nats.
  assert.ok(Math.abs(out.loss - Math.LN2) <= 1e-15, `loss ${out.loss}`);
  assert.equal(out.version, JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
  assert.equal(out.refused, 'index_out_of_range');
});

test('npx xent eval on llama-2-tiny-random (V = 32000) runs on the native engine, with no fallback warning', {
  skip,
}, () => {
  assert.equal(install?.code, 0, 'the install failed (see the test above)');
  const text = join(work, 'tiny20k.txt');
  writeFileSync(text, readFileSync(sharedPath('data', 'tinystories_valid_600k.txt')!).subarray(0, 20_000));
  const model = sharedPath('models', 'llama-2-tiny-random.gguf')!;
  const r = sh('npx', ['xent', 'eval', '--model', model, '--data', text, '--ctx', '128', '--chunks', '4', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { engine: string; chunks: number; vocab_size: number };
  assert.equal(j.engine, 'native');
  assert.equal(j.chunks, 4);
  assert.equal(j.vocab_size, 32000);
  assert.doesNotMatch(r.stderr, /warning/);
});

test("the installed package prints llama-perplexity's figures: stories260K, GPL-3, ctx 128, --chunks 20", {
  skip,
}, () => {
  assert.equal(install?.code, 0, 'the install failed (see the test above)');
  const model = sharedPath('models', 'stories260K.gguf')!;
  // --flash-attn off: the mode llama-perplexity printed the reference figures in.
  const r = sh('npx', [
    'xent',
    'eval',
    '--model',
    model,
    '--data',
    GPL,
    '--ctx',
    '128',
    '--chunks',
    '20',
    '--flash-attn',
    'off',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[1\]114\.1428,\[2\]101\.7695,\[3\]67\.5224,.*,\[20\]83\.7522$/m);
  assert.match(r.stdout, /Final estimate: PPL = 83\.7522 \+\/- 8\.02147/);
});

test('npx xent doctor: exit 0, the native binding loads, --json names its row-statistics path', { skip }, () => {
  assert.equal(install?.code, 0, 'the install failed (see the test above)');
  const text = sh('npx', ['xent', 'doctor']);
  assert.equal(text.code, 0, `${text.stdout}${text.stderr}`);
  assert.match(text.stdout, /^ok +native binding +build\/native\/xent-llama\.node loads/m);
  const r = sh('npx', ['xent', 'doctor', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    ok: boolean;
    checks: Array<{ id: string; status: string; data?: { row_stats?: string } }>;
  };
  assert.equal(j.ok, true);
  const native = j.checks.find((c) => c.id === 'native');
  assert.equal(native?.status, 'ok');
  // The same CPU picks the same path in the checkout's binding, loaded here.
  const here = loadNativeBinding()!.rowStats(new Float32Array(2), 2, Int32Array.of(0), new Float64Array(5), false);
  assert.equal(native?.data?.row_stats, here);
  const nlc = j.checks.find((c) => c.id === 'node-llama-cpp');
  assert.equal(nlc?.status, 'ok', JSON.stringify(nlc));
});
