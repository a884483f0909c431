/**
 * `xent doctor`: what this install can do and what to run where it falls short. One line
 * per check (ok, warn or error, and the fix), or `--json`.
 *
 * Exit code: 1 when a check is an error — something a command needs is broken: Node older
 * than xent supports, the WebAssembly kernels that every loss, `xent bench` and `xent train`
 * run on, node-llama-cpp present but failing to import (every GGUF command fails), a built
 * native binding that fails to load, or a missing binding under XENT_NATIVE=require. Else
 * 0. A missing native binding is a warning: GGUF commands still run, on node-llama-cpp's
 * probability Map (the same figures, ~60× slower at V = 32000), and say so; a missing
 * node-llama-cpp is a warning too (installed with --omit=optional: no GGUF commands, the
 * rest works).
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import type { Command } from 'commander';
import { VERSION } from '../core/version.js';

// The binding and the kernels are imported when the command runs (as every command's heavy
// modules are), so that `xent --help` and the other commands do not load them.
type Gguf = typeof import('../models/gguf/gguf-native.js');
type Kernels = typeof import('../kernels/runtime.js') & typeof import('../kernels/relaxed-simd.js');

export type CheckStatus = 'ok' | 'warn' | 'error';

export interface DoctorCheck {
  /** Stable key: node, xent, node-llama-cpp, llama.cpp, native, wasm-simd, relaxed-simd, worker-threads, cpu. */
  id: string;
  status: CheckStatus;
  /** What was found, in one line. */
  detail: string;
  /** What to run or install, for warn and error. */
  fix?: string;
  /** Machine-readable facts behind the line. */
  data?: Record<string, unknown>;
}

export interface DoctorReport {
  ok: boolean;
  exit_code: 0 | 1;
  xent_version: string;
  checks: DoctorCheck[];
}

const NLC_VERSION = '3.21.1';
const NLC_INSTALL = `npm install -E node-llama-cpp@${NLC_VERSION}`;

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The folder of package `name` as Node resolves it from `from` (each node_modules upwards), as scripts/build-native.mjs finds it. */
export function findPackageDir(name: string, from: string): string | undefined {
  for (let d = from; ; d = dirname(d)) {
    if (basename(d) !== 'node_modules') {
      const p = join(d, 'node_modules', name);
      if (existsSync(join(p, 'package.json'))) return p;
    }
    if (dirname(d) === d) return undefined;
  }
}

function nodeCheck(): DoctorCheck {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const data = { version: process.version };
  if (major < 20)
    return {
      id: 'node',
      status: 'error',
      detail: `${process.version}: xent needs Node ≥ 20`,
      fix: 'install Node 20 or later',
      data,
    };
  if (major === 20 && minor < 16)
    return {
      id: 'node',
      status: 'warn',
      detail: `${process.version}: the kernels run on one thread before Node 20.16 (no process.getBuiltinModule)`,
      fix: 'install Node ≥ 20.16',
      data,
    };
  return { id: 'node', status: 'ok', detail: process.version, data };
}

function llamaCppCheck(nlc: string | undefined): DoctorCheck {
  if (!nlc)
    return { id: 'llama.cpp', status: 'warn', detail: 'none (node-llama-cpp is not installed)', fix: NLC_INSTALL };
  // The sources node-llama-cpp carries (the release tag, and the commit named in the git bundle's header) …
  const tag = readJson(join(nlc, 'llama', 'llama.cpp.info.json'))?.tag;
  let commit: string | undefined;
  try {
    const head = readFileSync(join(nlc, 'llama', 'gitRelease.bundle'))
      .subarray(0, 512)
      .toString('latin1');
    commit = /^([0-9a-f]{40}) /m.exec(head)?.[1];
  } catch {
    commit = undefined;
  }
  // … and the prebuilt CPU engine the binding links against, with the release it was built from.
  const plat = `${{ linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform as string] ?? process.platform}-${process.arch}`;
  const engine = findPackageDir(`@node-llama-cpp/${plat}`, nlc);
  const meta = engine ? readJson(join(engine, 'bins', plat, '_nlcBuildMetadata.json')) : undefined;
  const built = (meta?.buildOptions as { llamaCpp?: { release?: string } } | undefined)?.llamaCpp?.release;
  const data = { tag, commit, engine_package: engine ? `@node-llama-cpp/${plat}` : null, engine_release: built };
  const sources = `release ${String(tag ?? 'unknown')}${commit ? `, commit ${commit.slice(0, 12)}` : ''}`;
  if (!engine)
    return {
      id: 'llama.cpp',
      status: 'warn',
      detail: `${sources}; no prebuilt CPU engine @node-llama-cpp/${plat}`,
      fix: `reinstall node-llama-cpp: ${NLC_INSTALL}`,
      data,
    };
  return {
    id: 'llama.cpp',
    status: 'ok',
    detail: `${sources}; prebuilt CPU engine @node-llama-cpp/${plat} (release ${String(built ?? 'unknown')})`,
    data,
  };
}

