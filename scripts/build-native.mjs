#!/usr/bin/env node
// Builds the optional native binding build/native/xent-llama.node (native/xent-llama.c),
// which reads llama.cpp's raw logits for `xent eval`'s fast path.
//
// It compiles against the llama.cpp that node-llama-cpp already ships: the headers
// come from the git bundle inside the node-llama-cpp package (llama/gitRelease.bundle),
// the libraries from @node-llama-cpp/<platform>-<arch>/bins. Nothing is downloaded.
//
// This step never fails the install: without node-llama-cpp (npm ci --omit=optional),
// without a C compiler, git or Node's headers, it prints one warning and exits 0, and
// `xent eval` uses node-llama-cpp's probability Map (slower, same figures) or says how
// to enable GGUF support. XENT_NATIVE=0 skips the step; XENT_NATIVE=require makes a
// failure fatal (CI uses it to prove the fast path is built).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'build', 'native');
const outFile = join(outDir, 'xent-llama.node');
const metaFile = join(outDir, 'xent-llama.json');
const src = join(root, 'native', 'xent-llama.c');
// The native training kernels (native/xent-train*.c, with the headers they include) go into the
// same binding: xent-llama.c's module init registers them. They use no libllama.
const trainFiles = readdirSync(join(root, 'native'))
  .filter((f) => /^xent-train.*\.(c|h|inc)$/.test(f))
  .sort()
  .map((f) => join(root, 'native', f));
const required = process.env.XENT_NATIVE === 'require';

function skip(reason, mapFallback = true) {
  const msg = `build-native: ${reason}; ${
    mapFallback
      ? "xent eval will use node-llama-cpp's probability Map (slower, same figures)."
      : 'xent eval of GGUF models needs it: npm install -E node-llama-cpp@3.21.1, then npm run build.'
  }`;
  if (required) {
    console.error(`${msg} (fatal: XENT_NATIVE=require)`);
    process.exit(1);
  }
  console.warn(msg);
  rmSync(metaFile, { force: true });
  process.exit(0);
}

if (process.env.XENT_NATIVE === '0') skip('skipped (XENT_NATIVE=0)');

// node-llama-cpp and its prebuilt engine package, wherever npm placed them.
const nlcCandidates = [join(root, 'node_modules', 'node-llama-cpp')];
const nlc = nlcCandidates.find((p) => existsSync(join(p, 'package.json')));
if (!nlc) skip('node-llama-cpp is not installed (optional dependency)', false);
const bundle = join(nlc, 'llama', 'gitRelease.bundle');
if (!existsSync(bundle)) skip(`${bundle} is missing (node-llama-cpp ships llama.cpp's sources there)`);

const platform = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform];
const pkgName = `${platform}-${process.arch}`;
const engineCandidates = [
  join(root, 'node_modules', '@node-llama-cpp', pkgName, 'bins', pkgName),
  join(nlc, 'node_modules', '@node-llama-cpp', pkgName, 'bins', pkgName),
];
const libDir = engineCandidates.find((p) => existsSync(p));
if (!libDir || process.platform !== 'linux')
  skip(`no prebuilt CPU engine @node-llama-cpp/${pkgName} for this platform (the binding is built on Linux only)`);
const libllama = ['libllama.v0.4.0.so', 'libllama.so'].find((f) => existsSync(join(libDir, f)));
const libggml = ['libggml.v0.4.0.so', 'libggml.so'].find((f) => existsSync(join(libDir, f)));
if (!libllama || !libggml || !existsSync(join(libDir, 'libggml-base.so')))
  skip(`libllama/libggml not found in ${libDir}`);

const nodeInclude = [
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].find((p) => existsSync(join(p, 'node_api.h')));
if (!nodeInclude) skip("Node's C headers (node_api.h) were not found");

const cc = [process.env.CC, 'cc', 'gcc', 'clang']
  .filter(Boolean)
  .find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (!cc) skip('no C compiler (cc, gcc or clang) on PATH');

