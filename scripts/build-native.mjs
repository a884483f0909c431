#!/usr/bin/env node
// Builds the optional native binding build/native/xent-llama.node (native/xent-llama.c),
// which reads llama.cpp's raw logits for `xent eval`'s fast path.
//
// It compiles against the llama.cpp that node-llama-cpp already ships: the headers
// come from the git bundle inside the node-llama-cpp package (llama/gitRelease.bundle),
// the libraries from @node-llama-cpp/<platform>-<arch>/bins. Nothing is downloaded.
//
// Two callers: `npm run build` in a checkout (scripts/build.mjs runs every build step), and
// the package's `install` script, so that `npm install xent` builds the binding from the
// sources the package ships (native/, this file) beside the prebuilt dist/. Installed, xent
// sits in <project>/node_modules/xent and npm hoists node-llama-cpp next to it: both are
// found the way Node resolves packages, from this package's folder upwards.
//
// This step never fails an install: without node-llama-cpp (npm ci --omit=optional),
// without a C compiler, git or Node's headers, it prints one warning, records the reason
// and the fix in build/native/unavailable.json (npm hides a successful install script's
// output; `xent doctor` and the GGUF commands' warning read the file), and exits 0; GGUF
// models then run on node-llama-cpp's probability Map (same figures, ~60× slower at
// V = 32000). XENT_NATIVE=0 skips the step; XENT_NATIVE=require makes a failure fatal (CI
// uses it to prove the fast path is built). Rebuilds only when the source or the engine changed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'build', 'native');
const outFile = join(outDir, 'xent-llama.node');
const metaFile = join(outDir, 'xent-llama.json');
const unavailableFile = join(outDir, 'unavailable.json');
const src = join(root, 'native', 'xent-llama.c');
// The native training kernels (native/xent-train*.c, with the headers they include) go into the
// same binding: xent-llama.c's module init registers them. They use no libllama.
const trainFiles = readdirSync(join(root, 'native'))
  .filter((f) => /^xent-train.*\.(c|h|inc)$/.test(f))
  .sort()
  .map((f) => join(root, 'native', f));
const required = process.env.XENT_NATIVE === 'require';

// A checkout (sources and tsconfig present) rebuilds with `npm run build`; an installed
// package re-runs its install script with `npm rebuild xent`.
const checkout = existsSync(join(root, 'src')) && existsSync(join(root, 'tsconfig.json'));
const rebuild = checkout ? 'npm run build' : 'npm rebuild xent';
const NLC = 'node-llama-cpp@3.21.1';

/** Writes a file whole or not at all (write, rename). */
function writeAtomic(file, text) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * The CPU backend llama.cpp picks here from node-llama-cpp's builds (its full scan, in a child
 * process: loading the binding here would keep it loaded), with this CPU's cpuid signature:
 * the binding loads that module alone while the signature matches (native/cpu-backend.h).
 * Undefined when it cannot be told; the binding then scans at every start, as before.
 */
