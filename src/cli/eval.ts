/**
 * `xent eval --model <file.gguf|dir|URL> --data <text>`: cross-entropy and perplexity of a
 * language model on a text, identical to llama.cpp's llama-perplexity (chunk mode) or
 * Hugging Face's sliding window (--stride). See src/eval/windows.ts for the semantics.
 * A model behind an OpenAI-compatible endpoint (`--model http://…`, or `--server` for
 * several) is scored by eval-server.ts: the same evaluation, with retries.
 */

import { createHash } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { evalFigures, evalPlan, evalSummaryLines, interruptibleEval, resultEngine, TokensFile } from './eval-output.js';
import { addLlamaOptions, type LlamaCliOptions, llamaLoadOptions, llamaRunInfo } from './llama-options.js';
import { intOption } from './options.js';

interface EvalCliOptions extends LlamaCliOptions {
  model: string;
  data: string;
  ctx: string;
  chunks?: string;
  stride?: string;
  threads?: string;
  engine: string;
  json?: boolean;
  tokens?: string;
  report?: string;
  checkpoint?: string;
  server?: string[];
}

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description("perplexity and cross-entropy of a model on a text, identical to llama.cpp's llama-perplexity")
    .option(
      '--model <path>',
      'a .gguf model file, a directory of a model trained by xent, or the URL of an OpenAI-compatible server (default: the committed models/brown-lstm)',
    )
    .option(
      '--data <file>',
      'UTF-8 text file to score (default: the Brown corpus test split); repeat it, or give a .jsonl with "text" and "domain" fields, for cross-entropy per domain and the differences between domains',
      (v: string, a?: string | string[]) => (a === undefined ? v : [...(Array.isArray(a) ? a : [a]), v]),
    )
    .option('--seed <n>', 'seed of the bootstrap intervals between domains', '0')
    .option('--ctx <n>', 'tokens per chunk (llama.cpp -c)', '512')
    .option('--chunks <k>', 'score only the first K chunks (llama.cpp --chunks)')
    .option(
      '--stride <s>',
      'Hugging Face sliding window: windows of --ctx tokens every S tokens, each token scored once with up to ctx−S tokens of context',
    )
    .option('--threads <n>', 'CPU threads for llama.cpp (default: min(4, cores))')
    .option('--engine <e>', "GGUF engine: auto | native (raw logits) | map (node-llama-cpp's probability Map)", 'auto');
  addLlamaOptions(cmd)
    .option('--json', 'print one JSON object on stdout')
    .option(
      '--tokens <file.jsonl>',
      'write one JSON record per scored token (position, token, text, nats, bits, p, rank (1 = top choice), top1, top1_text, top1_p)',
    )
    .option(
      '--report <file.html>',
      'also write a self-contained HTML report (figures, every token coloured by surprisal, calibration)',
    )
    .option(
      '--checkpoint <file>',
      'save progress to this file; rerunning the same command resumes (also after kill -9)',
    )
    .option(
      '--server <url>',
      'score with an OpenAI-compatible server instead (vLLM, xent serve); repeat for several, the chunks are shared out',
      (v: string, a: string[] = []) => [...a, v],
    )
    .option('--server-model <name>', 'model name on the servers (default: the first they list)')
    .option('--server-concurrency <n>', 'requests in flight per server', '2')
    .option('--server-timeout <s>', 'seconds one request may take before it is retried', '120')
    .addHelpText(
      'after',
      `
Scoring (default): llama.cpp's chunks — the text is tokenised once (BOS first when the model
adds it), cut into floor(tokens/ctx) chunks of --ctx tokens; each chunk's first token is
replaced by BOS and only its second half is scored. With --stride S: Hugging Face's sliding
window; every token after the first is scored exactly once.
GGUF models are decoded as llama-perplexity decodes them, with its defaults (--flash-attn auto,
--batch 2048: floor(2048/ctx) chunks per decode, --ubatch 512), so the figures are its own;
the reference figures of older releases need --flash-attn off (and --batch equal to --ctx).
Figures: PPL with llama.cpp's ± and a 95% CI, cross-entropy in nats and bits per token, bits
per byte of the scored tokens' UTF-8 text, top-1 accuracy, tokens/s (tokens fed to the model).`,
    )
    .action(async (o: EvalCliOptions) => {
      await (await import('./eval-default.js')).applyEvalDefaults(o);
      if (o.server?.length)
        return (await import('./eval-server.js')).runServerEval(o as EvalCliOptions & { server: string[] });
      if (!o.model)
        throw new XentError('invalid_argument', 'eval', 'give --model <file.gguf|dir|URL> or --server <url>', {
          arg: '--model',
        });
      const domainRun = await import('./eval-domains.js');
      if (domainRun.isDomainRun(o.data)) return domainRun.runDomainEval(o);
      const { isRemoteModelSpec } = await import('../models/load.js');
      if (isRemoteModelSpec(o.model))
        return (await import('./eval-server.js')).runServerEval(
          { ...o, model: undefined, server: [o.model] },
          '--model',
        );
      await runEval(o);
    });
}

