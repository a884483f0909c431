/**
 * `xent bench lce --rows N --hidden H --vocab V --threads T [--backend auto|native|wasm|js]
 * [--reps R] [--warmup W] [--vocab-block Vb] [--json]`: times linearCrossEntropy forward +
 * backward (loss, dHidden, dWeight, dBias; reduction 'mean') on random float32 inputs
 * hidden [N, H] ~ N(0, 1), weight [V, H] ~ N(0, 1/H), bias 0, uniform targets.
 *
 * Each run is measured in a fresh child process (this command re-runs itself with --child and
 * V8's --expose-gc), so its memory figure belongs to that configuration alone:
 * peak_extra_bytes = getrusage's max RSS at the end − the RSS once the inputs exist, i.e. what
 * the calls added at their peak — the returned gradients included (dWeight is V·H floats), as a
 * PyTorch backward allocates them too. Before each timed call the previous call's outputs are
 * dropped and collected, so only one call's outputs are ever alive.
 *
 * JSON: { median_s, peak_extra_bytes, min_s, all_s, backend, rows, hidden, vocab, threads,
 * vocab_block, reps, loss_nats }.
 */
import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { median } from '../core/stats.js';
import type { LinearCrossEntropyResult } from '../loss/linear-cross-entropy.js';
import { measureInChild } from './bench-child.js';
import { fillNormal } from './bench-inputs.js';
import { intOption } from './options.js';

interface LceBenchOptions {
  rows: string;
  hidden: string;
  vocab: string;
  threads: string;
  backend: string;
  reps: string;
  warmup: string;
  vocabBlock?: string;
  seed: string;
  json?: boolean;
  child?: boolean;
}

export interface LceBenchResult {
  median_s: number;
  peak_extra_bytes: number;
  min_s: number;
  all_s: number[];
  backend: string;
  rows: number;
  hidden: number;
  vocab: number;
  threads: number;
  vocab_block: number;
  reps: number;
  /** The last loss in nats per token (a sanity value: about ln V for these inputs). */
  loss_nats: number;
}

const OP = 'xent bench lce';
const BACKENDS = ['auto', 'native', 'wasm', 'js'] as const;

const int = (name: string, s: string, min: number): number => intOption(OP, `--${name}`, s, min);

function checkFlags(o: LceBenchOptions): void {
  for (const [k, min] of [
    ['rows', 1],
    ['hidden', 1],
    ['vocab', 1],
    ['threads', 1],
    ['reps', 1],
    ['warmup', 0],
    ['seed', 0],
  ] as const)
    int(k, o[k], min);
  if (o.vocabBlock !== undefined) int('vocab-block', o.vocabBlock, 1);
  if (!(BACKENDS as readonly string[]).includes(o.backend))
    throw new XentError('invalid_argument', OP, `--backend must be one of ${BACKENDS.join(', ')}, got '${o.backend}'`, {
      arg: '--backend',
      value: o.backend,
    });
}

