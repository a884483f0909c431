/**
 * `xent kld --base <ref> --model <other> --data <text> --ctx N`: KL divergence of a model
 * against a reference model, with every statistic llama-perplexity --kl-divergence prints
 * (src/eval/kld.ts). `--compat llama` reproduces llama.cpp's uint16 base storage and its
 * figures; the default compares the float distributions (the true KLD). `--save-base` /
 * `--base-file` write and read llama.cpp's base-file format (docs/kld-format.md).
 */

import { createHash } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { type LanguageModel, requireFullDistributions } from '../models/language-model.js';
import { addLlamaOptions, type LlamaCliOptions, llamaLoadOptions, llamaRunInfo } from './llama-options.js';
import { intOption } from './options.js';

interface KldCliOptions extends LlamaCliOptions {
  base?: string;
  model: string;
  data: string;
  ctx: string;
  chunks?: string;
  compat?: string;
  saveBase?: string;
  baseFile?: string;
  topK: string;
  jsd?: boolean;
  threads?: string;
  engine: string;
  json?: boolean;
  report?: string;
  checkpoint?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('kld')
    .description("KL divergence of a model against a reference model (llama-perplexity --kl-divergence's statistics)")
    .option(
      '--base <path>',
      'the reference model (.gguf or a directory of a model trained by xent; not a server: KL divergence needs full distributions)',
    )
    .requiredOption('--model <path>', 'the model to compare with the reference (quantised, distilled, …)')
    .requiredOption('--data <file>', 'UTF-8 text file to score')
    .option('--ctx <n>', 'tokens per chunk (llama.cpp -c)', '512')
    .option('--chunks <k>', 'score only the first K chunks (llama.cpp --chunks)')
    .option(
      '--compat <tool>',
      "'llama': llama.cpp's uint16 base storage and arithmetic, so every figure equals llama-perplexity's",
    )
    .option('--save-base <file>', "also write the base distribution in llama.cpp's --kl-divergence-base format")
    .option(
      '--base-file <file>',
      'read the base distribution from this file (written by xent or llama.cpp) instead of running --base',
    )
    .option('--top-k <k>', 'k of the top-k agreement column (0 = off)', '10')
    .option(
      '--jsd',
      'compute the Jensen–Shannon divergence column (default: on below 2048 tokens of vocabulary, where it is cheap)',
    )
    .option('--no-jsd', 'skip the Jensen–Shannon divergence column')
    .option('--threads <n>', 'CPU threads for llama.cpp, per model (default: min(4, cores))')
    .option('--engine <e>', 'GGUF engine: auto | native | map', 'auto');
  addLlamaOptions(cmd)
    .option('--json', 'print one JSON object on stdout')
    .option('--report <file.html>', 'also write a self-contained HTML report')
    .option(
      '--checkpoint <file>',
      'save progress to this file; rerunning the same command resumes (also after kill -9)',
    )
    .addHelpText(
      'after',
      `
Chunks as llama-perplexity: floor(tokens/ctx) chunks of --ctx tokens, BOS first, the second
half of each chunk scored. Per position: KLD = Σ p_base·(ln p_base − ln p_model) in nats,
Δp = p_model(true) − p_base(true), same top = argmax agrees; also the Jensen–Shannon
divergence and the top-k agreement when the float base is at hand.
Default: exact float distributions. --compat llama and --base-file: llama.cpp's uint16 base
(ln p ≤ −16 dropped, quantised; tiny negative KLDs are expected).
Both GGUF models are decoded as llama-perplexity decodes them, with its defaults
(--flash-attn auto, --batch 2048, --ubatch 512); its older reference figures need
--flash-attn off. Memory holds one micro-batch of rows per model, whatever --ctx.`,
    )
    .action(async (o: KldCliOptions) => {
      await runKld(o);
    });
}

async function tokenizeAll(model: LanguageModel, bytes: Buffer, file: string): Promise<Int32Array> {
  const toks = await model.tokenizeBytes(bytes);
  if (bytes.length > 0 && toks.length === 0)
    throw new XentError('invalid_text', 'kld', `the tokenizer of ${model.id} produced no tokens for ${file}`, { file });
  return toks;
}

