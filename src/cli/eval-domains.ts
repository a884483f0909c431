/**
 * `xent eval --data a.txt --data b.txt` (or a JSONL with a "domain" field): the
 * domain-shift form of `xent eval` (src/eval/domains.ts). Part of the eval command
 * (registered by eval.ts), not a command of its own.
 */
import { basename } from 'node:path';
import { XentError } from '../core/errors.js';
import { type LlamaCliOptions, llamaLoadOptions } from './llama-options.js';
import { intOption } from './options.js';

export interface DomainEvalCliOptions extends LlamaCliOptions {
  model: string;
  data: string | string[];
  ctx: string;
  chunks?: string;
  stride?: string;
  threads?: string;
  engine: string;
  json?: boolean;
  seed?: string;
  tokens?: string;
  checkpoint?: string;
  report?: string;
}

/** True when the --data values ask for a per-domain evaluation. */
export function isDomainRun(data: unknown): boolean {
  return (
    (Array.isArray(data) && data.length > 1) ||
    (typeof data === 'string' && data.toLowerCase().endsWith('.jsonl')) ||
    (Array.isArray(data) && String(data[0]).toLowerCase().endsWith('.jsonl'))
  );
}

export async function runDomainEval(o: DomainEvalCliOptions): Promise<void> {
  for (const [flag, v] of [
    ['--tokens', o.tokens],
    ['--checkpoint', o.checkpoint],
    ['--report', o.report],
  ] as const) {
    if (v !== undefined)
      throw new XentError(
        'invalid_argument',
        'eval',
        `${flag} is not supported with several --data domains; run each domain on its own for it`,
        { arg: flag },
      );
  }
  const ctx = intOption('eval', '--ctx', o.ctx, 4)!;
  const chunks = intOption('eval', '--chunks', o.chunks, 1);
  const stride = intOption('eval', '--stride', o.stride, 1);
  const threads = intOption('eval', '--threads', o.threads, 1);
  const seed = intOption('eval', '--seed', o.seed, 0) ?? 0;
  if (!['auto', 'native', 'map'].includes(o.engine)) {
    throw new XentError(
      'invalid_argument',
      'eval',
      `--engine must be auto, native or map, got ${JSON.stringify(o.engine)}`,
      { arg: '--engine', value: o.engine },
    );
  }
  const files = Array.isArray(o.data) ? o.data : [o.data];
  const [{ readDomains, evaluateDomains }, { loadModel }, { VERSION }] = await Promise.all([
    import('../eval/domains.js'),
    import('../models/load.js'),
    import('../core/version.js'),
  ]);
  const domains = readDomains(files);
  const model = await loadModel(o.model, {
    ctx,
    engine: o.engine as 'auto' | 'native' | 'map',
    ...(threads !== undefined ? { threads } : {}),
    ...llamaLoadOptions('eval', o),
  });
  const t0 = performance.now();
  let r: Awaited<ReturnType<typeof evaluateDomains>>;
  try {
    r = await evaluateDomains(model, domains, {
      ctx,
      seed,
      ...(stride !== undefined ? { stride } : {}),
      ...(chunks !== undefined ? { chunks } : {}),
      onDomain: (name, i, n) => {
        if (!o.json && process.stderr.isTTY) process.stderr.write(`\rxent eval: domain ${i + 1}/${n} ${name}\x1b[K`);
      },
    });
  } finally {
    if (!o.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    await model.close();
  }
  for (const w of r.warnings) process.stderr.write(`xent eval: warning: ${w}\n`);
  const out = {
    model: o.model,
    data: files,
    ctx,
    stride: stride ?? null,
    mode: stride === undefined ? 'chunks' : 'stride',
    bootstrap: { unit: 'chunk', replicates: 2000, seed, level: 0.95 },
    domains: r.domains,
    differences: r.differences,
    seconds: (performance.now() - t0) / 1000,
    warnings: r.warnings,
    xent_version: VERSION,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const f = (x: number, d = 4): string => x.toFixed(d);
  const L = [
    `model ${basename(o.model)}, ${domains.length} domains, ${out.mode === 'chunks' ? `chunks of ${ctx}` : `ctx ${ctx}, stride ${stride}`}; 95% CIs: bootstrap over chunks (2000 replicates, seed ${seed})`,
  ];
  L.push(
    'domain                        tokens   nats/token [95% CI]              bits/byte [95% CI]               PPL',
  );
  for (const d of r.domains) {
    L.push(
      `${d.domain.slice(0, 28).padEnd(28)} ${String(d.tokens_scored).padStart(8)}   ${f(d.nats_per_token)} [${f(d.nats_per_token_ci95[0])}, ${f(d.nats_per_token_ci95[1])}]   ` +
        `${f(d.bits_per_byte)} [${f(d.bits_per_byte_ci95[0])}, ${f(d.bits_per_byte_ci95[1])}]   ${f(d.perplexity)} ± ${f(d.perplexity_pm, 5)}`,
    );
  }
  if (r.differences.length) {
    L.push('differences (a − b)');
    for (const x of r.differences) {
      L.push(
        `${x.a} − ${x.b}: ${f(x.diff_nats_per_token)} nats/token [95% CI ${f(x.diff_nats_per_token_ci95[0])}, ${f(x.diff_nats_per_token_ci95[1])}] (± ${f(x.diff_nats_per_token_pm)} per-token SE); ` +
          `${f(x.diff_bits_per_byte)} bits/byte [95% CI ${f(x.diff_bits_per_byte_ci95[0])}, ${f(x.diff_bits_per_byte_ci95[1])}]`,
      );
    }
  }
  process.stdout.write(`${L.join('\n')}\n`);
}