async function runEval(o: EvalCliOptions): Promise<void> {
  const t0 = performance.now();
  const ctx = intOption('eval', '--ctx', o.ctx, 4)!;
  const chunks = intOption('eval', '--chunks', o.chunks, 1);
  const stride = intOption('eval', '--stride', o.stride, 1);
  const threads = intOption('eval', '--threads', o.threads, 1);
  if (o.report) (await import('../report/write.js')).checkReportPath('eval', '--report', o.report);
  if (!['auto', 'native', 'map'].includes(o.engine)) {
    throw new XentError(
      'invalid_argument',
      'eval',
      `--engine must be auto, native or map, got ${JSON.stringify(o.engine)}`,
      { arg: '--engine', value: o.engine },
    );
  }
  const [{ loadModel }, { evaluatePerplexity }, { readDataFile }, ck, { Progress }, { VERSION }] = await Promise.all([
    import('../models/load.js'),
    import('../eval/evaluate.js'),
    import('../io/read-data-file.js'),
    import('../eval/checkpoint.js'),
    import('./progress.js'),
    import('../core/version.js'),
  ]);

  // The text first: cheap checks before loading a model.
  const bytes = readDataFile('eval', o.data);

  const llamaOpts = llamaLoadOptions('eval', o);
  const model = await loadModel(o.model, {
    ctx,
    engine: o.engine as 'auto' | 'native' | 'map',
    ...(threads !== undefined ? { threads } : {}),
    ...llamaOpts,
  });
  const runInfo = llamaRunInfo(model);
  const engine = resultEngine(model);
  const textTokens = await model.tokenizeBytes(bytes);
  for (let i = 0; i < textTokens.length; i++) {
    const t = textTokens[i]!;
    if (t < 0 || t >= model.vocabSize) {
      throw new XentError(
        'invalid_text',
        'eval',
        `the model's tokenizer could not encode ${o.data}: token ${i} has id ${t}, outside [0, ${model.vocabSize})`,
        { file: o.data, row: i },
      );
    }
  }
  if (bytes.length > 0 && textTokens.length === 0) {
    throw new XentError(
      'invalid_text',
      'eval',
      `the model's tokenizer produced no tokens for ${o.data} (${bytes.length} bytes)`,
      { file: o.data },
    );
  }

  // Resumable state.
  let fingerprint: Record<string, string | number | boolean | null> = {};
  let resume: import('../eval/stats.js').EvalAccumulator | undefined;
  let tokensFileBytes = 0;
  if (o.checkpoint) {
    const mst = statSync(o.model);
    fingerprint = {
      model: resolve(o.model),
      model_bytes: mst.size,
      model_mtime_ms: mst.mtimeMs,
      data_sha256: createHash('sha256').update(bytes).digest('hex'),
      ctx,
      stride: stride ?? null,
      chunks: chunks ?? null,
      engine,
      flash_attn: llamaOpts.flashAttention ?? 'auto',
      batch: llamaOpts.batch ?? null,
      ubatch: llamaOpts.ubatch ?? null,
      tokens_file: o.tokens ? resolve(o.tokens) : null,
    };
    const cp = ck.loadCheckpoint(o.checkpoint, fingerprint);
    if (cp) {
      resume = cp.state;
      tokensFileBytes = cp.tokensFileBytes;
    }
  }

  // Per-token records stream to <file>.partial, renamed to <file> only when complete.
  const tokFile = o.tokens
    ? new TokensFile(o.tokens, resume ? { bytes: tokensFileBytes, checkpoint: o.checkpoint! } : undefined)
    : undefined;

  // --report without a finished --tokens file to read back: collect the records here.
  const reportRecords: unknown[] | undefined = o.report && !o.tokens ? [] : undefined;
  const { signal, release } = interruptibleEval();

  const plan = evalPlan(model, textTokens, ctx, stride, chunks);
  const progress = new Progress({ total: plan.tokensEvaluated, label: 'eval', unit: 'tok', silent: o.json === true });
  const windowsAtStart = resume?.windowsDone ?? 0;
  const evaluatedAtStart = resume?.tokensEvaluated ?? 0;
  let lastSave = 0;
  const tScore0 = performance.now();
  let result: Awaited<ReturnType<typeof evaluatePerplexity>>;
  try {
    result = await evaluatePerplexity(model, textTokens, {
      ctx,
      ...(chunks !== undefined ? { chunks } : {}),
      ...(stride !== undefined ? { stride } : {}),
      ...(resume ? { resume } : {}),
      signal,
      ...(tokFile || reportRecords
        ? {
            onTokens: (records) => {
              if (reportRecords) for (const r of records) reportRecords.push(r);
              tokFile?.append(records);
            },
          }
        : {}),
      onWindow: (state, plan) => {
        progress.update(state.tokensEvaluated, `PPL ${state.running.at(-1)?.toFixed(4)}`);
        const now = performance.now();
        if (o.checkpoint && (now - lastSave > 2000 || state.windowsDone === plan.windows.length || signal.aborted)) {
          tokFile?.sync();
          ck.saveCheckpoint(o.checkpoint, fingerprint, state, tokFile?.bytes ?? 0);
          lastSave = now;
        }
      },
    });
  } catch (e) {
    progress.finish();
    tokFile?.abandon(o.checkpoint !== undefined);
    await model.close();
    throw e;
  } finally {
    release();
  }
  progress.finish();
  const scoreSeconds = (performance.now() - tScore0) / 1000;
  tokFile?.finish(result.interrupted);
  if (o.checkpoint && !result.interrupted) rmSync(o.checkpoint, { force: true });
  await model.close();

  const figures = evalFigures(result, { ctx, stride, evaluatedAtStart, scoreSeconds });
  const out = {
    ...figures,
    model: o.model,
    data: o.data,
    engine,
    threads: model.threads ?? null,
    ...runInfo,
    vocab_size: model.vocabSize,
    interrupted: result.interrupted,
    resumed_from_chunk: windowsAtStart,
    running_perplexity: result.running,
    seconds: (performance.now() - t0) / 1000,
    scoring_seconds: scoreSeconds,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    warnings: result.warnings,
    xent_version: VERSION,
  };
  for (const w of result.warnings) process.stderr.write(`xent eval: warning: ${w}\n`);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } else {
    const lines = evalSummaryLines(result, {
      header: `model ${basename(o.model)} (${model.kind}, ${model.engine} engine, V = ${model.vocabSize}${runInfo.flash_attn ? `, flash attention ${runInfo.flash_attn}${runInfo.flash_attn === 'auto' && runInfo.flash_attn_active !== null ? ` (${runInfo.flash_attn_active ? 'on' : 'off'})` : ''}` : ''}), data ${basename(o.data)} (${bytes.length} bytes, ${result.tokens_in_text} tokens)`,
      ctx,
      stride,
      top1: undefined,
      speed: `speed: ${figures.tokens_per_second.toFixed(0)} tokens/s evaluated (${figures.scored_tokens_per_second.toFixed(0)} scored tokens/s), peak RSS ${(out.peak_rss_bytes / 2 ** 20).toFixed(1)} MiB`,
      checkpoint: o.checkpoint,
    });
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (o.report) {
    const { writeEvalReport } = await import('../report/eval-report.js');
    // An interrupted run's records are in the flushed .partial file (earlier resumed chunks included).
    const tokensFile = tokFile ? (result.interrupted ? tokFile.partial : tokFile.path) : undefined;
    writeEvalReport(o.report, out, {
      command: `xent eval ${process.argv.slice(3).join(' ')}`,
      interrupted: result.interrupted,
      ...(tokensFile ? { tokensFile } : { records: reportRecords ?? [] }),
    });
    process.stderr.write(`xent eval: report written to ${resolve(o.report)}\n`);
  }
  if (result.interrupted) process.exitCode = 130;
}