function cpuBackend() {
  const probe = `const b = require(${JSON.stringify(outFile)}); b.init(${JSON.stringify(libDir)}, false, null);
process.stdout.write(JSON.stringify(b.cpuBackend()));`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  try {
    const cpu = JSON.parse(r.stdout);
    return cpu.signature && cpu.module ? cpu : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gives up on the binding: `reason` says what is missing, `fix` the command that
 * supplies it. `mapFallback` false: GGUF support as a whole is missing (no node-llama-cpp).
 */
function skip(reason, fix, mapFallback = true) {
  const msg = `build-native: ${reason}; ${
    mapFallback
      ? "GGUF models will run on node-llama-cpp's probability Map (same figures, ~60× slower at V = 32000)"
      : 'xent eval of GGUF models needs it'
  }. Fix: ${fix}.`;
  if (required) {
    console.error(`${msg} (fatal: XENT_NATIVE=require)`);
    process.exit(1);
  }
  console.warn(msg);
  rmSync(metaFile, { force: true });
  try {
    writeAtomic(
      unavailableFile,
      `${JSON.stringify({ reason, fix, mapFallback, recordedAt: new Date().toISOString() }, null, 2)}\n`,
    );
  } catch {
    // a read-only install folder: the warning above is all there is
  }
  process.exit(0);
}

/** The folder of package `name` as Node would resolve it from `from`: each node_modules upwards. */
function findPackage(name, from) {
  for (let d = from; ; d = dirname(d)) {
    if (basename(d) !== 'node_modules') {
      const p = join(d, 'node_modules', name);
      if (existsSync(join(p, 'package.json'))) return p;
    }
    if (dirname(d) === d) return undefined;
  }
}

const compilerFix = `install a C compiler and git (Debian/Ubuntu: \`apt-get install build-essential git\`; Fedora: \`dnf install gcc git\`), then \`${rebuild}\``;

if (process.env.XENT_NATIVE === '0') skip('skipped (XENT_NATIVE=0)', `unset XENT_NATIVE, then \`${rebuild}\``);

// node-llama-cpp and its prebuilt CPU engine package, wherever npm placed them.
const nlc = findPackage('node-llama-cpp', root);
if (!nlc)
  skip(
    'node-llama-cpp is not installed (optional dependency)',
    `\`npm install -E ${NLC}\` (or install xent without --omit=optional), then \`${rebuild}\``,
    false,
  );
const reinstallNlc = `reinstall it: \`npm install -E ${NLC}\`, then \`${rebuild}\``;
const bundle = join(nlc, 'llama', 'gitRelease.bundle');
if (!existsSync(bundle)) skip(`${bundle} is missing (node-llama-cpp ships llama.cpp's sources there)`, reinstallNlc);

const platform = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform];
const pkgName = `${platform}-${process.arch}`;
const enginePkg = findPackage(`@node-llama-cpp/${pkgName}`, nlc);
const libDir = enginePkg && join(enginePkg, 'bins', pkgName);
if (process.platform !== 'linux')
  skip(`the binding is built on Linux only (this is ${process.platform}-${process.arch})`, 'none yet: use Linux');
if (!libDir || !existsSync(libDir))
  skip(`no prebuilt CPU engine @node-llama-cpp/${pkgName} (node-llama-cpp's optional dependency)`, reinstallNlc);
const libllama = ['libllama.v0.4.0.so', 'libllama.so'].find((f) => existsSync(join(libDir, f)));
const libggml = ['libggml.v0.4.0.so', 'libggml.so'].find((f) => existsSync(join(libDir, f)));
if (!libllama || !libggml || !existsSync(join(libDir, 'libggml-base.so')))
  skip(`libllama/libggml not found in ${libDir}`, reinstallNlc);

const nodeInclude = [
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].find((p) => existsSync(join(p, 'node_api.h')));
if (!nodeInclude)
  skip(
    "Node's C headers (node_api.h) were not found",
    `install them (Node's official builds and nvm ship include/node; Debian/Ubuntu: \`apt-get install libnode-dev\`), then \`${rebuild}\``,
  );

const cc = [process.env.CC, 'cc', 'gcc', 'clang']
  .filter(Boolean)
  .find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (!cc) skip('no C compiler (cc, gcc or clang) on PATH', compilerFix);

// Headers from the bundle, cached by the bundle's size and mtime.
const bundleStat = statSync(bundle);
const key = createHash('sha256')
  .update(`${bundle}:${bundleStat.size}:${bundleStat.mtimeMs}`)
  .digest('hex')
  .slice(0, 16);
const incDir = join(outDir, `include-${key}`);
if (!existsSync(join(incDir, 'llama.h'))) {
  const git = spawnSync('git', ['--version'], { stdio: 'ignore' });
  if (git.status !== 0)
    skip("git is needed to read llama.h from node-llama-cpp's source bundle and was not found", compilerFix);
  const repo = join(outDir, 'llama-src');
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(repo, { recursive: true });
  // A git hook or a surrounding repository must not redirect these commands.
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
  for (const v of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY']) delete env[v];
  const steps = [
    ['init', '-q', repo],
    ['-C', repo, 'fetch', '-q', '--depth=1', bundle, 'HEAD'],
  ];
  for (const args of steps) {
    const r = spawnSync('git', args, { encoding: 'utf8', env });
    if (r.status !== 0)
      skip(`git ${args.join(' ')} failed: ${(r.stderr || '').trim().split('\n').pop()}`, reinstallNlc);
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
      skip(`${h} not found in the llama.cpp bundle`, reinstallNlc);
    }
    writeFileSync(join(incDir, h.split('/').pop()), r.stdout);
  }
  rmSync(repo, { recursive: true, force: true });
}

// Rebuild only when the sources (xent-llama.c, the native/*.h it includes, the training
// kernels), the llama.cpp headers or the engine changed.
const nativeDir = dirname(src);
const stampHash = createHash('sha256').update(readFileSync(src));
for (const h of readdirSync(nativeDir)
  .filter((f) => f.endsWith('.h'))
  .sort())
  stampHash.update(h).update(readFileSync(join(nativeDir, h)));
const stamp = stampHash
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
if (meta?.stamp === stamp && existsSync(outFile)) {
  rmSync(unavailableFile, { force: true });
  process.exit(0);
}

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
  skip(
    `compiling native/xent-llama.c failed:\n${(r.stderr || r.error?.message || '').trim()}\n`,
    `check the compiler (${cc}) and Node's headers (${nodeInclude}), then \`${rebuild}\``,
  );
}
renameSync(tmpOut, outFile);
writeAtomic(
  metaFile,
  `${JSON.stringify({ stamp, libDir, includeKey: key, builtAt: new Date().toISOString(), cpu: cpuBackend() }, null, 2)}\n`,
);
rmSync(unavailableFile, { force: true });
if (process.env.XENT_BUILD_VERBOSE) console.error(`build-native: built ${outFile} in ${Date.now() - t0} ms`);
