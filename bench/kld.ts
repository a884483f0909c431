/**
 * `npm run bench -- kld [--chunks 100] [--repeat 3] [--ctx 128]`
 *
 * Wall time of `xent kld` beside llama.cpp's llama-perplexity --kl-divergence (its two
 * passes: --kl-divergence-base to store the base, then --kl-divergence), in the same run,
 * alternating, medians (the machine is shared and noisy). Both shared GGUF vocabularies:
 * stories260K vs stories260K-bf16 (V = 512) and llama-2-tiny-random against itself
 * (V = 32000, the only 32k model at hand). One llama.cpp thread per model (-t 1, -b = -c,
 * flash attention off). Also diffs xent's --compat llama summary block against
 * llama-perplexity's, line by line (they should be identical).
 *
 * llama-perplexity: $LLAMA_PERPLEXITY, else build/llama-perplexity (`npm run bench -- eval
 * --build-llama-perplexity` compiles it against node-llama-cpp's libllama).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from '../src/core/stats.js';
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
const pairs: Array<[string, string, string]> = [
  ['V = 512', m('stories260K.gguf')!, m('stories260K-bf16.gguf')!],
  ['V = 32000', m('llama-2-tiny-random.gguf')!, m('llama-2-tiny-random.gguf')!],
];
const llama = process.env.LLAMA_PERPLEXITY ?? join(REPO_ROOT, 'build', 'llama-perplexity');
if (!data || pairs.some((p) => !p[1] || !p[2])) {
  console.error('bench kld: needs ../shared/models and ../shared/data');
  process.exit(2);
}
if (!existsSync(llama)) {
  console.error(
    `bench kld: no llama-perplexity at ${llama} (set LLAMA_PERPLEXITY or run \`npm run bench -- eval --build-llama-perplexity\`)`,
  );
  process.exit(2);
}
const libDir = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'build', 'native', 'xent-llama.json'), 'utf8')) as { libDir: string }
).libDir;
const dir = mkdtempSync(join(tmpdir(), 'xent-bench-kld-'));
// Both tools read the same bytes; llama-perplexity's base file limits the chunks.
const text = join(dir, 'text.txt');
writeFileSync(text, readFileSync(data).subarray(0, Math.min(600_000, Number(chunks) * Number(ctx) * 6)));

function timed(cmd: string, a: string[], cwd?: string): { s: number; out: string } {
  const t = performance.now();
  const r = spawnSync(cmd, a, {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, CI: '1' },
    ...(cwd ? { cwd } : {}),
  });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${(r.stderr || '').split('\n').slice(-5).join('\n')}`);
  return { s: (performance.now() - t) / 1000, out: `${r.stdout}\n${r.stderr}` };
}

function llamaRun(base: string, model: string): { s: number; out: string } {
  const f = join(dir, 'base.kld');
  const common = ['-c', ctx, '-b', ctx, '-t', '1', '-fa', 'off'];
  const a = timed(
    resolve(llama),
    ['-m', base, '-f', text, '--chunks', chunks, ...common, '--kl-divergence-base', f],
    libDir,
  );
  const b = timed(resolve(llama), ['-m', model, ...common, '--kl-divergence-base', f, '--kl-divergence'], libDir);
  return { s: a.s + b.s, out: b.out };
}

function xentRun(base: string, model: string, compat: boolean): { s: number; out: string } {
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
  for (const [label, base, model] of pairs) {
    const t = { llama: [] as number[], exact: [] as number[], compat: [] as number[] };
    let diff: string[] = [];
    for (let i = 0; i < repeat; i++) {
      const l = llamaRun(base, model);
      t.llama.push(l.s);
      t.exact.push(xentRun(base, model, false).s);
      const c = xentRun(base, model, true);
      t.compat.push(c.s);
      const a = block(c.out);
      const b = block(l.out);
      diff = a.flatMap((x, k) => (x === b[k] ? [] : [`  xent : ${x}\n  llama: ${b[k] ?? ''}`]));
    }
    const L = median(t.llama);
    console.log(
      `${label}: llama-perplexity ${L.toFixed(2)} s | xent kld ${median(t.exact).toFixed(2)} s (${(median(t.exact) / L).toFixed(2)}×) | ` +
        `xent kld --compat llama ${median(t.compat).toFixed(2)} s (${(median(t.compat) / L).toFixed(2)}×) | summary block ${diff.length ? `differs:\n${diff.join('\n')}` : 'identical'}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
