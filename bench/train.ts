// `npm run bench -- train [--steps N] [--threads 1,2] [--rounds K] [--rows R] [--impl native,wasm,pytorch]`:
// training steps of the seed LSTM language model (V=10000, E=128, H=256, batch 32 × 50, Adam,
// clip 1.0) in xent's native trainer (src/train/native-trainer.ts), its WebAssembly trainer
// (src/train/fast-trainer.ts) and PyTorch (bench/train_torch.py, Debian's python3-torch over the
// system BLAS: see docs/DEVELOPING.md, "Benchmarks"), side by side in one run: each round runs
// every implementation at every thread count in turn (alternating, so a load spike hits all of
// them), xent's step times pooled over rounds, PyTorch's per-round medians. Prints medians and
// minima of ms per step and tokens/s, and the ratios against PyTorch at its best thread count.
//
// `npm run bench -- train --e2e [--steps 60] [--threads 2] [--rounds 1]`: the end-to-end
// configuration, `xent train --data ../shared/data/tinystories_valid_600k.txt --arch lstm
// --vocab bpe:4096 --emb 128 --hidden 256 --seq 50 --batch 32 --steps 60 --threads 2` with each
// backend, its reported tokens/s with validation (and checkpoints) included, against PyTorch's
// training step of the same model at V = 4096 (1 and 2 threads, best named).
// The machine may be shared: compare ratios within one run, rerun when noisy.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomTokens } from '../src/core/rng.js';
import { median } from '../src/core/stats.js';
import { loadNativeTrain, nativeTrainUnavailableReason } from '../src/kernels/native-train.js';
import { enableRelaxedSimd } from '../src/kernels/relaxed-simd.js';
import { createLstmModel } from '../src/models/lstm/lstm.js';
import { FastLstmTrainer } from '../src/train/fast-trainer.js';
import { NativeLstmTrainer } from '../src/train/native-trainer.js';
import { REPO_ROOT, sharedPath } from './lib/shared.js';

enableRelaxedSimd(); // as the CLI does: Node 20 needs V8's flag for the fused multiply-add kernels

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.XENT_PYTHON ?? '/usr/bin/python3';
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const e2e = args.includes('--e2e');
const steps = Number(opt('--steps', e2e ? '60' : '8'));
const threadList = opt('--threads', e2e ? '2' : '1,2')
  .split(',')
  .map(Number);
const rows = args.includes('--rows') ? Number(opt('--rows', '0')) : undefined;
const rounds = Math.max(1, Number(opt('--rounds', '1')));
const impls = new Set(opt('--impl', 'native,wasm,pytorch').split(','));
const E = 128,
  H = 256,
  B = 32,
  T = 50;
const tps = (ms: number): number => (B * T) / (ms / 1000);

const nt = loadNativeTrain();
if (!nt && impls.has('native')) {
  console.log(`xent native unavailable (${nativeTrainUnavailableReason()}): timing wasm and PyTorch only`);
  impls.delete('native');
}

/** PyTorch's step at V (bench/train_torch.py), OPENBLAS_NUM_THREADS = its thread count. */
function torch(V: number, threads: number, n: number): { med: number; min: number; loss: number } | string {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const r = spawnSync(
    PYTHON,
    [join(here, 'train_torch.py'), '--threads', String(threads), '--steps', String(n), '--V', String(V)],
    { encoding: 'utf8', env },
  );
  if (r.status !== 0) return `PyTorch unavailable (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`;
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    ms_per_step_median: number;
    ms_per_step_min: number;
    last_loss_nats: number;
  };
  return { med: j.ms_per_step_median, min: j.ms_per_step_min, loss: j.last_loss_nats };
}

function torchBlas(): string {
  const r = spawnSync(
    PYTHON,
    ['-c', "import torch,re; s=torch.__config__.show(); print(re.search(r'BLAS_INFO=(\\w+)', s).group(1))"],
    { encoding: 'utf8' },
  );
  const blas = spawnSync('readlink', ['-f', '/usr/lib/x86_64-linux-gnu/libblas.so.3'], { encoding: 'utf8' });
  return `BLAS_INFO=${r.stdout.trim() || '?'}, libblas.so.3 → ${blas.stdout.trim() || '?'}`;
}

