/**
 * `xent bench ce --rows N --vocab V --threads T --op fwd|fwdbwd|read --dtype f32 [--json]`:
 * times xent's cross-entropy on random float32 logits [N, V] (WebAssembly kernels, T threads):
 * warm-up runs, then the median and minimum of --reps timed runs, in seconds.
 *
 * Each configuration is measured in a fresh child process (this command re-runs itself with
 * --child), so `peak_rss_bytes` (getrusage max RSS) belongs to that configuration alone.
 *
 *   --op fwd      loss only (reduction 'mean')
 *   --op fwdbwd   loss and d loss / d logits (the fused kernel)
 *   --op read     Σ of every logit with the same SIMD loads: one plain read, the bandwidth floor
 *   --input shared (default)  logits generated directly in the kernels' shared memory
 *                             (allocFloat32): the kernels read them without a copy
 *   --input copy              logits in an ordinary Float32Array: every call first copies
 *                             them into wasm memory (one extra pass)
 *   --grad out (default)      the gradient goes to a buffer allocated once before timing
 *                             (as a training loop reuses its gradient buffer)
 *   --grad inplace            the gradient overwrites the logits (no N×V buffer at all)
 *   --grad fresh              a new Float32Array per call (what `grad: true` does)
 * JSON: { op, rows, vocab, threads, median_s, min_s, peak_rss_bytes, … }.
 */
import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { median } from '../core/stats.js';
import { measureInChild } from './bench-child.js';
import { fillNormal } from './bench-inputs.js';
import { intOption } from './options.js';

interface CeBenchOptions {
  rows: string;
  vocab: string;
  threads: string;
  op: string;
  dtype: string;
  reps: string;
  warmup: string;
  input: string;
  grad: string;
  seed: string;
  json?: boolean;
  child?: boolean;
}

export interface CeBenchResult {
  op: 'fwd' | 'fwdbwd' | 'read';
  rows: number;
  vocab: number;
  threads: number;
  dtype: 'f32';
  /** The kernels' build that ran: 'simd', or 'relaxed-simd' (fused multiply-add) where the engine accepts it. */
  build: string;
  input: 'shared' | 'copy';
  grad: 'out' | 'inplace' | 'fresh' | null;
  reps: number;
  median_s: number;
  min_s: number;
  all_s: number[];
  /** Peak resident set of the measuring process (getrusage max RSS). */
  peak_rss_bytes: number;
  /** RSS once the logits and targets exist, before the gradient buffer and any measured call. */
  rss_after_inputs_bytes: number;
  /** peak − after inputs: the gradient buffer (--grad out/fresh) plus whatever the calls added. */
  extra_peak_bytes: number;
  logits_bytes: number;
  /** The last loss, in nats per token (a sanity value: ≈ ln V + 0.5·σ² for these logits). */
  loss_nats: number;
}

const OP = 'xent bench ce';

const int = (name: string, s: string, min: number): number => intOption(OP, `--${name}`, s, min);

function oneOf<T extends string>(name: string, s: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(s)) {
    throw new XentError('invalid_argument', OP, `--${name} must be one of ${values.join(', ')}, got '${s}'`, {
      arg: `--${name}`,
      value: s,
    });
  }
  return s as T;
}

/** The measurement itself (runs in the child process). */
async function measure(o: CeBenchOptions): Promise<CeBenchResult> {
  const rows = int('rows', o.rows, 1);
  const vocab = int('vocab', o.vocab, 1);
  const threads = int('threads', o.threads, 1);
  const reps = int('reps', o.reps, 1);
  const warmup = int('warmup', o.warmup, 0);
  const op = oneOf('op', o.op, ['fwd', 'fwdbwd', 'read'] as const);
  oneOf('dtype', o.dtype, ['f32'] as const);
  const input = oneOf('input', o.input, ['shared', 'copy'] as const);
  const grad = op === 'fwdbwd' ? oneOf('grad', o.grad, ['out', 'inplace', 'fresh'] as const) : null;
  const { crossEntropy } = await import('../loss/cross-entropy.js');
  const { allocFloat32, kernelBuild, kernelsAvailable, kernelsUnavailableReason } = await import(
    '../kernels/runtime.js'
  );
  const { rowSumsWasm } = await import('../kernels/log-softmax.js');
  if (!kernelsAvailable())
    throw new XentError(
      'missing_dependency',
      OP,
      `the WebAssembly kernels are unavailable: ${kernelsUnavailableReason()}`,
    );
  const n = rows * vocab;
  if (n * 4 > 3.5 * 2 ** 30)
    throw new XentError(
      'invalid_argument',
      OP,
      `${rows}×${vocab} float32 logits (${((n * 4) / 2 ** 30).toFixed(2)} GiB) exceed what one WebAssembly memory holds next to a gradient`,
      { arg: '--rows' },
    );

  const seed = int('seed', o.seed, 0);
  const x = input === 'shared' ? allocFloat32(n) : new Float32Array(n);
  fillNormal(x, seed + 1, 1);
  const target = new Int32Array(rows);
  for (let i = 0; i < rows; i++) target[i] = ((i * 2654435761 + seed) % vocab) >>> 0;
  const rssAfterInputs = process.memoryUsage.rss();
  // The reused gradient buffer is allocated (and zero-filled: its pages touched) before timing,
  // but after the baseline, so extra_peak_bytes includes it.
  const out = grad === 'out' ? allocFloat32(n) : null;
  const matrix = { data: x, shape: [rows, vocab] as [number, number] };
  const sums = new Float64Array(rows);

  let loss = NaN;
  const once = (): void => {
    if (op === 'read') {
      rowSumsWasm(x, rows, vocab, sums, threads);
      return;
    }
    const opts =
      op === 'fwd'
        ? {}
        : grad === 'out'
          ? { out: out as Float32Array }
          : grad === 'inplace'
            ? { inPlace: true }
            : { grad: true };
    loss = crossEntropy(matrix, target, { ...opts, backend: 'wasm', threads }).loss;
  };
  for (let i = 0; i < warmup; i++) once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    once();
    times.push((performance.now() - t0) / 1000);
  }
  const peak = process.resourceUsage().maxRSS * 1024;
  return {
    op,
    rows,
    vocab,
    threads,
    dtype: 'f32',
    build: kernelBuild(),
    input,
    grad,
    reps,
    median_s: median(times),
    min_s: Math.min(...times),
    all_s: times,
    peak_rss_bytes: peak,
    rss_after_inputs_bytes: rssAfterInputs,
    extra_peak_bytes: Math.max(0, peak - rssAfterInputs),
    logits_bytes: n * 4,
    loss_nats: loss,
  };
}