async function nodeLlamaCppCheck(nlc: string | undefined): Promise<DoctorCheck> {
  if (!nlc)
    return {
      id: 'node-llama-cpp',
      status: 'warn',
      detail: 'not installed (optional dependency): GGUF models cannot be scored; everything else works',
      fix: NLC_INSTALL,
    };
  const version = readJson(join(nlc, 'package.json'))?.version;
  const data = { version, path: nlc };
  try {
    await import('node-llama-cpp');
  } catch (e) {
    return {
      id: 'node-llama-cpp',
      status: 'error',
      detail: `${String(version)} is installed but does not load: ${(e as Error).message.split('\n')[0]}`,
      fix: `reinstall it: ${NLC_INSTALL}`,
      data,
    };
  }
  if (version !== NLC_VERSION)
    return {
      id: 'node-llama-cpp',
      status: 'warn',
      detail: `${String(version)}; xent is built and tested against ${NLC_VERSION}`,
      fix: NLC_INSTALL,
      data,
    };
  return { id: 'node-llama-cpp', status: 'ok', detail: `${version} (${nlc})`, data };
}

function nativeCheck(g: Gguf, nlc: string | undefined): DoctorCheck {
  const { NATIVE_FILES, nativeRequired, nativeUnavailableFix, nativeUnavailableReason } = g;
  const file = relative(g.PACKAGE_ROOT, NATIVE_FILES.binding);
  const binding = g.loadNativeBinding();
  if (binding) {
    // One row of two logits: the call returns the name of the implementation it chose at init.
    const rowStats = binding.rowStats(new Float32Array(2), 2, Int32Array.of(0), new Float64Array(5), false);
    const builtAt = readJson(NATIVE_FILES.meta)?.builtAt;
    const label = { avx512: 'AVX-512', avx2: 'AVX2', scalar: 'scalar' }[rowStats] ?? rowStats;
    const cpuModule = binding.cpuBackend().module;
    return {
      id: 'native',
      status: 'ok',
      detail: `${file} loads (built ${String(builtAt ?? 'at an unknown time')}); row statistics: ${label}; llama.cpp's CPU build: ${cpuModule ? basename(cpuModule) : 'unknown'}`,
      data: { loaded: true, row_stats: rowStats, file: NATIVE_FILES.binding, cpu_backend: cpuModule },
    };
  }
  const reason = nativeUnavailableReason() ?? 'not loaded';
  const fix = nativeUnavailableFix();
  const data = { loaded: false, reason, file: NATIVE_FILES.binding };
  // Built but refusing to load is broken; never built (or switched off) is the slow path.
  const broken = existsSync(NATIVE_FILES.binding) && existsSync(NATIVE_FILES.meta) && process.env.XENT_NATIVE !== '0';
  if (broken || nativeRequired())
    return {
      id: 'native',
      status: 'error',
      detail: `${reason}${nativeRequired() ? ' (XENT_NATIVE=require)' : ''}`,
      fix,
      data,
    };
  if (!nlc) return { id: 'native', status: 'warn', detail: `${reason} (it needs node-llama-cpp)`, fix, data };
  return {
    id: 'native',
    status: 'warn',
    detail: `${reason}: GGUF models run on node-llama-cpp's probability Map (the same figures, ~60× slower at V = 32000)`,
    fix,
    data,
  };
}

function wasmChecks(k: Kernels): DoctorCheck[] {
  const relaxed = k.enableRelaxedSimd();
  const available = k.kernelsAvailable();
  const build = k.kernelBuild();
  const simd: DoctorCheck = available
    ? { id: 'wasm-simd', status: 'ok', detail: `the kernels compile and run (build: ${build})`, data: { build } }
    : {
        id: 'wasm-simd',
        status: 'error',
        detail: `the WebAssembly SIMD kernels do not run here: ${k.kernelsUnavailableReason()}`,
        fix: 'use Node ≥ 20 (WebAssembly SIMD and SharedArrayBuffer)',
        data: { build: null },
      };
  const relaxedCheck: DoctorCheck =
    build === 'relaxed-simd'
      ? { id: 'relaxed-simd', status: 'ok', detail: 'on (fused multiply-add kernels)', data: { on: true } }
      : {
          id: 'relaxed-simd',
          status: 'warn',
          detail: relaxed
            ? 'the engine has it but the plain build runs (XENT_WASM_SIMD=plain?)'
            : 'the engine lacks it: the plain SIMD kernels run (the same results, ~25% more vector operations)',
          fix: relaxed ? 'unset XENT_WASM_SIMD' : 'use a Node whose V8 has relaxed SIMD (Node 20 and later do)',
          data: { on: false },
        };
  return [simd, relaxedCheck];
}