/** Step times (ms) of `steps` timed steps after 2 warm-up steps on one backend of xent. */
function xent(impl: 'native' | 'wasm', V: number, threads: number): { times: number[]; loss: number } {
  const init = createLstmModel({ V, E, H, seed: 0 });
  const o = { B, T, threads, ...(rows !== undefined ? { rowsPerChunk: rows } : {}) };
  const flat = init.params.flat as Float32Array;
  const tr =
    impl === 'native' ? new NativeLstmTrainer(nt!, init.config, o, flat) : new FastLstmTrainer(init.config, o, flat);
  const times: number[] = [];
  let loss = NaN;
  try {
    for (let s = 0; s < steps + 2; s++) {
      const x = randomTokens(B * T, V, s, 1),
        y = randomTokens(B * T, V, s, 2);
      const t0 = performance.now();
      loss = tr.step(x, y, { lr: 1e-3 }, 1).loss;
      if (s >= 2) times.push(performance.now() - t0);
    }
    return { times, loss };
  } finally {
    tr.close();
  }
}

type Acc = { times: number[]; mins: number[]; loss: number } | string;
const acc = new Map<string, Acc>();
const add = (key: string, r: { times?: number[]; med?: number; min: number; loss: number } | string): void => {
  const prev = acc.get(key);
  if (typeof r === 'string') return void acc.set(key, r);
  if (typeof prev === 'string') return;
  const e = prev ?? { times: [], mins: [], loss: NaN };
  if (r.times) e.times.push(...r.times);
  else e.times.push(r.med!);
  e.mins.push(r.min);
  e.loss = r.loss;
  acc.set(key, e);
};
const best = (m: Map<number, number>): [number, number] => [...m].reduce((a, b) => (b[1] < a[1] ? b : a));

