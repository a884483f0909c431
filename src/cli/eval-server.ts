/**
 * `xent eval --server URL [--server URL2 …] [--server-model name] --data text.txt`, and
 * `xent eval --model URL` (one endpoint): the evaluation of src/cli/eval.ts, scored by
 * OpenAI-compatible servers (vLLM, `xent serve`) instead of a local model;
 * src/eval/shards.ts splits the windows across the endpoints and retries failed requests.
 * Same figures, JSON keys, --tokens records and --checkpoint resumption as a local run;
 * the tokenisation is the first endpoint's (/tokenize).
 * The API key (XENT_API_KEY, else OPENAI_API_KEY) goes in the Authorization header only:
 * it is not printed, logged, or written to results or checkpoints.
 */

import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { XentError } from '../core/errors.js';
import type { RemoteLanguageModel } from '../models/remote/remote-language-model.js';
import { evalFigures, evalPlan, evalSummaryLines, interruptibleEval, TokensFile } from './eval-output.js';
import { intOption } from './options.js';

/** The eval options this path reads (a subset of src/cli/eval.ts's). */
export interface ServerEvalCliOptions {
  server: string[];
  serverModel?: string;
  serverConcurrency?: string;
  serverTimeout?: string;
  data: string;
  ctx: string;
  chunks?: string;
  stride?: string;
  json?: boolean;
  tokens?: string;
  checkpoint?: string;
  /** Local-model options, refused here. */
  model?: string;
  report?: string;
  flashAttn?: string | boolean;
  batch?: string;
  ubatch?: string;
  threads?: string;
  engine?: string;
}

/** The option that named the endpoints: `--server` (one or several) or `--model` (one URL). */
export type EndpointOption = '--server' | '--model';

/** Opens every endpoint (a few attempts each); unreachable ones are left out while one remains. */
async function openEndpoints(
  urls: string[],
  modelName: string | undefined,
  timeoutMs: number,
  via: EndpointOption,
): Promise<{ models: RemoteLanguageModel[]; warnings: string[] }> {
  const { RemoteLanguageModel } = await import('../models/remote/remote-language-model.js');
  // Errors name the endpoints after the option that gave them: 'server' for --server.
  const op = via === '--server' ? 'server' : 'remote';
  const warnings: string[] = [];
  const opened = await Promise.all(
    urls.map(async (url) => {
      let last: unknown;
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          return await RemoteLanguageModel.open(url, { model: modelName, timeoutMs, op, arg: via });
        } catch (e) {
          last = e;
          if (!(e instanceof XentError && e.fields.retryable === true)) throw e;
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt * (0.5 + Math.random() / 2)));
        }
      }
      if (urls.length === 1) throw last;
      warnings.push(
        `left out ${(last as XentError).fields.endpoint ?? url}: ${(last as XentError).fields.detail ?? (last as Error).message}`,
      );
      return undefined;
    }),
  );
  const models = opened.filter((m): m is NonNullable<typeof m> => m !== undefined);
  if (models.length === 0)
    throw new XentError('remote_error', 'eval', `no endpoint answered: ${warnings.join('; ')}`, { arg: via });
  return { models, warnings };
}