async function workerCheck(): Promise<DoctorCheck> {
  const wt = process.getBuiltinModule?.('node:worker_threads') as typeof import('node:worker_threads') | undefined;
  if (!wt)
    return {
      id: 'worker-threads',
      status: 'warn',
      detail: 'process.getBuiltinModule is missing: the kernels run on one thread',
      fix: 'install Node ≥ 20.16',
    };
  const t0 = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const w = new wt.Worker('require("node:worker_threads").parentPort.postMessage(1)', { eval: true });
      const timer = setTimeout(() => {
        void w.terminate();
        reject(new Error('no answer within 10 s'));
      }, 10_000);
      w.once('message', () => {
        clearTimeout(timer);
        void w.terminate();
        resolve();
      });
      w.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  } catch (e) {
    return {
      id: 'worker-threads',
      status: 'warn',
      detail: `a worker did not start (${(e as Error).message}): the kernels run on one thread`,
      fix: 'check the process limits (ulimit -u, memory)',
    };
  }
  const ms = performance.now() - t0;
  return {
    id: 'worker-threads',
    status: 'ok',
    detail: `a worker started in ${ms.toFixed(0)} ms`,
    data: { start_ms: ms },
  };
}

function cpuCheck(): DoctorCheck {
  const cores = availableParallelism();
  const model = cpus()[0]?.model?.trim() ?? 'unknown';
  let flags: string[] = [];
  try {
    const line = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    const have = new Set(line.trim().split(/\s+/));
    flags = [
      ['avx2', 'AVX2'],
      ['fma', 'FMA'],
      ['avx512f', 'AVX-512'],
    ]
      .filter(([f]) => have.has(f as string))
      .map(([, n]) => n as string);
  } catch {
    // not Linux: the native binding is Linux-only anyway
  }
  return {
    id: 'cpu',
    status: 'ok',
    detail: `${cores} core${cores === 1 ? '' : 's'} available, ${model}${flags.length ? ` (${flags.join(', ')})` : ''}`,
    data: { cores, model, features: flags },
  };
}

/** Runs every check. */
export async function runDoctor(): Promise<DoctorReport> {
  const g: Gguf = await import('../models/gguf/gguf-native.js');
  const k: Kernels = { ...(await import('../kernels/runtime.js')), ...(await import('../kernels/relaxed-simd.js')) };
  const root = g.PACKAGE_ROOT;
  const nlc = findPackageDir('node-llama-cpp', root);
  const checks: DoctorCheck[] = [
    nodeCheck(),
    { id: 'xent', status: 'ok', detail: `${VERSION} (${root})`, data: { version: VERSION, path: root } },
    await nodeLlamaCppCheck(nlc),
    llamaCppCheck(nlc),
    nativeCheck(g, nlc),
    ...wasmChecks(k),
    await workerCheck(),
    cpuCheck(),
  ];
  const ok = checks.every((c) => c.status !== 'error');
  return { ok, exit_code: ok ? 0 : 1, xent_version: VERSION, checks };
}

const LABELS: Record<string, string> = {
  node: 'Node',
  xent: 'xent',
  'node-llama-cpp': 'node-llama-cpp',
  'llama.cpp': 'llama.cpp',
  native: 'native binding',
  'wasm-simd': 'WebAssembly SIMD',
  'relaxed-simd': 'relaxed SIMD',
  'worker-threads': 'worker threads',
  cpu: 'CPU',
};

/** The report as lines of text: `ok    label  detail`, and `fix: …` under each warn or error. */
export function formatDoctor(r: DoctorReport): string {
  const width = Math.max(...r.checks.map((c) => (LABELS[c.id] ?? c.id).length));
  const lines = r.checks.flatMap((c) => {
    const head = `${c.status.padEnd(5)} ${(LABELS[c.id] ?? c.id).padEnd(width)}  ${c.detail}`;
    return c.fix && c.status !== 'ok' ? [head, `${' '.repeat(width + 8)}fix: ${c.fix}`] : [head];
  });
  const errors = r.checks.filter((c) => c.status === 'error').length;
  const warns = r.checks.filter((c) => c.status === 'warn').length;
  const count = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  lines.push(
    errors
      ? `${count(errors, 'error')}, ${count(warns, 'warning')}: see the fixes above`
      : warns
        ? `no errors, ${count(warns, 'warning')}`
        : 'everything is in order',
  );
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check the install: Node, node-llama-cpp and its llama.cpp, the native binding, WebAssembly SIMD, worker threads, CPU. Exit code 1 when something a command needs is broken.',
    )
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const report = await runDoctor();
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report));
      process.exitCode = report.exit_code;
    });
}
