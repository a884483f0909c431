// `npm run bench -- train [--steps N] [--threads 1,2] [--rows R] [--rounds K]`: training steps
// of the seed LSTM language model (V=10000, E=128, H=256, batch 32 × 50, Adam, clip 1.0) in
// xent's WebAssembly trainer and in PyTorch (bench/train_torch.py, Debian's python3-torch),
// side by side in one run, interleaved per thread count (and repeated --rounds times, which
// pools xent's step times and takes the median of PyTorch's per-round medians). Prints
// medians (and minima) of ms per step and tokens/s, xent at its default thread count
// (what `xent train` uses) and at its best, PyTorch at each thread count, and the ratios.
// The machine is shared: compare ratios within one run, rerun when noisy.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomTokens } from '../src/core/rng.js';
import { median } from '../src/core/stats.js';
import { enableRelaxedSimd } from '../src/kernels/relaxed-simd.js';
import { createLstmModel } from '../src/models/lstm/lstm.js';
import { FastLstmTrainer } from '../src/train/fast-trainer.js';

enableRelaxedSimd(); // as the CLI does: Node 20 needs V8's flag for the fused multiply-add kernels

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const steps = Number(opt('--steps', '8'));
const threadList = opt('--threads', '1,2').split(',').map(Number);
const rows = Number(opt('--rows', '128'));
const rounds = Math.max(1, Number(opt('--rounds', '1')));
const V = 10000,
  E = 128,
  H = 256,
  B = 32,
  T = 50;

/** Step times (ms) of `steps` timed steps after 2 warm-up steps; threads undefined = the trainer's default. */
function xent(threads: number | undefined): { times: number[]; loss: number; relaxed: boolean; threads: number } {
  const init = createLstmModel({ V, E, H, seed: 0 });
  const tr = new FastLstmTrainer(
    init.config,
    { B, T, rowsPerChunk: rows, ...(threads !== undefined ? { threads } : {}) },
    init.params.flat as Float32Array,
  );
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
    return { times, loss, relaxed: tr.k.relaxed, threads: tr.k.threads };
  } finally {
    tr.close();
  }
}

function torch(threads: number): { med: number; min: number; loss: number } | string {
  const r = spawnSync(
    '/usr/bin/python3',
    [join(here, 'train_torch.py'), '--threads', String(threads), '--steps', String(steps)],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return `PyTorch unavailable (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`;
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    ms_per_step_median: number;
    ms_per_step_min: number;
    last_loss_nats: number;
  };
  return { med: j.ms_per_step_median, min: j.ms_per_step_min, loss: j.last_loss_nats };
}

const tps = (ms: number): string => ((B * T) / (ms / 1000)).toFixed(0);
const defaultThreads = xent(undefined); // one short run to learn the default (and warm the module cache)
const xs = new Map<number, { times: number[]; loss: number; relaxed: boolean }>();
const ts = new Map<number, { meds: number[]; mins: number[]; loss: number } | string>();
for (let r = 0; r < rounds; r++) {
  for (const th of threadList) {
    const x = xent(th);
    const e = xs.get(th) ?? { times: [], loss: NaN, relaxed: x.relaxed };
    e.times.push(...x.times);
    e.loss = x.loss;
    xs.set(th, e);
    const t = torch(th);
    const prev = ts.get(th);
    if (typeof t === 'string') ts.set(th, t);
    else if (typeof prev !== 'string')
      ts.set(th, { meds: [...(prev?.meds ?? []), t.med], mins: [...(prev?.mins ?? []), t.min], loss: t.loss });
  }
}

console.log(
  `train bench: Embedding(${V},${E}) → LSTM(${E}→${H}) → Linear(${H}→${V}), batch ${B}×${T}, Adam, clip 1.0, ${steps} timed steps (+2 warm-up) × ${rounds} round(s)`,
);
console.log('impl     threads  ms/step (median)  ms/step (min)  tokens/s (median)  loss (nats/token)');
const row = (impl: string, th: number, med: number, min: number, loss: number): void =>
  console.log(
    `${impl.padEnd(8)} ${String(th).padStart(7)}  ${med.toFixed(1).padStart(16)}  ${min.toFixed(1).padStart(13)}  ${tps(med).padStart(17)}  ${loss.toFixed(4)}`,
  );
const xMed = new Map<number, number>();
const tMed = new Map<number, number>();
// minima: the least disturbed steps, a steadier comparison while other jobs share the cores
const xMin = new Map<number, number>();
const tMin = new Map<number, number>();
for (const th of threadList) {
  const x = xs.get(th)!;
  xMed.set(th, median(x.times));
  xMin.set(th, Math.min(...x.times));
  row(`xent${x.relaxed ? '*' : ''}`, th, median(x.times), Math.min(...x.times), x.loss);
  const t = ts.get(th)!;
  if (typeof t === 'string') console.log(`pytorch  ${String(th).padStart(7)}  ${t}`);
  else {
    tMed.set(th, median(t.meds));
    tMin.set(th, Math.min(...t.mins));
    row('pytorch', th, median(t.meds), Math.min(...t.mins), t.loss);
  }
}
const bestOf = (m: Map<number, number>): [number, number] => [...m].reduce((a, b) => (b[1] < a[1] ? b : a));
const [xBestTh, xBest] = bestOf(xMed);
const xDefTh = defaultThreads.threads;
const xDef = xMed.get(xDefTh) ?? median(defaultThreads.times);
console.log(
  `xent default (${xDefTh} thread(s), as \`xent train\` runs): ${tps(xDef)} tokens/s; xent best (${xBestTh} thread(s)): ${tps(xBest)} tokens/s`,
);
if (tMed.size > 0) {
  const [tBestTh, tBest] = bestOf(tMed);
  console.log(
    `PyTorch ${[...tMed].map(([th, ms]) => `${th} thread(s): ${tps(ms)} tokens/s`).join(', ')}; best ${tBestTh} thread(s)`,
  );
  console.log(
    `xent default / PyTorch best = ${(tBest / xDef).toFixed(2)}×, xent best / PyTorch best = ${(tBest / xBest).toFixed(2)}× (tokens/s ratio of medians; ≥ 1 means xent is at least as fast)`,
  );
  const [xmTh, xm] = bestOf(xMin);
  const [tmTh, tm] = bestOf(tMin);
  console.log(
    `by minima: xent ${xm.toFixed(1)} ms/step (${xmTh} thread(s)), PyTorch ${tm.toFixed(1)} ms/step (${tmTh} thread(s)) → xent / PyTorch = ${(tm / xm).toFixed(2)}× (tokens/s ratio)`,
  );
}
console.log('(* = relaxed-SIMD fused multiply-add kernels)');
