/**
 * `npm run bench -- kld [--chunks 100] [--repeat 3] [--ctx 128] [--model S] [--build-llama-perplexity]`
 *
 * Wall time and peak memory of `xent kld` beside llama.cpp's llama-perplexity
 * --kl-divergence (its two passes: --kl-divergence-base to store the base, then
 * --kl-divergence; its peak is the larger of the two), in the same run, alternating,
 * medians (the machine is shared and noisy). Both shared GGUF vocabularies: stories260K vs
 * stories260K-bf16 (V = 512) and llama-2-tiny-random against itself (V = 32000, the only
 * 32k model at hand). Both tools' defaults (-b 2048, -ub 512, flash attention auto), one
 * llama.cpp thread per model (-t 1). Also diffs xent's --compat llama summary block against
 * llama-perplexity's, line by line (they should be identical). --model S: only the pairs
 * whose base file name contains S (e.g. `--model tiny-random --ctx 8192 --chunks 1` for memory).
 *
 * llama-perplexity: $LLAMA_PERPLEXITY, or build/llama.cpp/build/bin/llama-perplexity
 * (--build-llama-perplexity builds it natively from node-llama-cpp's bundled llama.cpp).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from '../src/core/stats.js';
import { llamaPerplexity, measured } from './lib/llama.js';
import { REPO_ROOT, sharedPath } from './lib/shared.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const chunks = opt('--chunks', '100');
const repeat = Number(opt('--repeat', '3'));
const ctx = opt('--ctx', '128');
const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const data = sharedPath('data', 'tinystories_valid_600k.txt');
const m = (f: string): string | undefined => sharedPath('models', f);
const pairs: Array<[string, string, string]> = (
  [
    ['V = 512', m('stories260K.gguf')!, m('stories260K-bf16.gguf')!],
    ['V = 32000', m('llama-2-tiny-random.gguf')!, m('llama-2-tiny-random.gguf')!],
  ] as Array<[string, string, string]>
).filter((p) => !p[1] || p[1].includes(opt('--model', '')));
if (!data || pairs.some((p) => !p[1] || !p[2])) {
  console.error('bench kld: needs ../shared/models and ../shared/data');
  process.exit(2);
}
const llama = llamaPerplexity(args);
if (!llama) {
  console.error('bench kld: no llama-perplexity (set LLAMA_PERPLEXITY or pass --build-llama-perplexity)');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'xent-bench-kld-'));
// Both tools read the same bytes (llama-perplexity wants at least 2 × ctx tokens); its base
// file limits the chunks.
const text = join(dir, 'text.txt');
writeFileSync(text, readFileSync(data).subarray(0, Math.min(600_000, Math.max(Number(chunks), 2) * Number(ctx) * 6)));

interface Timed {
  s: number;
  peak: number;
  out: string;
}

async function timed(cmd: string, a: string[]): Promise<Timed> {
  const r = await measured(cmd, a);
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.out.split('\n').slice(-5).join('\n')}`);
  return { s: r.seconds, peak: r.peakBytes, out: r.out };
}

async function llamaRun(base: string, model: string): Promise<Timed> {
  const f = join(dir, 'base.kld');
  const common = ['-c', ctx, '-t', '1'];
  for (let attempt = 0; attempt < 3; attempt++) {
    const a = await timed(llama!, ['-m', base, '-f', text, '--chunks', chunks, ...common, '--kl-divergence-base', f]);
    const b = await timed(llama!, ['-m', model, ...common, '--kl-divergence-base', f, '--kl-divergence']);
    rmSync(f, { force: true });
    // Its logger thread may lose the summary at exit: run again.
    if (/Same top p/.test(b.out)) return { s: a.s + b.s, peak: Math.max(a.peak, b.peak), out: b.out };
  }
  throw new Error('llama-perplexity --kl-divergence printed no summary in 3 runs');
}

function xentRun(base: string, model: string, compat: boolean): Promise<Timed> {
  return timed(process.execPath, [
    CLI,
    'kld',
    '--base',
    base,
    '--model',
    model,
    '--data',
    text,
    '--ctx',
    ctx,
    '--chunks',
    chunks,
    '--threads',
    '1',
    '--top-k',
    '0',
    '--no-jsd',
    ...(compat ? ['--compat', 'llama'] : []),
  ]);
}

const block = (out: string): string[] =>
  (/====== Perplexity statistics ======[\s\S]*?Same top p:[^\n]*/.exec(out)?.[0] ?? '').split('\n').map((l) =>
    l
      .replace(/\s+\(nats\/token\)$/, '')
      .replace(' (nats per token)', '')
      .trimEnd(),
  );

try {
  console.log(
    `bench kld: ${chunks} chunks of ${ctx}, ${repeat} repeats, medians of wall seconds (process start to exit)`,
  );
  const MiB = 2 ** 20;
  for (const [label, base, model] of pairs) {
    const t = { llama: [] as number[], exact: [] as number[], compat: [] as number[] };
    const peak = { llama: 0, exact: 0, compat: 0 };
    let diff: string[] = [];
    for (let i = 0; i < repeat; i++) {
      const l = await llamaRun(base, model);
      t.llama.push(l.s);
      const x = await xentRun(base, model, false);
      t.exact.push(x.s);
      const c = await xentRun(base, model, true);
      t.compat.push(c.s);
      peak.llama = Math.max(peak.llama, l.peak);
      peak.exact = Math.max(peak.exact, x.peak);
      peak.compat = Math.max(peak.compat, c.peak);
      const a = block(c.out);
      const b = block(l.out);
      diff = a.flatMap((x, k) => (x === b[k] ? [] : [`  xent : ${x}\n  llama: ${b[k] ?? ''}`]));
    }
    const L = median(t.llama);
    console.log(
      `${label}: llama-perplexity ${L.toFixed(2)} s | xent kld ${median(t.exact).toFixed(2)} s (${(median(t.exact) / L).toFixed(2)}×) | ` +
        `xent kld --compat llama ${median(t.compat).toFixed(2)} s (${(median(t.compat) / L).toFixed(2)}×) | ` +
        `peak MiB: llama ${(peak.llama / MiB).toFixed(0)}, xent ${(peak.exact / MiB).toFixed(0)} (${(peak.exact / peak.llama).toFixed(2)}×), --compat llama ${(peak.compat / MiB).toFixed(0)} (${(peak.compat / peak.llama).toFixed(2)}×) | ` +
        `summary block ${diff.length ? `differs:\n${diff.join('\n')}` : 'identical'}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
