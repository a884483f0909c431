// `npm run bench -- native-train [--only mm,step,lce] [--threads 1,2] [--reps 7] [--rounds 1]
//   [--steps 8] [--lce 2048,1024,32000] [--vb 4096] [--rows R]`: xent's native training kernels
// (src/kernels/native-train.ts) beside PyTorch (Debian's python3-torch: bench/native_train_torch.py,
// bench/train_torch.py) in one run, at each thread count:
//   mm    GFLOP/s of the matrix products of the seed LSTM's output layer (1600×256 · 256×10000
//         and the two backward products) and of a linear + cross-entropy vocabulary block
//         (8192×1024 · 1024×4096), each with the operand layouts the trainer uses, against torch.mm;
//   step  ms per training step (forward, backward, clipping, Adam) of the seed LSTM
//         (V = 10000) and of `xent train`'s shape (V = 4096), E 128, H 256, batch 32 × 50: the
//         step composed from the native kernels (bench/lib/native-lstm.ts) against PyTorch's,
//         with the WebAssembly trainer at 2 threads for reference;
//   lce   a linear + cross-entropy forward + backward (dh, dw, db) over vocabulary blocks of vb
//         rows against F.linear + F.cross_entropy: seconds and the peak memory each adds
//         (--lce 8192,1024,128256 is the full-size case; it needs ~15 GB for PyTorch).
// Medians of the repeats (mm: --rounds alternates xent and PyTorch, pooling xent's times and
// taking the median of PyTorch's medians); ratios compare figures from the same run. The machine may be shared:
// rerun when the ratios move, and read them, not the absolute figures.
// PyTorch's matrix products are its BLAS's: Debian's python3-torch uses whatever libblas.so.3 the
// system provides (the reference BLAS unless OpenBLAS is installed), and the bench prints which.
// XENT_TORCH_LIBRARY_PATH puts a directory first on PyTorch's LD_LIBRARY_PATH (e.g. OpenBLAS
// unpacked from Debian's libopenblas0-pthread; OPENBLAS_CORETYPE picks its kernels), and each
// PyTorch run gets OPENBLAS_NUM_THREADS = its thread count.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomTokens } from '../src/core/rng.js';
import { median } from '../src/core/stats.js';
import { crossEntropyFromStats, loadNativeTrain, nativeTrainUnavailableReason } from '../src/kernels/native-train.js';
import { enableRelaxedSimd } from '../src/kernels/relaxed-simd.js';
import { createLstmModel } from '../src/models/lstm/lstm.js';
import { FastLstmTrainer } from '../src/train/fast-trainer.js';
import { NativeLstmStep } from './lib/native-lstm.js';

enableRelaxedSimd();
const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.XENT_PYTHON ?? '/usr/bin/python3';
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const only = new Set(opt('--only', 'lce,mm,step').split(','));
const threadList = opt('--threads', '1,2').split(',').map(Number);
const reps = Number(opt('--reps', '7'));
const rounds = Math.max(1, Number(opt('--rounds', '1')));
const steps = Number(opt('--steps', '8'));
const [lN, lH, lV] = opt('--lce', '2048,1024,32000').split(',').map(Number) as [number, number, number];
const vb = Number(opt('--vb', '4096'));

const nt = loadNativeTrain();
if (!nt) {
  console.error(`native-train bench: ${nativeTrainUnavailableReason()}`);
  process.exit(1);
}
const isa = nt.info().isa;

function timeIt(f: () => void, n: number, warmup = 1): number[] {
  for (let i = 0; i < warmup; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    ts.push((performance.now() - t0) / 1000);
  }
  return ts;
}

