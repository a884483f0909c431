/**
 * `xent compare --model A --model B [--model C …] --data <text>` (or `--models A B [C…]`):
 * bits per byte of every model over the same bytes, paired differences with 95% bootstrap
 * intervals, and per-token differences of models that share a tokenizer
 * (src/eval/compare.ts). A model may be a .gguf file, a model directory or the URL of an
 * OpenAI-compatible server.
 */

import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import type { LanguageModel } from '../models/language-model.js';
import { intOption } from './options.js';

interface CompareCliOptions {
  model?: string[];
  models?: string[];
  data: string;
  ctx: string;
  stride?: string;
  seed: string;
  replicates: string;
  top: string;
  threads?: string;
  engine: string;
  json?: boolean;
  report?: string;
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('rank models by bits per byte over the same text, with paired 95% bootstrap intervals')
    .option(
      '--model <spec>',
      'a model: a .gguf file, a directory of a model trained by xent (LSTM, n-gram), or the URL of an OpenAI-compatible server; repeat for each model',
      (v: string, a: string[] = []) => [...a, v],
    )
    .option('--models <specs...>', 'two or more models at once (after those given with --model)')
    .requiredOption('--data <file>', 'UTF-8 text file to score')
    .option('--ctx <n>', 'tokens per window', '512')
    .option(
      '--stride <s>',
      'sliding-window stride (default ctx/2): each token is scored once with ≥ ctx − stride tokens of context',
    )
    .option('--seed <n>', 'bootstrap seed', '0')
    .option('--replicates <n>', 'bootstrap replicates', '2000')
    .option('--top <n>', 'tokens listed where two same-tokenizer models disagree most', '10')
    .option('--threads <n>', 'CPU threads for llama.cpp (default: min(4, cores))')
    .option('--engine <e>', 'GGUF engine: auto | native | map', 'auto')
    .option('--json', 'print one JSON object on stdout')
    .option('--report <file.html>', 'also write a self-contained HTML report')
    .addHelpText(
      'after',
      `
bits per byte = Σ bits of every scored token / UTF-8 bytes of the whole text, the same bytes for
every model whatever its tokenizer. 95% intervals: percentile bootstrap over documents (the
text split at blank lines; equal byte blocks when there are fewer than 20), resampled jointly
for all models (paired), seeded. Models that tokenise the text identically also get per-token
paired differences and the tokens where they disagree most.`,
    )
    .action(async (o: CompareCliOptions) => {
      await runCompare(o);
    });
}