// Headers from the bundle, cached by the bundle's size and mtime.
const bundleStat = statSync(bundle);
const key = createHash('sha256')
  .update(`${bundle}:${bundleStat.size}:${bundleStat.mtimeMs}`)
  .digest('hex')
  .slice(0, 16);
const incDir = join(outDir, `include-${key}`);
if (!existsSync(join(incDir, 'llama.h'))) {
  const git = spawnSync('git', ['--version'], { stdio: 'ignore' });
  if (git.status !== 0) skip("git is needed to read llama.h from node-llama-cpp's source bundle and was not found");
  const repo = join(outDir, 'llama-src');
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(repo, { recursive: true });
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
  const steps = [
    ['init', '-q', repo],
    ['-C', repo, 'fetch', '-q', '--depth=1', bundle, 'HEAD'],
  ];
  for (const args of steps) {
    const r = spawnSync('git', args, { encoding: 'utf8', env });
    if (r.status !== 0) skip(`git ${args.join(' ')} failed: ${(r.stderr || '').trim().split('\n').pop()}`);
  }
  mkdirSync(incDir, { recursive: true });
  const headers = [
    'include/llama.h',
    'ggml/include/ggml.h',
    'ggml/include/ggml-backend.h',
    'ggml/include/ggml-alloc.h',
    'ggml/include/ggml-cpu.h',
    'ggml/include/ggml-opt.h',
    'ggml/include/gguf.h',
  ];
  for (const h of headers) {
    const r = spawnSync('git', ['-C', repo, 'show', `FETCH_HEAD:${h}`], {
      encoding: 'buffer',
      env,
      maxBuffer: 1 << 26,
    });
    if (r.status !== 0) {
      rmSync(incDir, { recursive: true, force: true });
      skip(`${h} not found in the llama.cpp bundle`);
    }
    writeFileSync(join(incDir, h.split('/').pop()), r.stdout);
  }
  rmSync(repo, { recursive: true, force: true });
}

// Rebuild only when the source, the headers or the engine changed.
const stamp = createHash('sha256')
  .update(readFileSync(src))
  .update(Buffer.concat(trainFiles.map((f) => readFileSync(f))))
  .update(key)
  .update(libDir)
  .update(String(statSync(join(libDir, libllama)).mtimeMs))
  .digest('hex');
let meta;
try {
  meta = JSON.parse(readFileSync(metaFile, 'utf8'));
} catch {
  meta = undefined;
}
if (meta?.stamp === stamp && existsSync(outFile)) process.exit(0);

mkdirSync(outDir, { recursive: true });
const tmpOut = `${outFile}.${process.pid}.tmp`;
const args = [
  '-O2',
  '-shared',
  '-fPIC',
  '-std=c11',
  '-Wall',
  '-DNODE_GYP_MODULE_NAME=xent_llama',
  `-I${nodeInclude}`,
  `-I${incDir}`,
  src,
  ...trainFiles.filter((f) => f.endsWith('.c')),
  '-pthread',
  '-o',
  tmpOut,
  `-L${libDir}`,
  `-l:${libllama}`,
  `-l:${libggml}`,
  '-l:libggml-base.so',
  '-lm',
  `-Wl,-rpath,${libDir}`,
  '-Wl,--allow-shlib-undefined',
];
const t0 = Date.now();
const r = spawnSync(cc, args, { encoding: 'utf8' });
if (r.status !== 0) {
  rmSync(tmpOut, { force: true });
  skip(`compiling native/xent-llama.c failed:\n${(r.stderr || r.error?.message || '').trim()}\n`);
}
renameSync(tmpOut, outFile);
writeFileSync(
  metaFile,
  `${JSON.stringify({ stamp, libDir, includeKey: key, builtAt: new Date().toISOString() }, null, 2)}\n`,
);
if (process.env.XENT_BUILD_VERBOSE) console.error(`build-native: built ${outFile} in ${Date.now() - t0} ms`);
