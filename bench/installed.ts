/**
 * The installed package against the checkout: `npm pack`, the tarball installed into an empty
 * project (scripts/install-packed.mjs, whose install script builds the native binding there),
 * then `xent eval` of the same GGUF model and text from both, alternating, so that load that
 * drifts during the run hits both. Prints each side's median tokens/s, its engine, and the ratio
 * installed / checkout (the target: ≥ 0.85 on the native engine).
 *
 *   npm run bench -- installed [--model tiny-random|stories260K] [--ctx 512] [--chunks 8] [--rounds 5] [--threads 2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../src/core/stats.js';
import { REPO_ROOT, sharedPath } from './lib/shared.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'tiny-random' },
    data: { type: 'string', default: 'wikitext2_test.raw' },
    ctx: { type: 'string', default: '512' },
    chunks: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
  },
});
const file = values.model === 'stories260K' ? 'stories260K.gguf' : 'llama-2-tiny-random.gguf';
const model = sharedPath('models', file);
const data = sharedPath('data', values.data!);
if (!model || !data) {
  console.error(`bench installed: needs ../shared/models/${file} and ../shared/data/${values.data}`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'xent-bench-installed-'));
try {
  const inst = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'install-packed.mjs'), join(dir, 'p')], {
    encoding: 'utf8',
  });
  if (inst.status !== 0) throw new Error(`install-packed failed:\n${inst.stderr}`);
  console.log(`installed: ${inst.stdout.trim()}`);
  const sides = {
    installed: join(dir, 'p', 'node_modules', 'xent', 'dist', 'cli', 'main.js'),
    checkout: join(REPO_ROOT, 'dist', 'cli', 'main.js'),
  };
  const args = ['eval', '--model', model, '--data', data, '--ctx', values.ctx!, '--chunks', values.chunks!];
  args.push('--threads', values.threads!, '--json');
  const tps: Record<string, number[]> = { installed: [], checkout: [] };
  const engine: Record<string, string> = {};
  const rounds = Number(values.rounds);
  for (let r = 0; r < rounds; r++) {
    for (const [side, cli] of r % 2 === 0 ? Object.entries(sides) : Object.entries(sides).reverse()) {
      const out = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: join(dir, 'p') });
      if (out.status !== 0) throw new Error(`${side}: xent eval failed:\n${out.stderr}`);
      const j = JSON.parse(out.stdout) as { tokens_per_second: number; engine?: string; model_engine?: string };
      tps[side]!.push(j.tokens_per_second);
      engine[side] = j.engine ?? j.model_engine ?? '?';
    }
  }
  const mi = median(tps.installed!);
  const mc = median(tps.checkout!);
  console.log(`model ${file}, ctx ${values.ctx}, ${values.chunks} chunks, ${values.threads} threads, ${rounds} rounds`);
  console.log(`installed  ${mi.toFixed(0).padStart(8)} tokens/s (median)  engine ${engine.installed}`);
  console.log(`checkout   ${mc.toFixed(0).padStart(8)} tokens/s (median)  engine ${engine.checkout}`);
  console.log(`ratio installed / checkout: ${(mi / mc).toFixed(3)} (target ≥ 0.85)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
