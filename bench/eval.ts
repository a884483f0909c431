/**
 * `npm run bench -- eval [--model S] [--ctx 128,512] [--chunks N] [--repeat 3] [--threads 2] [--map] [--build-llama-perplexity]`
 *
 * `xent eval` beside llama.cpp's llama-perplexity on tinystories_valid_600k.txt, both
 * shared GGUF models (stories260K, V = 512; llama-2-tiny-random, V = 32000), each tool
 * with its defaults (-b 2048 -ub 512, flash attention auto), the same chunks and threads,
 * alternating the two and reporting medians (the machine is shared and noisy). Per tool:
 *   PPL               the final estimate (they should be equal: xent decodes as llama-perplexity does)
 *   scoring tok/s     = chunks × ctx / scoring seconds (xent: its --json scoring_seconds;
 *                       llama-perplexity: its log timestamps, "calculating perplexity" to "Final estimate")
 *   wall s            process start to exit (adds start-up, model load, tokenising)
 *   peak MiB          the process's peak resident memory (wait4's ru_maxrss via /usr/bin/time)
 * e.g. `npm run bench -- eval --ctx 2048,8192,16384 --repeat 1`: llama-perplexity keeps ctx × V
 * logits per sequence, xent one micro-batch of rows: memory flat in ctx.
 *
 * --chunks N    at most N chunks (default: 65,536 tokens' worth, at least 2, at most the text's)
 * --map         also time the node-llama-cpp probability-Map engine (few chunks: slow at V = 32000)
 * --model S     only the models whose file name contains S (e.g. stories260K)
 * --ctx N[,M]   these context sizes (default 128,512)
 * llama-perplexity: $LLAMA_PERPLEXITY, or build/llama.cpp/build/bin/llama-perplexity, which
 * --build-llama-perplexity builds natively from node-llama-cpp's bundled llama.cpp (bench/lib/llama.ts).
 */
import { join } from 'node:path';
import { median } from '../src/core/stats.js';
import { llamaFigures, llamaLogSeconds, llamaPerplexity, type Measured, measured } from './lib/llama.js';
import { REPO_ROOT, sharedPath } from './lib/shared.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const threads = opt('--threads', '2');
const chunksOpt = args.includes('--chunks') ? Number(opt('--chunks', '0')) : undefined;
const repeat = Number(opt('--repeat', '3'));
const withMap = args.includes('--map');
const modelFilter = opt('--model', '');
const ctxList = opt('--ctx', '128,512').split(',').map(Number);
const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const data = sharedPath('data', 'tinystories_valid_600k.txt');
const models = ['stories260K.gguf', 'llama-2-tiny-random.gguf']
  .filter((m) => m.includes(modelFilter))
  .map((m) => sharedPath('models', m));
if (!data || models.some((m) => !m)) {
  console.error('bench eval: needs ../shared/models and ../shared/data');
  process.exit(2);
}
const llamaBin = llamaPerplexity(args);

interface Run extends Measured {
  /** Scoring time only. */
  scoring: number;
  ppl: string;
  tokens: number;
}

async function timeXent(model: string, ctx: number, chunks: number, engine: string): Promise<Run> {
  const r = await measured(process.execPath, [
    CLI,
    'eval',
    '--model',
    model,
    '--data',
    data!,
    '--ctx',
    String(ctx),
    '--chunks',
    String(chunks),
    '--threads',
    threads,
    '--engine',
    engine,
    '--json',
  ]);
  if (r.status !== 0) throw new Error(`xent eval failed: ${r.out.slice(-2000)}`);
  const j = JSON.parse(r.stdout) as {
    perplexity: number;
    perplexity_pm: number;
    scoring_seconds: number;
    chunks: number;
  };
  return {
    ...r,
    scoring: j.scoring_seconds,
    ppl: `${j.perplexity.toFixed(4)} ± ${j.perplexity_pm.toFixed(5)}`,
    tokens: j.chunks * ctx,
  };
}

async function timeLlama(model: string, ctx: number, chunks: number): Promise<Run> {
  const a = ['-m', model, '-f', data!, '-c', String(ctx), '-t', threads, '--chunks', String(chunks)];
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await measured(llamaBin!, a);
    const f = llamaFigures(r.out);
    if (r.status !== 0) throw new Error(`llama-perplexity failed: ${r.out.split('\n').slice(-5).join('\n')}`);
    if (!f.final) continue; // its logger lost the line at exit: run again
    const s = llamaLogSeconds(r.out, 'calculating perplexity over', 'Final estimate');
    return { ...r, scoring: Number.isFinite(s) ? s : r.seconds, ppl: f.final, tokens: f.running.size * ctx };
  }
  throw new Error('llama-perplexity printed no final estimate in 3 runs');
}

console.log(
  `xent eval benchmark: ${threads} threads, tinystories_valid_600k.txt, both tools' defaults (-b 2048, -ub 512, flash attention auto), medians of ${repeat} alternating runs`,
);
console.log(
  `llama-perplexity: ${llamaBin ?? 'not given (set LLAMA_PERPLEXITY=/path/to/llama-perplexity or pass --build-llama-perplexity)'}`,
);
const header = [
  'model',
  'V',
  'ctx',
  'chunks',
  'PPL (xent)',
  'PPL (llama)',
  'xent scoring tok/s',
  'llama scoring tok/s',
  'ratio',
  'xent wall s',
  'llama wall s',
  'xent peak MiB',
  'llama peak MiB',
  'memory ratio',
  'xent map scoring tok/s',
];
console.log(header.join(' | '));
const MiB = 2 ** 20;
for (const model of models as string[]) {
  const V = model.includes('tiny-random') ? 32000 : 512;
  for (const ctx of ctxList) {
    const available = Math.floor(150_000 / ctx); // the text has ~160,000 tokens
    const chunks = Math.max(1, Math.min(chunksOpt ?? Math.max(2, Math.floor(65_536 / ctx)), available));
    const xs: Run[] = [];
    const ls: Run[] = [];
    for (let i = 0; i < repeat; i++) {
      xs.push(await timeXent(model, ctx, chunks, 'native'));
      if (llamaBin) ls.push(await timeLlama(model, ctx, chunks));
    }
    const rate = (rs: Run[]): number => (rs.length ? rs[0]!.tokens / median(rs.map((r) => r.scoring)) : NaN);
    const wall = (rs: Run[]): number => (rs.length ? median(rs.map((r) => r.seconds)) : NaN);
    const peak = (rs: Run[]): number => (rs.length ? Math.max(...rs.map((r) => r.peakBytes)) / MiB : NaN);
    const f = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
    let mt = NaN;
    if (withMap) {
      const mc = V > 1000 ? 2 : Math.min(chunks, 20);
      const m = await timeXent(model, ctx, mc, 'map');
      mt = m.tokens / m.scoring;
    }
    const [xr, lr] = [rate(xs), rate(ls)];
    const [xm, lm] = [peak(xs), peak(ls)];
    console.log(
      [
        model.split('/').pop(),
        V,
        ctx,
        chunks,
        xs[0]!.ppl,
        ls[0]?.ppl ?? '-',
        f(xr),
        f(lr),
        f(xr / lr, 2),
        f(wall(xs), 2),
        f(wall(ls), 2),
        f(xm),
        f(lm),
        f(xm / lm, 2),
        f(mt),
      ].join(' | '),
    );
  }
}