/** Runs one configuration in a fresh child process and returns its result. */
function childArgs(o: CeBenchOptions): string[] {
  const args = ['bench', 'ce', '--child', '--rows', o.rows, '--vocab', o.vocab, '--threads', o.threads];
  args.push('--op', o.op, '--dtype', o.dtype, '--reps', o.reps, '--warmup', o.warmup);
  args.push('--input', o.input, '--grad', o.grad, '--seed', o.seed);
  return args;
}

function gib(b: number): string {
  return `${(b / 2 ** 30).toFixed(2)} GiB`;
}

export function register(program: Command): void {
  const bench = program
    .command('bench')
    .description('Benchmarks of xent alone (side by side with PyTorch: npm run bench -- ce).');
  bench
    .command('ce')
    .description(
      'Time cross-entropy on random float32 logits [rows, vocab] with the WebAssembly kernels (median of repeated runs, fresh process per run).',
    )
    .option('--rows <N>', 'rows (tokens) N', '8192')
    .option('--vocab <V>', 'vocabulary size V', '32000')
    .option('--threads <T>', 'threads (the calling thread + T−1 workers)', '2')
    .option('--op <op>', 'fwd (loss), fwdbwd (loss and gradient) or read (one plain read of the logits)', 'fwd')
    .option('--dtype <dtype>', 'logits dtype (f32)', 'f32')
    .option('--reps <n>', 'timed runs', '7')
    .option('--warmup <n>', 'untimed runs first', '1')
    .option('--input <where>', "shared (logits in the kernels' memory) or copy (an ordinary Float32Array)", 'shared')
    .option('--grad <dest>', 'fwdbwd gradient destination: out (reused buffer), inplace or fresh', 'out')
    .option('--seed <n>', 'seed of the random logits and targets', '0')
    .option('--json', 'print one JSON object')
    .option('--child', 'internal: measure in this process and print JSON')
    .action(async (o: CeBenchOptions) => {
      if (o.child) {
        process.stdout.write(`${JSON.stringify(await measure(o))}\n`);
        return;
      }
      // Validate here too, so a bad flag is one clear line rather than a child's failure.
      for (const [k, min] of [
        ['rows', 1],
        ['vocab', 1],
        ['threads', 1],
        ['reps', 1],
        ['warmup', 0],
        ['seed', 0],
      ] as const)
        int(k, o[k], min);
      oneOf('op', o.op, ['fwd', 'fwdbwd', 'read'] as const);
      oneOf('dtype', o.dtype, ['f32'] as const);
      oneOf('input', o.input, ['shared', 'copy'] as const);
      oneOf('grad', o.grad, ['out', 'inplace', 'fresh'] as const);
      const r = await measureInChild<CeBenchResult>(OP, childArgs(o));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const gbs = r.logits_bytes / r.median_s / 1e9;
      process.stdout.write(
        `xent bench ce: ${r.op} ${r.rows}×${r.vocab} f32, ${r.threads} thread${r.threads > 1 ? 's' : ''}, input ${r.input}${r.grad ? `, grad ${r.grad}` : ''}, ${r.build} kernels\n` +
          `  median ${r.median_s.toFixed(4)} s, min ${r.min_s.toFixed(4)} s over ${r.reps} runs (${gbs.toFixed(1)} GB/s of logits)\n` +
          `  peak RSS ${gib(r.peak_rss_bytes)} (logits ${gib(r.logits_bytes)}, added by the measured calls ${gib(r.extra_peak_bytes)})\n` +
          (r.op === 'read' ? '' : `  loss ${r.loss_nats.toFixed(4)} nats per token\n`),
      );
    });
}
