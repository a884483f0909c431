/**
 * llama-perplexity for the benchmarks that run xent beside it (bench/eval.ts, bench/kld.ts),
 * and peak-memory measurement of a child process.
 *
 * The binary: $LLAMA_PERPLEXITY when set; else, with --build-llama-perplexity, built as a
 * user builds llama.cpp, natively, from the sources node-llama-cpp bundles
 * (node_modules/node-llama-cpp/llama/gitRelease.bundle, the llama.cpp of its prebuilt
 * libraries): git clone into build/llama.cpp, then CMake Release with GGML_NATIVE and
 * OpenMP, target llama-perplexity only (about 10 minutes on 2 cores; kept for later runs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './shared.js';

export function buildLlamaPerplexity(): string {
  const src = join(REPO_ROOT, 'build', 'llama.cpp');
  const bin = join(src, 'build', 'bin', 'llama-perplexity');
  if (existsSync(bin)) return bin;
  const bundle = join(REPO_ROOT, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');
  if (!existsSync(bundle))
    throw new Error(`no llama.cpp sources: ${bundle} is missing (npm ci installs node-llama-cpp)`);
  mkdirSync(join(REPO_ROOT, 'build'), { recursive: true });
  const run = (cmd: string, args: string[]): void => {
    console.error(`$ ${cmd} ${args.join(' ')}`);
    const r = spawnSync(cmd, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${cmd} ${args[0]} failed (exit ${r.status ?? r.signal})`);
  };
  if (!existsSync(join(src, 'CMakeLists.txt'))) {
    rmSync(src, { recursive: true, force: true });
    run('git', ['clone', '-q', bundle, src]);
  }
  run('cmake', [
    '-S',
    src,
    '-B',
    join(src, 'build'),
    '-DCMAKE_BUILD_TYPE=Release',
    '-DGGML_NATIVE=ON',
    '-DGGML_OPENMP=ON',
    '-DLLAMA_CURL=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
  ]);
  run('cmake', ['--build', join(src, 'build'), '-j2', '--target', 'llama-perplexity']);
  if (!existsSync(bin)) throw new Error(`the build did not produce ${bin}`);
  return bin;
}

/** The llama-perplexity to run, or undefined (the caller says how to get one). */
export function llamaPerplexity(args: readonly string[]): string | undefined {
  if (process.env.LLAMA_PERPLEXITY) return process.env.LLAMA_PERPLEXITY;
  if (args.includes('--build-llama-perplexity')) return buildLlamaPerplexity();
  const built = join(REPO_ROOT, 'build', 'llama.cpp', 'build', 'bin', 'llama-perplexity');
  return existsSync(built) ? built : undefined;
}

export interface Measured {
  status: number | null;
  stdout: string;
  /** stdout and stderr. */
  out: string;
  /** Wall seconds of the process. */
  seconds: number;
  /** Peak resident set size of the process (bytes): wait4's ru_maxrss through /usr/bin/time, else /proc polling. */
  peakBytes: number;
}

const TIME = '/usr/bin/time';

/** Runs a command to completion, with its output, wall time and peak memory. */
export async function measured(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Measured> {
  const env = { ...process.env, CI: '1', ...opts.env };
  const t0 = performance.now();
  if (existsSync(TIME)) {
    const dir = mkdtempSync(join(tmpdir(), 'xent-bench-time-'));
    const file = join(dir, 'rusage');
    try {
      const r = spawnSync(TIME, ['-f', '%M', '-o', file, cmd, ...args], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
        env,
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      });
      const seconds = (performance.now() - t0) / 1000;
      const kib = Number(readFileSync(file, 'utf8').trim().split('\n').pop());
      return { status: r.status, stdout: r.stdout, out: `${r.stdout}\n${r.stderr}`, seconds, peakBytes: kib * 1024 };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // No /usr/bin/time: the kernel's own high-water mark, read every 20 ms while it runs.
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        /* exited */
      }
    }, 20);
    child.on('error', reject);
    child.on('close', (status) => {
      clearInterval(poll);
      resolve({
        status,
        stdout,
        out: `${stdout}\n${stderr}`,
        seconds: (performance.now() - t0) / 1000,
        peakBytes: peak,
      });
    });
  });
}

/**
 * llama-perplexity's figures from its log: running values and the final estimate. Its
 * logger thread may drop or repeat part of a line at exit: the caller reruns when the
 * final estimate is missing.
 */
export function llamaFigures(out: string): { final?: string; running: Map<number, string> } {
  const running = new Map<number, string>();
  for (const m of out.matchAll(/\[(\d+)\]([\d.]+)/g)) running.set(Number(m[1]), m[2]!);
  const f = /Final estimate: PPL = ([\d.]+) \+\/- ([\d.]+)/.exec(out);
  return { running, ...(f ? { final: `${f[1]} ± ${f[2]}` } : {}) };
}

/** Seconds between llama-perplexity's log entries `from` and `to` (its timestamps "m.ss.mmm.uuu"). */
export function llamaLogSeconds(log: string, from: string, to: string): number {
  // Without a TTY the "seconds per pass - ETA" entry has no line end, so the next entry
  // follows on its line: take the timestamp right before the message, not the line's first.
  const ts = (message: string): number => {
    const t = new RegExp(`(\\d+)\\.(\\d{2})\\.(\\d{3})\\.(\\d{3}) [A-Z] (?:perplexity: )?${message}`).exec(log);
    return t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) / 1e3 + Number(t[4]) / 1e6 : NaN;
  };
  return ts(to) - ts(from);
}