if (!e2e) {
  const V = 10000;
  for (let r = 0; r < rounds; r++) {
    for (const th of threadList) {
      for (const impl of ['native', 'wasm'] as const) {
        if (!impls.has(impl)) continue;
        const x = xent(impl, V, th);
        add(`${impl} ${th}`, { times: x.times, min: Math.min(...x.times), loss: x.loss });
      }
      if (impls.has('pytorch')) add(`pytorch ${th}`, torch(V, th, steps));
    }
  }
  console.log(
    `train bench: Embedding(${V},${E}) → LSTM(${E}→${H}) → Linear(${H}→${V}), batch ${B}×${T}, Adam, clip 1.0, ${steps} timed steps (+2 warm-up) × ${rounds} round(s), alternating; xent native ${nt ? `(${nt.info().isa})` : ''}, rows per block ${rows ?? 'default'}`,
  );
  console.log('impl      threads  ms/step (median)  ms/step (min)  tokens/s (median)  loss (nats/token)');
  const med = new Map<string, Map<number, number>>();
  for (const impl of ['native', 'wasm', 'pytorch']) {
    if (!impls.has(impl)) continue;
    for (const th of threadList) {
      const a = acc.get(`${impl} ${th}`)!;
      if (typeof a === 'string') {
        console.log(`${impl.padEnd(8)} ${String(th).padStart(8)}  ${a}`);
        continue;
      }
      const m = median(a.times);
      if (!med.has(impl)) med.set(impl, new Map());
      med.get(impl)!.set(th, m);
      console.log(
        `${impl.padEnd(8)} ${String(th).padStart(8)}  ${m.toFixed(1).padStart(16)}  ${Math.min(...a.mins)
          .toFixed(1)
          .padStart(13)}  ${tps(m).toFixed(0).padStart(17)}  ${a.loss.toFixed(4)}`,
      );
    }
  }
  const tm = med.get('pytorch');
  if (tm && tm.size > 0) {
    const [tBestTh, tBest] = best(tm);
    console.log(`PyTorch best: ${tBestTh} thread(s), ${tps(tBest).toFixed(0)} tokens/s (BLAS: ${torchBlas()})`);
    for (const impl of ['native', 'wasm']) {
      const m = med.get(impl);
      if (!m) continue;
      console.log(
        `xent ${impl} / PyTorch best (tokens/s, medians): ${[...m].map(([th, ms]) => `${th} thread(s) ${(tBest / ms).toFixed(2)}×`).join(', ')}`,
      );
    }
  }
} else {
  const data = sharedPath('data', 'tinystories_valid_600k.txt');
  if (!data) {
    console.error('train bench --e2e: needs ../shared/data/tinystories_valid_600k.txt');
    process.exit(1);
  }
  const cli = join(REPO_ROOT, 'dist', 'cli', 'main.js');
  const th = threadList[0]!;
  const cmd = [
    'train',
    '--data',
    data,
    '--arch',
    'lstm',
    '--vocab',
    'bpe:4096',
    '--emb',
    String(E),
    '--hidden',
    String(H),
    '--seq',
    String(T),
    '--batch',
    String(B),
    '--steps',
    String(steps),
    '--threads',
    String(th),
  ];
  let V = 4096;
  const eRuns = new Map<string, { withVal: number[]; train: number[]; val: number }>();
  for (let r = 0; r < rounds; r++) {
    for (const impl of ['native', 'wasm']) {
      if (!impls.has(impl)) continue;
      const out = mkdtempSync(join(tmpdir(), 'xent-bench-train-'));
      try {
        const p = spawnSync(process.execPath, [cli, ...cmd, '--backend', impl, '--out', out, '--json'], {
          encoding: 'utf8',
          maxBuffer: 1 << 24,
        });
        if (p.status !== 0) {
          console.log(`xent ${impl}: failed: ${p.stderr.trim().split('\n').pop()}`);
          continue;
        }
        const j = JSON.parse(p.stdout.trim().split('\n').pop()!) as Record<string, number>;
        V = j.vocab_size!;
        const e = eRuns.get(impl) ?? { withVal: [], train: [], val: NaN };
        e.withVal.push(j.tokens_per_second_with_validation!);
        e.train.push(j.tokens_per_second!);
        e.val = j.val_nats_per_token!;
        eRuns.set(impl, e);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
    if (impls.has('pytorch')) for (const t of [1, 2]) add(`pytorch ${t}`, torch(V, t, 8));
  }
  console.log(
    `train bench --e2e: xent ${cmd.join(' ')} (V = ${V}) × ${rounds} round(s), against PyTorch's training step at V = ${V} (8 timed steps)`,
  );
  console.log('impl      threads  tokens/s (with validation)  tokens/s (steps only)  val nats/token');
  for (const [impl, e] of eRuns)
    console.log(
      `${`xent ${impl}`.padEnd(12)} ${String(th).padStart(5)}  ${median(e.withVal).toFixed(0).padStart(26)}  ${median(e.train).toFixed(0).padStart(21)}  ${e.val.toFixed(4)}`,
    );
  const tm = new Map<number, number>();
  for (const t of [1, 2]) {
    const a = acc.get(`pytorch ${t}`);
    if (!a) continue;
    if (typeof a === 'string') console.log(`pytorch ${t}: ${a}`);
    else {
      tm.set(t, median(a.times));
      console.log(
        `${'pytorch'.padEnd(12)} ${String(t).padStart(5)}  ${tps(median(a.times)).toFixed(0).padStart(26)}  (step only, ${median(a.times).toFixed(1)} ms)`,
      );
    }
  }
  if (tm.size > 0) {
    const [tBestTh, tBest] = best(tm);
    console.log(`PyTorch best: ${tBestTh} thread(s), ${tps(tBest).toFixed(0)} tokens/s (BLAS: ${torchBlas()})`);
    for (const [impl, e] of eRuns)
      console.log(
        `xent ${impl} (validation included) / PyTorch best = ${(median(e.withVal) / tps(tBest)).toFixed(2)}×`,
      );
  }
}