async function measure(o: LceBenchOptions): Promise<LceBenchResult> {
  checkFlags(o);
  const n = int('rows', o.rows, 1);
  const h = int('hidden', o.hidden, 1);
  const v = int('vocab', o.vocab, 1);
  const threads = int('threads', o.threads, 1);
  const reps = int('reps', o.reps, 1);
  const warmup = int('warmup', o.warmup, 0);
  const seed = int('seed', o.seed, 0);
  const { linearCrossEntropy } = await import('../loss/linear-cross-entropy.js');
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const hidden = new Float32Array(n * h);
  const weight = new Float32Array(v * h);
  fillNormal(hidden, seed + 1, 1);
  fillNormal(weight, seed + 2, 1 / Math.sqrt(h));
  const bias = new Float32Array(v);
  const target = new Int32Array(n);
  for (let i = 0; i < n; i++) target[i] = ((i * 2654435761 + seed) % v) >>> 0;
  const opts = {
    bias,
    grad: true,
    threads,
    backend: o.backend as (typeof BACKENDS)[number],
    ...(o.vocabBlock === undefined ? {} : { vocabBlock: Number(o.vocabBlock) }),
  };
  const H = { data: hidden, shape: [n, h] as [number, number] };
  const W = { data: weight, shape: [v, h] as [number, number] };
  // Load the backend (addon, WebAssembly module, workers) on a tiny call before the baseline.
  const tiny = { data: new Float32Array(8 * h), shape: [8, h] as [number, number] };
  linearCrossEntropy(
    tiny,
    { data: weight.subarray(0, Math.min(v, 64) * h), shape: [Math.min(v, 64), h] },
    new Int32Array(8),
    {
      ...opts,
      bias: bias.subarray(0, Math.min(v, 64)),
    },
  );
  gc();
  const rssAfterInputs = process.memoryUsage.rss();
  let last: LinearCrossEntropyResult | undefined;
  let loss = Number.NaN;
  let backend = '';
  let vocabBlock = 0;
  const times: number[] = [];
  for (let i = 0; i < warmup + reps; i++) {
    last = undefined;
    gc();
    const t0 = performance.now();
    last = linearCrossEntropy(H, W, target, opts);
    const t = (performance.now() - t0) / 1000;
    if (i >= warmup) times.push(t);
    loss = last.loss as number;
    backend = last.backend;
    vocabBlock = last.vocabBlock;
  }
  const peak = process.resourceUsage().maxRSS * 1024;
  return {
    median_s: median(times),
    peak_extra_bytes: Math.max(0, peak - rssAfterInputs),
    min_s: Math.min(...times),
    all_s: times,
    backend,
    rows: n,
    hidden: h,
    vocab: v,
    threads,
    vocab_block: vocabBlock,
    reps,
    loss_nats: loss,
  };
}

function childArgs(o: LceBenchOptions): string[] {
  const args = ['bench', 'lce', '--child', '--rows', o.rows, '--hidden', o.hidden, '--vocab', o.vocab];
  args.push('--threads', o.threads, '--backend', o.backend, '--reps', o.reps, '--warmup', o.warmup, '--seed', o.seed);
  if (o.vocabBlock !== undefined) args.push('--vocab-block', o.vocabBlock);
  return args;
}

/** Adds `lce` to the `xent bench` command (registered by bench.ts). */
export function register(program: Command): void {
  const bench = program.commands.find((c) => c.name() === 'bench');
  if (!bench) throw new Error('xent bench lce: register the bench command first');
  bench
    .command('lce')
    .description(
      'Time linearCrossEntropy forward + backward on random float32 inputs (median of repeated calls; peak extra memory; fresh process).',
    )
    .option('--rows <N>', 'rows (tokens) N', '8192')
    .option('--hidden <H>', 'hidden width H', '1024')
    .option('--vocab <V>', 'vocabulary size V', '32000')
    .option('--threads <T>', 'threads', '2')
    .option('--backend <b>', 'auto, native, wasm or js', 'auto')
    .option('--reps <n>', 'timed calls', '3')
    .option('--warmup <n>', 'untimed calls first', '1')
    .option('--vocab-block <Vb>', 'vocabulary rows per block (default: the backend’s)')
    .option('--seed <n>', 'seed of the random inputs', '0')
    .option('--json', 'print one JSON object')
    .option('--child', 'internal: measure in this process and print JSON')
    .action(async (o: LceBenchOptions) => {
      if (o.child) {
        process.stdout.write(`${JSON.stringify(await measure(o))}\n`);
        return;
      }
      checkFlags(o);
      const r = await measureInChild<LceBenchResult>(OP, childArgs(o), ['--expose-gc']);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const gflops = (6 * r.rows * r.hidden * r.vocab) / r.median_s / 1e9;
      process.stdout.write(
        `xent bench lce: ${r.rows}×${r.hidden} · ${r.vocab}×${r.hidden}, ${r.backend}, ${r.threads} thread${r.threads > 1 ? 's' : ''}, blocks of ${r.vocab_block}\n` +
          `  median ${r.median_s.toFixed(3)} s, min ${r.min_s.toFixed(3)} s over ${r.reps} calls (${gflops.toFixed(0)} GFLOP/s of the 3 products PyTorch does)\n` +
          `  peak extra memory ${(r.peak_extra_bytes / 2 ** 20).toFixed(1)} MiB (the gradients included: dWeight ${((r.vocab * r.hidden * 4) / 2 ** 20).toFixed(1)} MiB)\n` +
          `  loss ${r.loss_nats.toFixed(4)} nats per token\n`,
      );
    });
}