async function runCompare(o: CompareCliOptions): Promise<void> {
  const t0 = performance.now();
  const ctx = intOption('compare', '--ctx', o.ctx, 4)!;
  const stride = intOption('compare', '--stride', o.stride, 1);
  const seed = intOption('compare', '--seed', o.seed, 0)!;
  const replicates = intOption('compare', '--replicates', o.replicates, 10)!;
  const top = intOption('compare', '--top', o.top, 0)!;
  const threads = intOption('compare', '--threads', o.threads, 1);
  if (stride !== undefined && stride >= ctx)
    throw new XentError('invalid_argument', 'compare', `--stride must be below --ctx ${ctx}, got ${stride}`, {
      arg: '--stride',
      value: stride,
    });
  if (!['auto', 'native', 'map'].includes(o.engine)) {
    throw new XentError(
      'invalid_argument',
      'compare',
      `--engine must be auto, native or map, got ${JSON.stringify(o.engine)}`,
      { arg: '--engine', value: o.engine },
    );
  }
  const specs = [...(o.model ?? []), ...(o.models ?? [])];
  if (specs.length < 2)
    throw new XentError(
      'invalid_argument',
      'compare',
      `compare needs at least two models (--model A --model B, or --models A B), got ${specs.length}`,
      { arg: '--model' },
    );
  if (o.report) (await import('../report/write.js')).checkReportPath('compare', '--report', o.report);
  const [{ loadModel }, { compareModels }, { readDataFile }, { VERSION }] = await Promise.all([
    import('../models/load.js'),
    import('../eval/compare.js'),
    import('../io/read-data-file.js'),
    import('../core/version.js'),
  ]);
  const bytes = readDataFile('compare', o.data);
  const opened: LanguageModel[] = [];
  let r: Awaited<ReturnType<typeof compareModels>>;
  try {
    const models: Array<{ name: string; model: LanguageModel }> = [];
    for (const spec of specs) {
      const m = await loadModel(spec, {
        ctx,
        engine: o.engine as 'auto' | 'native' | 'map',
        ...(threads !== undefined ? { threads } : {}),
      });
      opened.push(m);
      models.push({ name: spec, model: m });
    }
    r = await compareModels(models, bytes, {
      ctx,
      seed,
      replicates,
      top,
      ...(stride !== undefined ? { stride } : {}),
      onModel: (name, i, n) => {
        if (!o.json && process.stderr.isTTY)
          process.stderr.write(`\rxent compare: model ${i + 1}/${n} ${basename(name)}\x1b[K`);
      },
    });
  } finally {
    if (!o.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    for (const m of opened) await m.close();
  }
  const out = { ...r, data: o.data, seconds: (performance.now() - t0) / 1000, xent_version: VERSION };
  if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else process.stdout.write(`${formatCompare(out)}\n`);
  if (o.report) {
    const { writeReport } = await import('../report/write.js');
    writeReport(
      o.report,
      [{ kind: 'compare', result: JSON.parse(JSON.stringify(out)) as never, source: 'xent compare' }],
      {
        title: `xent compare: ${specs.length} models on ${basename(o.data)}`,
        command: `xent compare ${process.argv.slice(3).join(' ')}`,
      },
    );
    process.stderr.write(`xent compare: report written to ${resolve(o.report)}\n`);
  }
}

function formatCompare(
  r: Awaited<ReturnType<typeof import('../eval/compare.js').compareModels>> & { data: string },
): string {
  const f = (x: number, d = 4): string => x.toFixed(d);
  const L: string[] = [];
  L.push(
    `${r.models.length} models on ${basename(r.data)} (${r.bytes_scored} bytes), windows of ${r.ctx} tokens, stride ${r.stride}; ` +
      `95% CIs: paired bootstrap over ${r.units.count} ${r.units.kind} (${r.bootstrap.replicates} replicates, seed ${r.bootstrap.seed})`,
  );
  const ranked = [...r.models].sort((a, b) => a.bits_per_byte - b.bits_per_byte);
  L.push('rank  bits/byte [95% CI]          nats/token   tokens   V       model');
  ranked.forEach((m, i) => {
    L.push(
      `${String(i + 1).padStart(4)}  ${f(m.bits_per_byte)} [${f(m.bits_per_byte_ci95_lo)}, ${f(m.bits_per_byte_ci95_hi)}]   ${f(m.nats_per_token).padStart(10)}   ${String(m.tokens_scored).padStart(6)}   ${String(m.vocab_size).padEnd(6)}  ${m.model}`,
    );
  });
  L.push('paired differences a − b (bits/byte)');
  for (const p of r.pairs) {
    const sig = p.diff_ci95_lo > 0 || p.diff_ci95_hi < 0 ? '' : '  (interval includes 0)';
    L.push(
      `  ${basename(p.a)} − ${basename(p.b)}: ${f(p.diff_bits_per_byte, 5)} [95% CI ${f(p.diff_ci95_lo, 5)}, ${f(p.diff_ci95_hi, 5)}]${sig}`,
    );
  }
  for (const t of r.token_pairs) {
    L.push(
      `same tokenizer: ${basename(t.a)} − ${basename(t.b)} per token: ${f(t.diff_nats_per_token, 6)} ± ${f(t.diff_nats_per_token_se, 6)} nats/token (SE; 95% CI ${f(t.diff_nats_per_token_ci95_lo, 6)}, ${f(t.diff_nats_per_token_ci95_hi, 6)}), ` +
        `${f(100 * t.a_better_fraction, 2)}% of ${t.tokens} tokens lower for ${basename(t.a)}`,
    );
    for (const d of t.most_different) {
      L.push(
        `    token ${d.position} ${JSON.stringify(d.text)} after ${JSON.stringify(d.context.slice(-40))}: ${f(d.nats_a)} vs ${f(d.nats_b)} nats (diff ${f(d.diff_nats)})`,
      );
    }
  }
  return L.join('\n');
}