export async function runServerEval(o: ServerEvalCliOptions, via: EndpointOption = '--server'): Promise<void> {
  const t0 = performance.now();
  for (const [given, name] of [
    [o.model, '--model'],
    [o.report, '--report'],
    [o.flashAttn, '--flash-attn'],
    [o.batch, '--batch'],
    [o.ubatch, '--ubatch'],
    [o.threads, '--threads'],
    [o.engine === 'auto' ? undefined : o.engine, '--engine'],
  ] as const) {
    if (given !== undefined && given !== false) {
      throw new XentError(
        'invalid_argument',
        'eval',
        `${name} does not apply ${via === '--server' ? 'with --server' : 'to --model URL'} (the servers run the model${name === '--report' ? '; write --json and --tokens files and build the report with `xent report`' : ''})`,
        { arg: name },
      );
    }
  }
  const ctx = intOption('eval', '--ctx', o.ctx, 4)!;
  const chunks = intOption('eval', '--chunks', o.chunks, 1);
  const stride = intOption('eval', '--stride', o.stride, 1);
  const concurrency = intOption('eval', '--server-concurrency', o.serverConcurrency ?? '2', 1)!;
  const timeoutMs = 1000 * intOption('eval', '--server-timeout', o.serverTimeout ?? '120', 1)!;
  const [{ evaluateSharded }, { readDataFile }, ck, { Progress }, { VERSION }, sk] = await Promise.all([
    import('../eval/shards.js'),
    import('../io/read-data-file.js'),
    import('../eval/checkpoint.js'),
    import('./progress.js'),
    import('../core/version.js'),
    import('../eval/shards-checkpoint.js'),
  ]);
  const bytes = readDataFile('eval', o.data);

  const { models, warnings: openWarnings } = await openEndpoints(o.server, o.serverModel, timeoutMs, via);
  const primary = models[0]!;
  const text = bytes.toString('utf8');
  const textTokens = await primary.tokenize(text);
  if (bytes.length > 0 && textTokens.length === 0)
    throw new XentError(
      'invalid_text',
      'eval',
      `the server's tokenizer produced no tokens for ${o.data} (${bytes.length} bytes)`,
      { file: o.data },
    );
  // Every endpoint must serve the same model: same vocabulary, BOS and tokenisation of a sample.
  const sample = text.slice(0, 4096);
  const ref = await primary.tokenize(sample);
  for (const m of models.slice(1)) {
    const got = await m.tokenize(sample);
    const same =
      (!m.vocabKnown || !primary.vocabKnown || m.vocabSize === primary.vocabSize) &&
      m.bosToken === primary.bosToken &&
      got.length === ref.length &&
      got.every((t, i) => t === ref[i]);
    if (!same) {
      throw new XentError(
        'incompatible',
        'eval',
        `${m.endpoint} does not serve the same model as ${primary.endpoint} (vocabulary ${m.vocabSize} vs ${primary.vocabSize}, or a different tokenisation of ${o.data})`,
        { arg: '--server' },
      );
    }
  }

  let fingerprint: Record<string, string | number | boolean | null> = {};
  let resume: import('../eval/stats.js').EvalAccumulator | undefined;
  let tokensFileBytes = 0;
  if (o.checkpoint) {
    // The endpoints are not part of it: a rerun may use other or fewer servers of the same model.
    fingerprint = {
      server_model: primary.modelName,
      vocab_size: primary.vocabSize,
      data_sha256: createHash('sha256').update(bytes).digest('hex'),
      text_tokens: textTokens.length,
      ctx,
      stride: stride ?? null,
      chunks: chunks ?? null,
      engine: 'server',
      tokens_file: o.tokens ? resolve(o.tokens) : null,
    };
    const cp = ck.loadCheckpoint(o.checkpoint, fingerprint);
    if (cp) {
      resume = cp.state;
      tokensFileBytes = cp.tokensFileBytes;
    }
  }
  // Windows scored but not folded when an earlier run stopped: not requested again.
  const shardsFile = o.checkpoint ? sk.shardsFile(o.checkpoint) : undefined;
  const ahead = shardsFile
    ? sk.loadShards(shardsFile, fingerprint)
    : new Map<number, import('../models/language-model.js').PositionScores>();
  for (const w of ahead.keys()) if (w < (resume?.windowsDone ?? 0)) ahead.delete(w);
  const preloadedShards = ahead.size;
  const tokFile = o.tokens
    ? new TokensFile(o.tokens, resume ? { bytes: tokensFileBytes, checkpoint: o.checkpoint! } : undefined)
    : undefined;

  const { signal, release } = interruptibleEval();
  const plan = evalPlan(primary, textTokens, ctx, stride, chunks);
  const progress = new Progress({ total: plan.tokensEvaluated, label: 'eval', unit: 'tok', silent: o.json === true });
  const windowsAtStart = resume?.windowsDone ?? 0;
  const evaluatedAtStart = resume?.tokensEvaluated ?? 0;
  let lastSave = 0;
  const tScore0 = performance.now();
  let sharded: Awaited<ReturnType<typeof evaluateSharded>>;
  const saveNow = (state: import('../eval/stats.js').EvalAccumulator | undefined): void => {
    if (state) {
      tokFile?.sync();
      ck.saveCheckpoint(o.checkpoint!, fingerprint, state, tokFile?.bytes ?? 0);
      for (const w of ahead.keys()) if (w < state.windowsDone) ahead.delete(w);
    }
    sk.saveShards(shardsFile!, fingerprint, ahead);
  };
  let lastState: import('../eval/stats.js').EvalAccumulator | undefined;
  try {
    sharded = await evaluateSharded(models, textTokens, {
      ctx,
      ...(chunks !== undefined ? { chunks } : {}),
      ...(stride !== undefined ? { stride } : {}),
      ...(resume ? { resume } : {}),
      signal,
      concurrency,
      timeoutMs,
      ...(o.checkpoint
        ? {
            preloaded: new Map(ahead),
            onScored: (w: number, s: import('../models/language-model.js').PositionScores) => void ahead.set(w, s),
          }
        : {}),
      onDrop: (endpoint, reason) =>
        process.stderr.write(
          `xent eval: warning: dropped endpoint ${endpoint} (${reason}); its shards go to the others\n`,
        ),
      ...(tokFile ? { onTokens: (records) => tokFile.append(records) } : {}),
      onWindow: (state, p) => {
        lastState = state;
        progress.update(state.tokensEvaluated, `PPL ${state.running.at(-1)?.toFixed(4)}`);
        const now = performance.now();
        if (o.checkpoint && (now - lastSave > 2000 || state.windowsDone === p.windows.length || signal.aborted)) {
          saveNow(state);
          lastSave = now;
        }
      },
    });
  } catch (e) {
    progress.finish();
    // Keep what was folded: the rerun continues from it instead of losing it.
    if (o.checkpoint) saveNow(lastState);
    tokFile?.abandon(o.checkpoint !== undefined);
    throw e;
  } finally {
    release();
  }
  progress.finish();
  const result = sharded.result;
  const scoreSeconds = (performance.now() - tScore0) / 1000;
  tokFile?.finish(result.interrupted);
  if (o.checkpoint && !result.interrupted) {
    rmSync(o.checkpoint, { force: true });
    sk.removeShards(shardsFile!);
  }
  const warnings = [...openWarnings, ...result.warnings];
  const top1Unknown = models.some((m) => m.top1Unknown);
  if (top1Unknown)
    warnings.push(
      'a server did not identify its top-1 tokens (legacy echo format keyed by text): top-1 accuracy is unknown',
    );
  if (models.some((m) => m.lossyBytes))
    warnings.push(
      'some token texts came from /detokenize as U+FFFD (a token holding part of a UTF-8 character): bits per byte counts them as 3 bytes',
    );
  const figures = evalFigures(result, { ctx, stride, evaluatedAtStart, scoreSeconds });
  const out = {
    ...figures,
    // null when a server did not identify its top-1 tokens (the count would read 0).
    top1_accuracy: top1Unknown ? null : result.top1_accuracy,
    model: primary.modelName,
    data: o.data,
    engine: 'server',
    servers: models.map((m) => m.endpoint),
    server_software: primary.ownedBy,
    endpoints: sharded.endpoints,
    vocab_size: primary.vocabSize,
    interrupted: result.interrupted,
    resumed_from_chunk: windowsAtStart,
    resumed_shards_ahead: preloadedShards,
    running_perplexity: result.running,
    seconds: (performance.now() - t0) / 1000,
    scoring_seconds: scoreSeconds,
    warnings,
    xent_version: VERSION,
  };
  for (const w of warnings) process.stderr.write(`xent eval: warning: ${w}\n`);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } else {
    const dropped = sharded.endpoints.filter((e) => e.dropped).length;
    const lines = evalSummaryLines(result, {
      header: `model ${primary.modelName} on ${models.length} server${models.length > 1 ? 's' : ''} (${primary.ownedBy}, V = ${primary.vocabSize}), data ${basename(o.data)} (${bytes.length} bytes, ${result.tokens_in_text} tokens)`,
      ctx,
      stride,
      top1: top1Unknown ? 'unknown' : undefined,
      speed:
        `speed: ${figures.tokens_per_second.toFixed(0)} tokens/s evaluated (${figures.scored_tokens_per_second.toFixed(0)} scored tokens/s); endpoints: ` +
        sharded.endpoints
          .map(
            (e) =>
              `${e.endpoint} ${e.shards} shards${e.failures ? `, ${e.failures} failed requests` : ''}${e.dropped ? ', dropped' : ''}`,
          )
          .join('; ') +
        (dropped ? ` (${dropped} dropped)` : ''),
      checkpoint: o.checkpoint,
    });
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (result.interrupted) process.exitCode = 130;
}
