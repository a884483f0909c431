/**
 * What every `xent eval` run shares, local (eval.ts) or through servers (eval-server.ts):
 * the per-token file that survives kill -9, Ctrl-C handling, and the summary figures and
 * lines printed at the end.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { XentError } from '../core/errors.js';
import { type EvaluateResult, type TokenRecord, tokenStream } from '../eval/evaluate.js';
import { formatRunning } from '../eval/stats.js';
import { planWindows, type WindowPlan } from '../eval/windows.js';
import type { LanguageModel } from '../models/language-model.js';

/**
 * The `engine` field of eval's results and checkpoints: the GGUF engine ('native', 'map'),
 * else the model's kind ('lstm', 'ngram', 'server'), the values it has always carried.
 */
export function resultEngine(model: LanguageModel): string {
  return model.kind === 'gguf' ? model.engine : model.kind;
}

/**
 * Per-token records (`--tokens file`) stream to `<file>.partial`, renamed to `<file>` only
 * when the run completes. On resume the partial file is cut back to the length the
 * checkpoint recorded, so no record is written twice.
 */
export class TokensFile {
  readonly partial: string;
  /** Bytes written so far (what a checkpoint records). */
  bytes: number;
  private fd: number | undefined;

  constructor(
    readonly path: string,
    resume: { bytes: number; checkpoint: string } | undefined,
  ) {
    this.partial = `${path}.partial`;
    if (resume && existsSync(this.partial) && statSync(this.partial).size >= resume.bytes) {
      truncateSync(this.partial, resume.bytes);
      this.fd = openSync(this.partial, 'a');
      this.bytes = resume.bytes;
      return;
    }
    if (resume && resume.bytes > 0) {
      throw new XentError(
        'incompatible',
        'eval',
        `cannot resume: ${this.partial} is missing or shorter than the checkpoint records; delete ${resume.checkpoint} to start over`,
        { file: this.partial },
      );
    }
    this.fd = openSync(this.partial, 'w');
    this.bytes = 0;
  }

  append(records: readonly TokenRecord[]): void {
    const b = Buffer.from(`${records.map((r) => JSON.stringify(r)).join('\n')}\n`, 'utf8');
    let off = 0;
    while (off < b.length) off += writeSync(this.fd!, b, off, b.length - off);
    this.bytes += b.length;
  }

  /** Before a checkpoint names `bytes`: the records must be on disk. */
  sync(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  /** A finished run renames the partial file into place; an interrupted one keeps it to resume. */
  finish(interrupted: boolean): void {
    this.sync();
    this.close();
    if (!interrupted) renameSync(this.partial, this.path);
  }

  /** A failed run: without a checkpoint nothing can resume from the partial file, so it goes. */
  abandon(keepForResume: boolean): void {
    this.close();
    if (!keepForResume) rmSync(this.partial, { force: true });
  }

  private close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The windows a run will score (for the progress bar's total): the same plan evaluatePerplexity makes. */
export function evalPlan(
  model: LanguageModel,
  textTokens: Int32Array,
  ctx: number,
  stride: number | undefined,
  chunks: number | undefined,
): WindowPlan {
  return planWindows('eval', tokenStream(model, textTokens).length, ctx, {
    addsBos: model.addsBos && model.bosToken !== undefined,
    ...(stride !== undefined ? { stride } : {}),
    ...(chunks !== undefined ? { chunks } : {}),
  });
}

/** Ctrl-C stops after the current chunk (the result so far is printed); a second one quits. */
export function interruptibleEval(): { signal: AbortSignal; release: () => void } {
  const ac = new AbortController();
  const onSigint = (): void => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    process.stderr.write('\nxent eval: interrupted; finishing the current chunk (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  return { signal: ac.signal, release: () => void process.off('SIGINT', onSigint) };
}

/** The figures of every eval's --json, with units in the names. */
export function evalFigures(
  result: EvaluateResult,
  run: { ctx: number; stride: number | undefined; evaluatedAtStart: number; scoreSeconds: number },
) {
  const evaluatedNow = result.tokens_evaluated - run.evaluatedAtStart;
  const scoredFraction = result.tokens_evaluated > 0 ? result.tokens_scored / result.tokens_evaluated : 0;
  const tokensPerSecond = run.scoreSeconds > 0 ? evaluatedNow / run.scoreSeconds : NaN;
  return {
    perplexity: result.perplexity,
    perplexity_pm: result.perplexity_pm,
    perplexity_ci95: result.perplexity_ci95,
    nats_per_token: result.nats_per_token,
    bits_per_token: result.bits_per_token,
    bits_per_byte: result.bits_per_byte,
    tokens_scored: result.tokens_scored,
    bytes_scored: result.bytes_scored,
    chunks: result.chunks,
    chunks_total: result.chunks_total,
    top1_accuracy: result.top1_accuracy as number | null,
    tokens_per_second: tokensPerSecond,
    scored_tokens_per_second: tokensPerSecond * scoredFraction,
    tokens_evaluated: result.tokens_evaluated,
    tokens_in_text: result.tokens_in_text,
    ctx: run.ctx,
    stride: run.stride ?? null,
    mode: result.mode,
  };
}

/**
 * The printed summary: llama-perplexity's running line and final estimate, then the
 * cross-entropy in nats and bits, what was scored, and a speed line given by the caller.
 */
export function evalSummaryLines(
  result: EvaluateResult,
  o: {
    header: string;
    ctx: number;
    stride: number | undefined;
    top1: string | undefined;
    speed: string;
    checkpoint: string | undefined;
  },
): string[] {
  const top1 = o.top1 ?? `${(100 * result.top1_accuracy).toFixed(2)}%`;
  const lines = [
    o.header,
    formatRunning(result.running),
    `Final estimate: PPL = ${result.perplexity.toFixed(4)} +/- ${result.perplexity_pm.toFixed(5)}   (95% CI ${result.perplexity_ci95[0].toFixed(4)} … ${result.perplexity_ci95[1].toFixed(4)})`,
    `cross-entropy: ${result.nats_per_token.toFixed(6)} nats/token = ${result.bits_per_token.toFixed(6)} bits/token; ${result.bits_per_byte.toFixed(6)} bits/byte`,
    `scored ${result.tokens_scored} tokens (${result.bytes_scored} bytes) in ${result.chunks} of ${result.chunks_total} ${result.mode === 'chunks' ? `chunks of ${o.ctx}` : `windows (ctx ${o.ctx}, stride ${o.stride})`}; top-1 accuracy ${top1}`,
    o.speed,
  ];
  if (result.interrupted) {
    lines.push(
      `interrupted after chunk ${result.chunks} of ${result.chunks_total}: the figures above cover the chunks scored so far` +
        (o.checkpoint ? `; rerun the same command to resume from ${o.checkpoint}` : ''),
    );
  }
  return lines;
}
