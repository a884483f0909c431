/**
 * `npm run bench -- eval [--threads 2] [--chunks 200] [--repeat 3] [--map] [--build-llama-perplexity]`
 *
 * Tokens per second of `xent eval` on both shared GGUF models (stories260K, V = 512;
 * llama-2-tiny-random, V = 32000) at ctx 128 and 512 on tinystories_valid_600k.txt,
 * beside llama.cpp's llama-perplexity when LLAMA_PERPLEXITY names a binary, in the same
 * run, alternating the two and reporting medians (the machine is shared and noisy).
 * Same chunks, threads and flash attention off. Two figures per tool:
 *   scoring tok/s   = chunks × ctx / scoring seconds (xent: its --json tokens_per_second;
 *                     llama-perplexity: from its log timestamps, "calculating perplexity"
 *                     to "Final estimate")
 *   end-to-end tok/s = chunks × ctx / process wall seconds (adds Node start, model load, tokenising)
 *
 * --map         also time the node-llama-cpp probability-Map engine (few chunks: slow at V = 32000)
 * --model S     only the models whose file name contains S (e.g. stories260K)
 * --ctx N[,M]   only these context sizes (default 128,512)
 * --build-llama-perplexity
 *               compile llama-perplexity from the llama.cpp sources inside node-llama-cpp
 *               (llama/gitRelease.bundle) against its prebuilt libllama into
 *               build/llama-perplexity, and use it (the same engine xent drives).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { median } from '../src/core/stats.js';
import { REPO_ROOT, sharedPath } from './lib/shared.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const threads = opt('--threads', '2');
const chunksOpt = Number(opt('--chunks', '200'));
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
const meta = JSON.parse(readFileSync(join(REPO_ROOT, 'build', 'native', 'xent-llama.json'), 'utf8')) as {
  libDir: string;
};

function buildLlamaPerplexity(): string {
  const out = join(REPO_ROOT, 'build', 'llama-perplexity');
  if (existsSync(out)) return out;
  const src = join(REPO_ROOT, 'build', 'llama-src');
  const bundle = join(REPO_ROOT, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');
  mkdirSync(join(REPO_ROOT, 'build'), { recursive: true });
  if (!existsSync(src)) spawnSync('git', ['clone', '-q', '--depth', '1', bundle, src], { stdio: 'inherit' });
  const p = (x: string): string => join(src, x);
  const r = spawnSync(
    'g++',
    [
      '-O2',
      '-std=c++17',
      `-I${p('include')}`,
      `-I${p('ggml/include')}`,
      `-I${p('common')}`,
      `-I${p('vendor')}`,
      `-I${p('tools/perplexity')}`,
      p('tools/perplexity/perplexity.cpp'),
      p('tools/perplexity/main.cpp'),
      '-o',
      out,
      `-L${meta.libDir}`,
      '-l:libllama-common.so',
      '-l:libllama.v0.4.0.so',
      '-l:libggml.v0.4.0.so',
      '-l:libggml-base.so',
      `-Wl,-rpath,${meta.libDir}`,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('building llama-perplexity failed');
  return out;
}

const llamaBin = args.includes('--build-llama-perplexity') ? buildLlamaPerplexity() : process.env.LLAMA_PERPLEXITY;

interface Run {
  /** Process wall time. */
  seconds: number;
  /** Scoring time only. */
  scoring: number;
  ppl: string;
}

function timeXent(model: string, ctx: number, chunks: number, engine: string): Run {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
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
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, CI: '1' },
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`xent eval failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { perplexity: number; perplexity_pm: number; scoring_seconds: number };
  return { seconds, scoring: j.scoring_seconds, ppl: `${j.perplexity.toFixed(4)} ± ${j.perplexity_pm.toFixed(5)}` };
}

function timeLlama(model: string, ctx: number, chunks: number): Run {
  const t0 = performance.now();
  // cwd = the engine's library folder, where ggml_backend_load_all() finds the CPU backends.
  const r = spawnSync(
    resolve(llamaBin!),
    [
      '-m',
      model,
      '-f',
      data!,
      '-c',
      String(ctx),
      '-b',
      String(ctx),
      '-t',
      threads,
      '--chunks',
      String(chunks),
      '-fa',
      'off',
    ],
    {
      encoding: 'utf8',
      cwd: meta.libDir,
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  const m = /Final estimate: PPL = ([\d.]+) \+\/- ([\d.]+)/.exec(r.stdout + r.stderr);
  if (!m) throw new Error(`llama-perplexity failed: ${(r.stderr || '').split('\n').slice(-5).join('\n')}`);
  // Log entries start with a timestamp "m.ss.mmm.uuu" and a level letter. Without a TTY the
  // "seconds per pass - ETA" entry has no line end, so the next entry follows on its line:
  // take the timestamp right before the message, not the line's first.
  const log = r.stdout + r.stderr;
  const ts = (message: string): number => {
    const t = new RegExp(`(\\d+)\\.(\\d{2})\\.(\\d{3})\\.(\\d{3}) [A-Z] (?:perplexity: )?${message}`).exec(log);
    return t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) / 1e3 + Number(t[4]) / 1e6 : NaN;
  };
  const scoring = ts('Final estimate') - ts('calculating perplexity over');
  return { seconds, scoring: Number.isFinite(scoring) ? scoring : seconds, ppl: `${m[1]} ± ${m[2]}` };
}

console.log(
  `xent eval benchmark: ${threads} threads, tinystories_valid_600k.txt, medians of ${repeat} alternating runs; scoring-only and end-to-end (process start, load, tokenise, score) tokens/s`,
);
console.log(
  `llama-perplexity: ${llamaBin ?? 'not given (set LLAMA_PERPLEXITY=/path/to/llama-perplexity or pass --build-llama-perplexity)'}`,
);
const header = [
  'model',
  'V',
  'ctx',
  'chunks',
  'xent scoring tok/s',
  'llama scoring tok/s',
  'ratio',
  'xent end-to-end tok/s',
  'llama end-to-end tok/s',
  'ratio',
  'xent map scoring tok/s',
  'PPL (xent)',
  'PPL (llama)',
];
console.log(header.join(' | '));
for (const model of models as string[]) {
  const V = model.includes('tiny-random') ? 32000 : 512;
  for (const ctx of ctxList) {
    const chunks = Math.min(chunksOpt, Math.floor(600_000 / 4 / ctx));
    const xs: Run[] = [];
    const ls: Run[] = [];
    for (let i = 0; i < repeat; i++) {
      xs.push(timeXent(model, ctx, chunks, 'native'));
      if (llamaBin) ls.push(timeLlama(model, ctx, chunks));
    }
    const toks = chunks * ctx;
    const rate = (rs: Run[], k: 'seconds' | 'scoring'): number =>
      rs.length ? toks / median(rs.map((r) => r[k])) : NaN;
    const f = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
    let mt = NaN;
    if (withMap) {
      const mc = V > 1000 ? 2 : Math.min(chunks, 20);
      mt = (mc * ctx) / timeXent(model, ctx, mc, 'map').scoring;
    }
    const [xs1, ls1, xe, le] = [rate(xs, 'scoring'), rate(ls, 'scoring'), rate(xs, 'seconds'), rate(ls, 'seconds')];
    console.log(
      [
        model.split('/').pop(),
        V,
        ctx,
        chunks,
        f(xs1),
        f(ls1),
        f(xs1 / ls1, 2),
        f(xe),
        f(le),
        f(xe / le, 2),
        f(mt),
        xs[0]!.ppl,
        ls[0]?.ppl ?? '-',
      ].join(' | '),
    );
  }
}