async function runKld(o: KldCliOptions): Promise<void> {
  const t0 = performance.now();
  const ctx = intOption('kld', '--ctx', o.ctx, 4)!;
  const chunks = intOption('kld', '--chunks', o.chunks, 1);
  const threads = intOption('kld', '--threads', o.threads, 1);
  const topk = intOption('kld', '--top-k', o.topK, 0)!;
  if (o.compat !== undefined && o.compat !== 'llama') {
    throw new XentError('invalid_argument', 'kld', `--compat must be 'llama', got ${JSON.stringify(o.compat)}`, {
      arg: '--compat',
      value: o.compat,
    });
  }
  if (!['auto', 'native', 'map'].includes(o.engine)) {
    throw new XentError(
      'invalid_argument',
      'kld',
      `--engine must be auto, native or map, got ${JSON.stringify(o.engine)}`,
      { arg: '--engine', value: o.engine },
    );
  }
  if (!o.base && !o.baseFile)
    throw new XentError('invalid_argument', 'kld', 'give the reference as --base <model> or --base-file <file>', {
      arg: '--base',
    });
  if (o.base && o.baseFile)
    throw new XentError('invalid_argument', 'kld', 'give either --base or --base-file, not both', {
      arg: '--base-file',
    });
  if (o.saveBase && !o.base)
    throw new XentError('invalid_argument', 'kld', '--save-base needs --base (the model whose distribution is saved)', {
      arg: '--save-base',
    });
  if (o.report) (await import('../report/write.js')).checkReportPath('kld', '--report', o.report);
  const [
    { loadModel },
    { evaluateKld },
    { assertSameTokenizer },
    { BaseFileReader },
    { readDataFile },
    { Progress },
    { VERSION },
  ] = await Promise.all([
    import('../models/load.js'),
    import('../eval/kld.js'),
    import('../eval/kld-checks.js'),
    import('../eval/kld-file.js'),
    import('../io/read-data-file.js'),
    import('./progress.js'),
    import('../core/version.js'),
  ]);

  const bytes = readDataFile('kld', o.data);
  const dataSha = createHash('sha256').update(bytes).digest('hex');
  // The base file first: its header is checked before any model is loaded.
  const baseFile = o.baseFile ? new BaseFileReader(o.baseFile) : undefined;
  if (baseFile?.meta && baseFile.meta.data_sha256 !== dataSha) {
    baseFile.close();
    throw new XentError(
      'incompatible',
      'kld',
      `base file ${o.baseFile} was made from another text (sha256 ${baseFile.meta.data_sha256.slice(0, 12)}…, --data ${o.data} has ${dataSha.slice(0, 12)}…)`,
      {
        file: o.baseFile,
        arg: '--data',
      },
    );
  }
  if (baseFile && baseFile.header.nCtx !== ctx) {
    baseFile.close();
    throw new XentError(
      'incompatible',
      'kld',
      `base file ${o.baseFile} was made with ctx ${baseFile.header.nCtx}, but this run uses --ctx ${ctx}; rerun with --ctx ${baseFile.header.nCtx}`,
      {
        file: o.baseFile,
        arg: '--ctx',
        expected: baseFile.header.nCtx,
        actual: ctx,
      },
    );
  }
  const llamaOpts = llamaLoadOptions('kld', o);
  const loadOpts = {
    ctx,
    engine: o.engine as 'auto' | 'native' | 'map',
    ...(threads !== undefined ? { threads } : {}),
    ...llamaOpts,
  };
  const opened: LanguageModel[] = [];
  try {
    const base = o.base ? await loadModel(o.base, loadOpts) : undefined;
    if (base) {
      opened.push(base);
      requireFullDistributions(base, 'kld', '--base', 'KL divergence');
    }
    const model = await loadModel(o.model, loadOpts);
    opened.push(model);
    requireFullDistributions(model, 'kld', '--model', 'KL divergence');
    const modelTokens = await tokenizeAll(model, bytes, o.data);
    if (base) {
      if (base.vocabSize !== model.vocabSize) {
        throw new XentError(
          'incompatible',
          'kld',
          `the models have different tokenizers: --base ${basename(o.base!)} has a vocabulary of ${base.vocabSize} tokens, --model ${basename(o.model)} has ${model.vocabSize}; KL divergence needs the same vocabulary`,
          { arg: '--model', expected: base.vocabSize, actual: model.vocabSize },
        );
      }
      const baseTokens = await tokenizeAll(base, bytes, o.data);
      assertSameTokenizer(base, model, baseTokens, modelTokens, {
        base: `--base ${basename(o.base!)}`,
        model: `--model ${basename(o.model)}`,
      });
    }

    const ac = new AbortController();
    const onSigint = (): void => {
      if (ac.signal.aborted) process.exit(130);
      ac.abort();
      process.stderr.write('\nxent kld: interrupted; finishing the current chunk (Ctrl-C again to quit at once)\n');
    };
    process.on('SIGINT', onSigint);
    let progress: InstanceType<typeof Progress> | undefined;
    const mode = o.compat === 'llama' ? 'llama' : 'exact';
    // Resumable state: the fingerprint names everything the figures depend on.
    const ck = o.checkpoint ? await import('../eval/kld-checkpoint.js') : undefined;
    const fileId = (p: string | undefined): string | null => {
      if (!p) return null;
      const st = statSync(p);
      return `${resolve(p)}:${st.size}:${st.mtimeMs}`;
    };
    const fingerprint = {
      base: fileId(o.base),
      base_file: fileId(o.baseFile),
      model: fileId(o.model),
      data_sha256: dataSha,
      ctx,
      chunks: chunks ?? null,
      mode,
      top_k: topk,
      jsd: o.jsd ?? null,
      save_base: o.saveBase ? resolve(o.saveBase) : null,
      flash_attn: llamaOpts.flashAttention ?? 'auto',
      batch: llamaOpts.batch ?? null,
      ubatch: llamaOpts.ubatch ?? null,
    };
    const cp = ck?.loadKldCheckpoint(o.checkpoint!, fingerprint);
    let lastSave = -Infinity; // the first chunk is checkpointed at once
    const tScore = performance.now();
    let result: Awaited<ReturnType<typeof evaluateKld>>;
    try {
      result = await evaluateKld(base, model, modelTokens, {
        ctx,
        mode,
        topk,
        ...(o.jsd !== undefined ? { jsd: o.jsd } : {}),
        ...(chunks !== undefined ? { chunks } : {}),
        ...(baseFile ? { baseFile } : {}),
        ...(o.saveBase
          ? {
              saveBase: {
                path: o.saveBase,
                meta: {
                  format: 'xent-kld-base/1' as const,
                  base_model: resolve(o.base!),
                  base_model_bytes: statSync(o.base!).size,
                  data_sha256: dataSha,
                  ctx,
                  vocab_size: model.vocabSize,
                  xent_version: VERSION,
                },
              },
            }
          : {}),
        signal: ac.signal,
        ...(cp ? { resume: { chunksDone: cp.chunksDone, tokensEvaluated: cp.tokensEvaluated, acc: cp.acc } } : {}),
        ...(o.checkpoint ? { keepPartial: true } : {}),
        onChunk: ({ chunk, chunks: total, acc, tokensEvaluated, syncBase }) => {
          const now = performance.now();
          if (ck && (now - lastSave > 2000 || chunk === total || ac.signal.aborted)) {
            syncBase();
            ck.saveKldCheckpoint(o.checkpoint!, {
              fingerprint,
              chunksDone: chunk,
              tokensEvaluated,
              acc: acc.toState(),
            });
            lastSave = now;
          }
          progress ??= new Progress({ total, label: 'kld', unit: 'chunk', silent: o.json === true });
          progress.update(chunk, `KLD ${(acc.sumKld / acc.count).toFixed(6)} nats`);
        },
      });
    } finally {
      process.off('SIGINT', onSigint);
      progress?.finish();
      baseFile?.close();
    }
    const seconds = (performance.now() - tScore) / 1000;
    if (o.checkpoint && !result.interrupted) rmSync(o.checkpoint, { force: true });
    const out = {
      ...result,
      kld_unit: 'nats per token',
      delta_p_unit: 'probability (fraction; ×100 for %)',
      base: o.base ?? o.baseFile!,
      base_file: o.baseFile ?? null,
      saved_base_file: o.saveBase && !result.interrupted ? o.saveBase : null,
      resumed_from_chunk: cp?.chunksDone ?? 0,
      model: o.model,
      data: o.data,
      vocab_size: model.vocabSize,
      ...llamaRunInfo(model),
      tokens_per_second: result.tokens_evaluated / seconds,
      scoring_seconds: seconds,
      seconds: (performance.now() - t0) / 1000,
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
      xent_version: VERSION,
    };
    for (const w of result.warnings) process.stderr.write(`xent kld: warning: ${w}\n`);
    process.stdout.write(o.json ? `${JSON.stringify(out)}\n` : `${formatKld(out)}\n`);
    if (o.report) {
      const { writeReport } = await import('../report/write.js');
      const saved = JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
      writeReport(o.report, [{ kind: 'kld', result: saved as never, source: 'xent kld' }], {
        title: `xent kld: ${basename(o.model)} against ${basename(out.base)} on ${basename(o.data)}${result.interrupted ? ' (interrupted: partial figures)' : ''}`,
        command: `xent kld ${process.argv.slice(3).join(' ')}`,
      });
      process.stderr.write(`xent kld: report written to ${resolve(o.report)}\n`);
    }
    if (result.interrupted) process.exitCode = 130;
  } finally {
    for (const m of opened) await m.close();
  }
}

