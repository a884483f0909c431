// `npm run bench -- lce [--rows 8192] [--hidden 1024] [--vocab 32000,128256] [--threads 2]
//   [--rounds 3] [--reps R] [--backend native] [--wasm 2048,1024,32000] [--wasm-rounds 1]`:
// linearCrossEntropy forward + backward (loss, dHidden, dWeight, dBias) beside PyTorch's
// F.linear + F.cross_entropy forward + backward (bench/lce_torch.py, Debian's python3-torch on
// the system BLAS — OpenBLAS once libopenblas0-pthread is installed; the bench prints which,
// with a torch.mm GFLOP/s sanity figure), in one run.
//
// Every measurement is a fresh process (`xent bench lce --json`, `python3 bench/lce_torch.py`),
// so its peak-memory figure (max RSS − RSS once the inputs exist, the returned gradients
// included on both sides) is its own; xent and PyTorch alternate for --rounds rounds, and the
// table shows the medians over rounds of each process's median time and its peak extra memory,
// and their ratios. Each shape runs the native kernels (or --backend), then --wasm gives one
// smaller shape for the WebAssembly kernels (none: --wasm none). --reps defaults to 3 calls
// per process (1 above 10^11 multiply-adds, with no warm-up call). The machine may be shared:
// read the ratios of one run, not the absolute figures.
//
// Targets (2 threads, same run): at 8192 × 1024 × 128256, xent's peak extra memory ≤ 5% of
// PyTorch's, in at most 1.3× its time.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../src/core/stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = process.env.XENT_PYTHON ?? '/usr/bin/python3';
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const rows = Number(opt('--rows', '8192'));
const hidden = Number(opt('--hidden', '1024'));
const vocabs = opt('--vocab', '32000,128256').split(',').map(Number);
const threads = Number(opt('--threads', '2'));
const rounds = Math.max(1, Number(opt('--rounds', '3')));
const backend = opt('--backend', 'native');
const wasmOpt = opt('--wasm', '2048,1024,32000');
const wasmRounds = Math.max(1, Number(opt('--wasm-rounds', '1')));

interface Measured {
  median_s: number;
  peak_extra_bytes: number;
  backend?: string;
  vocab_block?: number;
  loss_nats: number;
  blas?: string;
  openblas_core?: string;
  mm_gflops_1024?: number;
}

function lastJson(what: string, r: ReturnType<typeof spawnSync>): Measured {
  if (r.status !== 0) {
    console.error(
      `${what} failed (exit ${r.status ?? r.signal}):\n${String(r.stderr).trim().split('\n').slice(-5).join('\n')}`,
    );
    process.exit(1);
  }
  return JSON.parse(String(r.stdout).trim().split('\n').pop() ?? '') as Measured;
}

function xent(n: number, h: number, v: number, be: string, reps: number, warmup: number): Measured {
  const cli = join(root, 'dist', 'cli', 'main.js');
  const a = [
    'bench',
    'lce',
    '--json',
    '--rows',
    `${n}`,
    '--hidden',
    `${h}`,
    '--vocab',
    `${v}`,
    '--threads',
    `${threads}`,
  ];
  a.push('--backend', be, '--reps', `${reps}`, '--warmup', `${warmup}`);
  return lastJson('xent bench lce', spawnSync(process.execPath, [cli, ...a], { encoding: 'utf8', maxBuffer: 1 << 24 }));
}

function torch(n: number, h: number, v: number, reps: number, warmup: number): Measured {
  const a = [
    join(root, 'bench', 'lce_torch.py'),
    '--N',
    `${n}`,
    '--H',
    `${h}`,
    '--V',
    `${v}`,
    '--threads',
    `${threads}`,
  ];
  a.push('--reps', `${reps}`, '--warmup', `${warmup}`);
  const env = { ...process.env, OPENBLAS_NUM_THREADS: `${threads}`, OMP_NUM_THREADS: `${threads}` };
  return lastJson('bench/lce_torch.py', spawnSync(PYTHON, a, { encoding: 'utf8', env, maxBuffer: 1 << 24 }));
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
let blasPrinted = false;

function compare(n: number, h: number, v: number, be: string, nRounds: number): void {
  const big = n * h * v > 1e11;
  const reps = Number(opt('--reps', big ? '1' : '3'));
  const warmup = big ? 0 : 1;
  const xs: Measured[] = [];
  const ts: Measured[] = [];
  for (let r = 0; r < nRounds; r++) {
    xs.push(xent(n, h, v, be, reps, warmup));
    ts.push(torch(n, h, v, reps, warmup));
  }
  if (!blasPrinted) {
    const t = ts[0]!;
    console.log(
      `PyTorch's BLAS: ${t.blas}${t.openblas_core ? ` (OpenBLAS, ${t.openblas_core} kernels)` : ''}; torch.mm 1024³ at ${t.mm_gflops_1024?.toFixed(1)} GFLOP/s on ${threads} thread(s)`,
    );
    blasPrinted = true;
  }
  const xt = median(xs.map((x) => x.median_s));
  const tt = median(ts.map((x) => x.median_s));
  const xm = median(xs.map((x) => x.peak_extra_bytes));
  const tm = median(ts.map((x) => x.peak_extra_bytes));
  const gf = (s: number): string => ((6 * n * h * v) / s / 1e9).toFixed(0);
  console.log(
    `${n}×${h}×${v}  xent ${xs[0]!.backend} (blocks of ${xs[0]!.vocab_block}): ${xt.toFixed(3)} s, ${mib(xm)}   ` +
      `PyTorch: ${tt.toFixed(3)} s, ${mib(tm)}   time ×${(xt / tt).toFixed(2)}, memory ${((100 * xm) / tm).toFixed(1)}%   ` +
      `(${gf(xt)} vs ${gf(tt)} GFLOP/s of the 3 products; loss ${xs[0]!.loss_nats.toFixed(4)} vs ${ts[0]!.loss_nats.toFixed(4)} nats; ` +
      `${nRounds} round(s) × ${reps} call(s))`,
  );
}

console.log(
  `lce: linear + cross-entropy forward + backward, ${threads} thread(s), medians over alternating fresh processes`,
);
for (const v of vocabs) compare(rows, hidden, v, backend, rounds);
if (wasmOpt !== 'none') {
  const [n, h, v] = wasmOpt.split(',').map(Number) as [number, number, number];
  compare(n, h, v, 'wasm', wasmRounds);
}
