// `npm run bench -- train [--steps N] [--threads 1,2] [--rows R]`: training steps of the seed
// LSTM language model (V=10000, E=128, H=256, batch 32 × 50, Adam, clip 1.0) in xent's
// WebAssembly trainer and in PyTorch (bench/train_torch.py, Debian's python3-torch), side by
// side in one run, interleaved per thread count. Prints medians (and minima) of ms per step
// and tokens/s, and the ratio. The machine is shared: compare ratios, rerun when noisy.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FastLstmTrainer } from '../src/train/fast-trainer.js';
import { createLstmModel } from '../src/train/lstm.js';
import { randomTokens } from '../src/train/rng.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const steps = Number(opt('--steps', '8'));
const threadList = opt('--threads', '1,2').split(',').map(Number);
const rows = Number(opt('--rows', '128'));
const V = 10000, E = 128, H = 256, B = 32, T = 50;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function xent(threads: number): { med: number; min: number; loss: number; relaxed: boolean } {
  const init = createLstmModel({ V, E, H, seed: 0 });
  const tr = new FastLstmTrainer(init.config, { B, T, threads, rowsPerChunk: rows }, init.params.flat as Float32Array);
  const times: number[] = [];
  let loss = NaN;
  try {
    for (let s = 0; s < steps + 2; s++) {
      const x = randomTokens(B * T, V, s, 1), y = randomTokens(B * T, V, s, 2);
      const t0 = performance.now();
      loss = tr.step(x, y, { lr: 1e-3 }, 1).loss;
      if (s >= 2) times.push(performance.now() - t0);
    }
    return { med: median(times), min: Math.min(...times), loss, relaxed: tr.k.relaxed };
  } finally {
    tr.close();
  }
}

function torch(threads: number): { med: number; min: number; loss: number } | string {
  const r = spawnSync('/usr/bin/python3', [join(here, 'train_torch.py'), '--threads', String(threads), '--steps', String(steps)], { encoding: 'utf8' });
  if (r.status !== 0) return `PyTorch unavailable (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`;
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms_per_step_median: number; ms_per_step_min: number; last_loss_nats: number };
  return { med: j.ms_per_step_median, min: j.ms_per_step_min, loss: j.last_loss_nats };
}

const tps = (ms: number): string => ((B * T) / (ms / 1000)).toFixed(0);
console.log(`train bench: Embedding(${V},${E}) → LSTM(${E}→${H}) → Linear(${H}→${V}), batch ${B}×${T}, Adam, clip 1.0, ${steps} timed steps (+2 warm-up)`);
console.log('impl     threads  ms/step (median)  ms/step (min)  tokens/s (median)  loss (nats)');
const best: { xent: number; torch: number } = { xent: Infinity, torch: Infinity };
for (const th of threadList) {
  const x = xent(th);
  best.xent = Math.min(best.xent, x.med);
  console.log(`xent${x.relaxed ? '*' : ' '}    ${String(th).padStart(7)}  ${x.med.toFixed(1).padStart(16)}  ${x.min.toFixed(1).padStart(13)}  ${tps(x.med).padStart(17)}  ${x.loss.toFixed(4)}`);
  const t = torch(th);
  if (typeof t === 'string') console.log(`pytorch  ${String(th).padStart(7)}  ${t}`);
  else {
    best.torch = Math.min(best.torch, t.med);
    console.log(`pytorch  ${String(th).padStart(7)}  ${t.med.toFixed(1).padStart(16)}  ${t.min.toFixed(1).padStart(13)}  ${tps(t.med).padStart(17)}  ${t.loss.toFixed(4)}`);
  }
}
if (Number.isFinite(best.torch)) {
  console.log(`best: xent ${tps(best.xent)} tokens/s, PyTorch ${tps(best.torch)} tokens/s → xent/PyTorch = ${(best.torch / best.xent).toFixed(2)}× (>1 means xent is faster)`);
}
console.log('(* = relaxed-SIMD fused multiply-add kernels)');