type KldOut = Awaited<ReturnType<typeof import('../eval/kld.js').evaluateKld>> & {
  base: string;
  model: string;
  data: string;
  tokens_per_second: number;
};

/** llama-perplexity's summary block (same labels and printf widths), plus xent's extra columns. */
export function formatKld(r: KldOut): string {
  // An undefined figure (e.g. the square root of a variance that rounding made negative) as
  // glibc's printf shows the x86 default NaN that C computes there: "-nan".
  const F = (x: number, w: number, d: number): string => (Number.isNaN(x) ? '-nan' : x.toFixed(d)).padStart(w);
  const pct = (x: number, w: number, d: number): string => F(100 * x, w, d);
  const L: string[] = [];
  L.push(
    `model ${basename(r.model)} against base ${basename(r.base)} on ${basename(r.data)}: ${r.chunks} of ${r.chunks_total} chunks of ${r.ctx}, ${r.tokens_scored} positions; ` +
      (r.base_storage === 'uint16' ? "base stored as uint16 (llama.cpp's --kl-divergence)" : 'exact float32 base'),
  );
  L.push('====== Perplexity statistics ======');
  L.push(`Mean PPL(Q)                   : ${F(r.ppl_model, 10, 6)} ± ${F(r.ppl_model_pm, 10, 6)}`);
  L.push(`Mean PPL(base)                : ${F(r.ppl_base, 10, 6)} ± ${F(r.ppl_base_pm, 10, 6)}`);
  L.push(`Cor(ln(PPL(Q)), ln(PPL(base))): ${pct(r.ln_ppl_correlation, 6, 2)}%`);
  L.push(`Mean ln(PPL(Q)/PPL(base))     : ${F(r.ln_ppl_ratio, 10, 6)} ± ${F(r.ln_ppl_ratio_pm, 10, 6)}   (nats/token)`);
  L.push(`Mean PPL(Q)/PPL(base)         : ${F(r.ppl_ratio, 10, 6)} ± ${F(r.ppl_ratio_pm, 10, 6)}`);
  L.push(`Mean PPL(Q)-PPL(base)         : ${F(r.ppl_diff, 10, 6)} ± ${F(r.ppl_diff_pm, 10, 6)}`);
  L.push('');
  L.push('====== KL divergence statistics (nats per token) ======');
  L.push(`Mean    KLD: ${F(r.kld_mean, 10, 6)} ± ${F(r.kld_mean_pm, 10, 6)}`);
  const kl: Array<[string, number]> = [
    ['Maximum', r.kld_max],
    ['99.9%  ', r.kld_p999],
    ['99.0%  ', r.kld_p99],
    ['95.0%  ', r.kld_p95],
    ['90.0%  ', r.kld_p90],
    ['Median ', r.kld_median],
    ['10.0%  ', r.kld_p10],
    [' 5.0%  ', r.kld_p05],
    [' 1.0%  ', r.kld_p01],
    [' 0.1%  ', r.kld_p001],
    ['Minimum', r.kld_min],
  ];
  for (const [k, v] of kl) L.push(`${k} KLD: ${F(v, 10, 6)}`);
  L.push('');
  L.push('====== Token probability statistics ======');
  L.push(`Mean    Δp: ${pct(r.delta_p_mean, 6, 3)} ± ${pct(r.delta_p_mean_pm, 5, 3)} %`);
  const dp: Array<[string, number]> = [
    ['Maximum', r.delta_p_max],
    ['99.9%  ', r.delta_p_p999],
    ['99.0%  ', r.delta_p_p99],
    ['95.0%  ', r.delta_p_p95],
    ['90.0%  ', r.delta_p_p90],
    ['75.0%  ', r.delta_p_p75],
    ['Median ', r.delta_p_median],
    ['25.0%  ', r.delta_p_p25],
    ['10.0%  ', r.delta_p_p10],
    [' 5.0%  ', r.delta_p_p05],
    [' 1.0%  ', r.delta_p_p01],
    [' 0.1%  ', r.delta_p_p001],
    ['Minimum', r.delta_p_min],
  ];
  for (const [k, v] of dp) L.push(`${k} Δp: ${pct(v, 6, 3)}%`);
  L.push(`RMS Δp    : ${pct(r.delta_p_rms, 6, 3)} ± ${pct(r.delta_p_rms_pm, 5, 3)} %`);
  L.push(`Same top p: ${pct(r.same_top_p, 6, 3)} ± ${pct(r.same_top_p_pm, 5, 3)} %`);
  if (r.jsd_mean !== null || r.topk_agreement !== null) {
    L.push('');
    L.push('====== Extra (xent) ======');
    if (r.jsd_mean !== null)
      L.push(`Mean    JSD: ${F(r.jsd_mean, 10, 6)} ± ${F(r.jsd_mean_pm ?? NaN, 10, 6)} nats/token`);
    if (r.topk_agreement !== null)
      L.push(
        `Top-${r.topk} agreement: ${pct(r.topk_agreement, 6, 3)} % (mean share of the base's top ${r.topk} tokens in the model's top ${r.topk})`,
      );
  }
  L.push(`speed: ${r.tokens_per_second.toFixed(0)} tokens/s per model`);
  if (r.interrupted)
    L.push(`interrupted after chunk ${r.chunks} of ${r.chunks_total}: the figures cover the chunks scored so far`);
  return L.join('\n');
}