function torch(script: string, a: string[], threads: number): Record<string, unknown> | string {
  const env: Record<string, string | undefined> = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
  const lib = process.env.XENT_TORCH_LIBRARY_PATH;
  if (lib) env.LD_LIBRARY_PATH = [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const r = spawnSync(PYTHON, [join(here, script), ...a], { encoding: 'utf8', maxBuffer: 1 << 24, env });
  if (r.status !== 0) return `PyTorch unavailable (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

/** n uniform floats in [−scale, scale), generated in place (no temporary arrays: the peak-memory figure counts them). */
const rand = (n: number, seed: number, scale = 1): Float32Array => {
  const out = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 2 ** 31 - 1) * scale;
  }
  return out;
};
const pad = (s: string | number, w: number): string => String(s).padStart(w);

console.log(`native-train bench: xent's native kernels (${isa}) beside PyTorch, medians of ${reps}`);
let blas = '';
process.on('exit', () => {
  if (blas) console.log(`\nPyTorch's BLAS: ${blas}`);
});

// ---------- lce (first: the peak-memory figure is the process's high-water mark) ----------
if (only.has('lce')) {
  const [N, D, V] = [lN, lH, lV];
  const h = rand(N * D, 1);
  const w = rand(V * D, 2, 1 / Math.sqrt(D));
  const bias = new Float32Array(V);
  const targets = randomTokens(N, V, 1, 4);
  const stats = new Float64Array(4 * N);
  const dh = new Float32Array(N * D).fill(0);
  const dw = new Float32Array(V * D).fill(0);
  const db = new Float32Array(V).fill(0);
  console.log(`\nlinear + cross-entropy forward + backward, N=${N} H=${D} V=${V} (xent: vocabulary blocks of ${vb})`);
  console.log('threads  xent s  pytorch s  pytorch/xent  xent loss  pytorch loss');
  let loss = NaN;
  const run = (): void => {
    const l = { h, w, bias, targets, N, D, V, vocabBlock: vb };
    nt.lceForward({ ...l, stats });
    const r = crossEntropyFromStats(stats, targets, V);
    loss = r.loss;
    nt.lceBackward({ ...l, stats, ...r.coefficients, dh, dw, db });
  };
  // inputs and outputs are allocated and touched; nothing larger was allocated before, so the
  // high-water mark from here on is what the kernels add
  const rssBase = process.memoryUsage.rss();
  const extra: number[] = [];
  let torchExtra = NaN;
  for (const th of threadList) {
    nt.setThreads(th);
    const x = median(timeIt(run, Math.max(1, Math.min(reps, 3))));
    extra.push(process.resourceUsage().maxRSS * 1024 - rssBase);
    const t = torch(
      'native_train_torch.py',
      [
        '--mode',
        'lce',
        '--threads',
        String(th),
        '--reps',
        String(Math.min(reps, 3)),
        '--N',
        String(N),
        '--H',
        String(D),
        '--V',
        String(V),
      ],
      th,
    );
    if (typeof t !== 'string') blas = `${t.blas}${t.openblas_core ? ` (OpenBLAS ${t.openblas_core})` : ''}`;
    if (typeof t === 'string') console.log(`${pad(th, 7)}  ${x.toFixed(2).padStart(6)}  ${t}`);
    else {
      const l = t.lce as { median_s: number; loss_nats: number; extra_peak_bytes: number };
      torchExtra = l.extra_peak_bytes;
      console.log(
        `${pad(th, 7)}  ${x.toFixed(2).padStart(6)}  ${l.median_s.toFixed(2).padStart(9)}  ${(l.median_s / x).toFixed(2).padStart(12)}  ${loss.toFixed(4).padStart(9)}  ${l.loss_nats.toFixed(4).padStart(12)}`,
      );
    }
  }
  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(
    `extra peak memory: xent ${mb(Math.max(...extra))} (block ${mb(N * Math.min(vb, V) * 4)}), PyTorch ${mb(torchExtra)} → xent/PyTorch = ${((100 * Math.max(...extra)) / torchExtra).toFixed(1)}%`,
  );
}

// ---------- mm ----------
if (only.has('mm')) {
  const shapes: Array<[string, number, number, number, boolean, boolean]> = [
    ['seed fwd   z = hs·W_outᵀ', 1600, 10000, 256, false, true],
    ['seed bwd   dW_out = dzᵀ·hs', 10000, 256, 1600, true, false],
    ['seed bwd   dhs = dz·W_out', 1600, 256, 10000, false, false],
    ['lce block  Z = H·W_blockᵀ', 8192, 4096, 1024, false, true],
  ];
  // xent and PyTorch alternate, round after round: load that drifts during the run hits both
  const xs = new Map<string, number[]>();
  const ts = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++)
    for (const th of threadList) {
      const t = torch(
        'native_train_torch.py',
        [
          '--mode',
          'mm',
          '--threads',
          String(th),
          '--reps',
          String(reps),
          '--shapes',
          shapes.map((s) => `${s[1]},${s[2]},${s[3]},${s[4] ? 1 : 0},${s[5] ? 1 : 0}`).join(';'),
        ],
        th,
      );
      if (typeof t !== 'string') blas = `${t.blas}${t.openblas_core ? ` (OpenBLAS ${t.openblas_core})` : ''}`;
      else console.log(t);
      nt.setThreads(th);
      shapes.forEach(([, M, N, K, ta, tb], i) => {
        const A = rand(M * K, 5);
        const B = rand(K * N, 6);
        const C = new Float32Array(M * N);
        const key = `${i} ${th}`;
        xs.set(key, [
          ...(xs.get(key) ?? []),
          ...timeIt(() => nt.sgemm({ M, N, K, A, B, C, transA: ta, transB: tb }), reps),
        ]);
        if (typeof t !== 'string')
          ts.set(key, [...(ts.get(key) ?? []), (t.mm as Array<{ median_s: number }>)[i]!.median_s]);
      });
    }
  console.log(
    `\nsgemm GFLOP/s (${rounds} round(s) of ${reps})        M×K · K×N           threads    xent  pytorch  xent/pytorch`,
  );
  for (const th of threadList)
    shapes.forEach(([name, M, N, K], i) => {
      const flop = 2 * M * N * K;
      const gf = flop / median(xs.get(`${i} ${th}`)!) / 1e9;
      const tg = ts.has(`${i} ${th}`) ? flop / median(ts.get(`${i} ${th}`)!) / 1e9 : NaN;
      console.log(
        `${name.padEnd(28)} ${`${M}×${K} · ${K}×${N}`.padEnd(24)} ${pad(th, 7)} ${gf.toFixed(1).padStart(7)} ${tg.toFixed(1).padStart(8)} ${(gf / tg).toFixed(2).padStart(13)}`,
      );
    });
}

// ---------- step ----------
if (only.has('step')) {
  const [E, H, B, T] = [128, 256, 32, 50];
  const tps = (ms: number): string => ((B * T) / (ms / 1000)).toFixed(0);
  for (const V of [10000, 4096]) {
    console.log(
      `\ntraining step, Embedding(${V},${E}) → LSTM(${E}→${H}) → Linear(${H}→${V}), batch ${B}×${T}, Adam, clip 1.0 (ms/step, tokens/s)`,
    );
    const init = createLstmModel({ V, E, H, seed: 0 });
    const res = new Map<string, number>();
    for (const th of threadList) {
      nt.setThreads(th);
      const st = new NativeLstmStep(
        nt,
        init.config,
        { B, T, ...(args.includes('--rows') ? { rowsPerChunk: Number(opt('--rows', '0')) } : {}) },
        init.params.flat as Float32Array,
      );
      let s = 0;
      const ms = timeIt(
        () => st.step(randomTokens(B * T, V, s, 1), randomTokens(B * T, V, s++, 2), { lr: 1e-3 }, 1),
        steps,
        2,
      ).map((x) => x * 1000);
      res.set(`xent native ${th}`, median(ms));
      const t = torch('train_torch.py', ['--threads', String(th), '--steps', String(steps), '--V', String(V)], th);
      if (typeof t !== 'string') res.set(`pytorch ${th}`, t.ms_per_step_median as number);
      else console.log(t);
    }
    const wasm = new FastLstmTrainer(init.config, { B, T, threads: 2 }, init.params.flat as Float32Array);
    try {
      let s = 0;
      const ms = timeIt(
        () => wasm.step(randomTokens(B * T, V, s, 1), randomTokens(B * T, V, s++, 2), { lr: 1e-3 }, 1),
        Math.min(steps, 5),
        1,
      ).map((x) => x * 1000);
      res.set('xent wasm 2', median(ms));
    } finally {
      wasm.close();
    }
    for (const [k, ms] of res)
      console.log(`${k.padEnd(16)} ${ms.toFixed(1).padStart(8)} ms  ${tps(ms).padStart(7)} tokens/s`);
    const best = (prefix: string): [string, number] =>
      [...res].filter(([k]) => k.startsWith(prefix)).reduce((a, b) => (b[1] < a[1] ? b : a), ['', Infinity]);
    const [xk, xm] = best('xent native');
    const [tk, tm] = best('pytorch');
    if (Number.isFinite(tm)) console.log(`${xk} / best PyTorch (${tk}) = ${(tm / xm).toFixed(2)}× tokens/s`);
  }
}
