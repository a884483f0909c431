/**
 * KL divergence of a model Q against a reference ("base") model P over a text, with
 * llama-perplexity's chunks (src/eval/windows.ts): for every scored position of every
 * chunk, both models' full distributions are compared (kld-rows.ts) and accumulated
 * (kld-stats.ts). The base is either a live model, scored on the same chunks, or a base
 * file (kld-file.ts) written earlier by xent or llama.cpp.
 *
 * Memory: for each chunk in flight (two, so that scoring overlaps the models' work), the
 * two [rows, V] float32 log-probability blocks plus one [rows, nv] uint16 block; per
 * token, one float KLD and one Δp (for the percentiles). Independent of the corpus length
 * otherwise.
 */
import { XentError } from '../core/errors.js';
import { KLD_WASM_MIN_VOCAB, kldKernels } from '../kernels/kld.js';
import {
  baseRowWidth,
  type KldRow,
  kldRowExact,
  kldRowLlama,
  newKldRow,
  newTopkScratch,
  quantizeBaseRow,
  topkOverlap,
} from '../kernels/kld-rows.js';
import type { LanguageModel, PositionScores } from '../models/language-model.js';
import { tokenStream } from './evaluate.js';
import { type BaseFileMeta, type BaseFileReader, BaseFileWriter, rowsPerChunk } from './kld-file.js';
import { KldAccumulator, type KldAccumulatorState, type KldSummary, summarizeKld } from './kld-stats.js';
import { type EvalWindow, planWindows } from './windows.js';

const OP = 'kld';
/** Below this vocabulary size the JSD column is on by default (it costs an exp and a log per entry). */
export const JSD_AUTO_MAX_VOCAB = 2048;

export type KldMode = 'exact' | 'llama';

export interface KldOptions {
  /** Tokens per chunk (llama.cpp -c). With a base file, must equal the file's n_ctx. */
  ctx: number;
  /** Stop after this many chunks. */
  chunks?: number;
  /** 'exact': float base, true KLD; 'llama': llama.cpp's uint16 base storage and arithmetic. */
  mode: KldMode;
  /** Compute the Jensen–Shannon divergence (needs the float base; a log per entry). Default: V < JSD_AUTO_MAX_VOCAB. */
  jsd?: boolean;
  /** k of the top-k agreement (0 = off; needs the float base). Default 10. */
  topk?: number;
  /** Read the base distribution from this file instead of a base model. */
  baseFile?: BaseFileReader;
  /** Write the base distribution (llama.cpp's format) to this file. */
  saveBase?: { path: string; meta: BaseFileMeta };
  signal?: AbortSignal;
  /** Called after every chunk. */
  onChunk?: (done: {
    chunk: number;
    chunks: number;
    tokensEvaluated: number;
    acc: KldAccumulator;
    syncBase: () => void;
  }) => void;
  /** Continue from a checkpoint (kld-checkpoint.ts): chunks already done are skipped. */
  resume?: { chunksDone: number; tokensEvaluated: number; acc: KldAccumulatorState };
  /** Leave `<save-base>.partial` in place when interrupted or failing (a checkpoint will resume it). */
  keepPartial?: boolean;
}

export interface KldEvalResult extends KldSummary {
  mode: KldMode;
  /** 'float32' (a live base) or 'uint16' (llama.cpp's storage: --compat llama or a base file). */
  base_storage: 'float32' | 'uint16';
  ctx: number;
  chunks: number;
  chunks_total: number;
  /** Tokens fed to each model. */
  tokens_evaluated: number;
  interrupted: boolean;
  topk: number;
  /** Where the per-row sums ran: 'js' (Math.exp, float64) or 'wasm' (SIMD, V ≥ 2048). */
  kld_engine: 'js' | 'wasm';
  warnings: string[];
}

/**
 * Refuses two models whose tokenizers differ: vocabulary size, BOS, then the first
 * vocabulary entry whose text differs, then the first differing token of the text.
 */
export function assertSameTokenizer(
  base: LanguageModel,
  model: LanguageModel,
  baseTokens: Int32Array,
  modelTokens: Int32Array,
  names: { base: string; model: string },
): void {
  if (base.vocabSize !== model.vocabSize) {
    throw new XentError(
      'incompatible',
      OP,
      `the models have different tokenizers: ${names.base} has a vocabulary of ${base.vocabSize} tokens, ${names.model} of ${model.vocabSize}; KL divergence needs the same vocabulary`,
      { arg: '--model', expected: base.vocabSize, actual: model.vocabSize },
    );
  }
  for (let t = 0; t < base.vocabSize; t++) {
    const a = base.tokenText(t);
    const b = model.tokenText(t);
    if (a !== b) {
      throw new XentError(
        'incompatible',
        OP,
        `the models have different tokenizers: token ${t} is ${JSON.stringify(a)} in ${names.base} but ${JSON.stringify(b)} in ${names.model}`,
        {
          arg: '--model',
          column: t,
          expected: a,
          actual: b,
        },
      );
    }
  }
  if (base.addsBos !== model.addsBos || base.bosToken !== model.bosToken) {
    throw new XentError(
      'incompatible',
      OP,
      `the models disagree on BOS: ${names.base} ${base.addsBos ? `adds BOS ${base.bosToken}` : 'adds no BOS'}, ${names.model} ${model.addsBos ? `adds BOS ${model.bosToken}` : 'adds no BOS'}`,
      {
        arg: '--model',
      },
    );
  }
  const n = Math.min(baseTokens.length, modelTokens.length);
  for (let i = 0; i <= n; i++) {
    if (i === n ? baseTokens.length !== modelTokens.length : baseTokens[i] !== modelTokens[i]) {
      if (i === n && baseTokens.length === modelTokens.length) break;
      throw new XentError(
        'incompatible',
        OP,
        `the models tokenise the text differently: first difference at token ${i} (${baseTokens[i] ?? 'end'} in ${names.base}, ${modelTokens[i] ?? 'end'} in ${names.model})`,
        {
          arg: '--model',
          row: i,
        },
      );
    }
  }
}

/** Refuses a base file that does not belong to this run: ctx, vocabulary, tokens (the text). */
export function checkBaseFile(
  file: BaseFileReader,
  stream: Int32Array,
  ctx: number,
  model: LanguageModel,
  dataSha256?: string,
): void {
  const h = file.header;
  const p = file.path;
  if (h.nCtx !== ctx) {
    throw new XentError(
      'incompatible',
      OP,
      `base file ${p} was made with ctx ${h.nCtx}, but this run uses --ctx ${ctx}; rerun with --ctx ${h.nCtx} or make a new base file`,
      {
        file: p,
        arg: '--ctx',
        expected: h.nCtx,
        actual: ctx,
      },
    );
  }
  if (h.vocabSize !== model.vocabSize) {
    throw new XentError(
      'incompatible',
      OP,
      `base file ${p} was made by a model with a vocabulary of ${h.vocabSize} tokens, but ${model.id} has ${model.vocabSize}: another tokenizer`,
      {
        file: p,
        arg: '--model',
        expected: h.vocabSize,
        actual: model.vocabSize,
      },
    );
  }
  if (file.meta && dataSha256 && file.meta.data_sha256 !== dataSha256) {
    throw new XentError(
      'incompatible',
      OP,
      `base file ${p} was made from another text (sha256 ${file.meta.data_sha256.slice(0, 12)}…, this --data has ${dataSha256.slice(0, 12)}…)`,
      {
        file: p,
        arg: '--data',
      },
    );
  }
  const need = h.nChunk * ctx;
  const n = Math.min(need, stream.length);
  for (let i = 0; i < n; i++) {
    if (h.tokens[i] !== stream[i]) {
      throw new XentError(
        'incompatible',
        OP,
        `base file ${p} was made from another text or tokenizer: its token ${i} is ${h.tokens[i]}, this text's is ${stream[i]}`,
        {
          file: p,
          arg: '--data',
          row: i,
          expected: h.tokens[i],
          actual: stream[i],
        },
      );
    }
  }
  if (stream.length < need) {
    throw new XentError(
      'incompatible',
      OP,
      `base file ${p} holds ${h.nChunk} chunks of ${ctx} tokens, but this text has only ${stream.length} tokens: another text`,
      { file: p, arg: '--data' },
    );
  }
}

interface Scored {
  tokens: Int32Array;
  base?: PositionScores;
  model: PositionScores;
}

/**
 * Scores `model` against the base (`base` model, or `opts.baseFile`) on `textTokens`
 * (the tokenised text without BOS). Throws XentError: too_short, incompatible,
 * numerical_error, invalid_argument, interrupted (before the first chunk).
 */
export async function evaluateKld(
  base: LanguageModel | undefined,
  model: LanguageModel,
  textTokens: Int32Array,
  opts: KldOptions,
): Promise<KldEvalResult> {
  const V = model.vocabSize;
  if (!base && !opts.baseFile)
    throw new XentError('invalid_argument', OP, 'a base model or a base file is required', { arg: '--base' });
  if (base && base.vocabSize !== V)
    throw new XentError('incompatible', OP, `vocabulary sizes differ: base ${base.vocabSize}, model ${V}`, {
      arg: '--model',
    });
  const stream = tokenStream(base ?? model, textTokens);
  const addsBos = model.addsBos && model.bosToken !== undefined;
  const plan = planWindows(OP, stream.length, opts.ctx, {
    addsBos,
    ...(opts.chunks !== undefined ? { chunks: opts.chunks } : {}),
  });
  let windows: EvalWindow[] = plan.windows;
  const warnings: string[] = [];
  if (opts.baseFile) {
    checkBaseFile(opts.baseFile, stream, opts.ctx, model);
    if (windows.length > opts.baseFile.header.nChunk) {
      warnings.push(
        `the base file holds ${opts.baseFile.header.nChunk} chunks; only those are scored (the text has ${windows.length})`,
      );
      windows = windows.slice(0, opts.baseFile.header.nChunk);
    }
  }
  const llama = opts.mode === 'llama' || opts.baseFile !== undefined;
  const floatBase = base !== undefined && !opts.baseFile;
  const jsd = (opts.jsd ?? V < JSD_AUTO_MAX_VOCAB) && floatBase;
  const k = floatBase ? (opts.topk ?? 10) : 0;
  if (!Number.isInteger(k) || k < 0 || k > V)
    throw new XentError('invalid_argument', OP, `--top-k must be an integer in [0, ${V}], got ${opts.topk}`, {
      arg: '--top-k',
      value: opts.topk,
    });
  const acc = opts.resume ? KldAccumulator.fromState(opts.resume.acc) : new KldAccumulator(llama);
  if (acc.llama !== llama)
    throw new XentError('incompatible', OP, 'the checkpoint was made in another mode (--compat / --base-file)');
  const start = opts.resume?.chunksDone ?? 0;
  if (start > windows.length)
    throw new XentError(
      'incompatible',
      OP,
      `the checkpoint has ${start} chunks done but this run plans only ${windows.length}`,
    );
  const nRows = rowsPerChunk(opts.ctx);
  const nv = baseRowWidth(V);
  let writer: BaseFileWriter | undefined;
  if (opts.saveBase) {
    if (!base)
      throw new XentError('invalid_argument', OP, '--save-base needs a base model (--base)', { arg: '--save-base' });
    writer = new BaseFileWriter(
      opts.saveBase.path,
      { nCtx: opts.ctx, vocabSize: V, nChunk: windows.length, tokens: stream.slice(0, windows.length * opts.ctx) },
      start,
    );
  }

  const issue = (w: number): Promise<Scored> => {
    const win = windows[w]!;
    const tokens = stream.slice(win.start, win.start + win.length);
    if (win.bosFirst) tokens[0] = model.bosToken!;
    // llama mode works on raw logits where the engine has them (llama.cpp's own inputs).
    const sm = model.score(tokens, { from: win.from, full: true, rawLogits: llama });
    const sb = base && floatBase ? base.score(tokens, { from: win.from, full: true, rawLogits: llama }) : undefined;
    const p = Promise.all([sm, sb]).then(([m, b]) => (b ? { tokens, base: b, model: m } : { tokens, model: m }));
    p.catch(() => undefined);
    return p;
  };
  const inflight: Promise<Scored>[] = [];
  let next = start;
  const fill = (): void => {
    while (inflight.length < 2 && next < windows.length && !opts.signal?.aborted) inflight.push(issue(next++));
  };
  const row: KldRow = newKldRow();
  const extra: KldRow = newKldRow();
  const scratch = newTopkScratch(Math.max(1, k));
  // SIMD sums for large V (src/kernels/kld.ts); llama mode's use float32 exps computed in float64, as expf.
  const kk = V >= KLD_WASM_MIN_VOCAB ? kldKernels() : undefined;
  const nb = new Float32Array(V);
  const nm = new Float32Array(V);
  const qbuf = new Uint16Array(nRows * nv);
  const qf32 = new Float32Array(qbuf.buffer);
  let interrupted = false;
  let done = start;
  let tokensEvaluated = opts.resume?.tokensEvaluated ?? 0;
  const release = (): void => {
    if (!writer) return;
    if (opts.keepPartial) writer.suspend();
    else writer.abort();
  };
  try {
    for (let w = start; w < windows.length; w++) {
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
      fill();
      const s = await inflight.shift()!;
      fill();
      const win = windows[w]!;
      const targets = s.tokens.subarray(win.from + 1);
      const count = targets.length;
      if (count !== nRows)
        throw new XentError('invalid_argument', OP, `chunk ${w + 1} has ${count} scored positions, expected ${nRows}`);
      // Rows: raw logits (llama mode, native engine) or log-probabilities; the llama
      // arithmetic is shift-invariant, the exact path and the JSD need log-probabilities.
      const lm = s.model.logits ?? s.model.logProbs;
      const lb = s.base?.logits ?? s.base?.logProbs;
      const rawM = s.model.logits !== undefined;
      const rawB = s.base?.logits !== undefined;
      if (!lm || (floatBase && !lb))
        throw new XentError(
          'missing_dependency',
          OP,
          `${lm ? 'the base' : 'the model'} did not return full log-probabilities (needed for KL divergence)`,
        );
      let q: Uint16Array | undefined;
      let qf: Float32Array | undefined;
      if (opts.baseFile) {
        q = opts.baseFile.readChunk(w);
        qf = new Float32Array(q.buffer);
      } else if (llama || writer) {
        for (let r = 0; r < count; r++) {
          if (kk) kk.quantizeBaseRow(lb!, r * V, V, targets[r]!, qbuf, qf32, r * nv);
          else quantizeBaseRow(lb!, r * V, V, targets[r]!, qbuf, qf32, r * nv);
        }
        q = qbuf;
        qf = qf32;
      }
      for (let r = 0; r < count; r++) {
        const t = targets[r]!;
        if (llama) {
          if (kk) kk.kldRowLlama(lm, r * V, V, q!, qf!, r * nv, t, row);
          else kldRowLlama(lm, r * V, V, q!, qf!, r * nv, t, row);
          if (jsd) {
            const pb = rawB ? normalizeRow(lb!, r * V, V, nb) : lb!;
            const pm = rawM ? normalizeRow(lm, r * V, V, nm) : lm;
            kldRowExact(pb, rawB ? 0 : r * V, pm, rawM ? 0 : r * V, V, t, extra, true, 0);
            row.jsd = extra.jsd;
          }
          if (k > 0) row.topkOverlap = topkOverlap(lb!, r * V, lm, r * V, V, k, scratch);
        } else if (kk) {
          kk.kldRowExact(lb!, r * V, lm, r * V, V, t, row);
          if (jsd) {
            kldRowExact(lb!, r * V, lm, r * V, V, t, extra, true, 0);
            row.jsd = extra.jsd;
          }
          if (k > 0) row.topkOverlap = topkOverlap(lb!, r * V, lm, r * V, V, k, scratch);
        } else {
          kldRowExact(lb!, r * V, lm, r * V, V, t, row, jsd, k, scratch);
        }
        if (!Number.isFinite(row.kld)) {
          throw new XentError(
            'numerical_error',
            OP,
            `chunk ${w + 1}, position ${win.from + r}: KL divergence is ${row.kld} (the model gives probability 0 to a token the base does not)`,
            {
              row: win.start + win.from + r,
              chunk: w + 1,
              value: row.kld,
            },
          );
        }
        acc.add(row);
      }
      if (writer) writer.writeChunk(q!);
      done = w + 1;
      tokensEvaluated += win.length;
      opts.onChunk?.({ chunk: done, chunks: windows.length, tokensEvaluated, acc, syncBase: () => writer?.sync() });
    }
  } catch (e) {
    release();
    throw e;
  } finally {
    await Promise.allSettled(inflight);
  }
  if (acc.count === 0) {
    release();
    throw new XentError('interrupted', OP, 'interrupted before the first chunk was scored');
  }
  if (writer) {
    if (interrupted) release();
    else writer.finish(opts.saveBase!.meta);
  }
  if (acc.count < 100)
    warnings.push(
      `only ${acc.count} positions scored: llama.cpp prints no summary below 100, and the percentiles are rough`,
    );
  return {
    ...summarizeKld(acc),
    mode: opts.mode,
    base_storage: llama ? 'uint16' : 'float32',
    ctx: opts.ctx,
    chunks: done,
    chunks_total: windows.length,
    tokens_evaluated: tokensEvaluated,
    interrupted,
    topk: k,
    kld_engine: kk ? 'wasm' : 'js',
    warnings,
  };
}

/** Log-softmax of the raw-logit row x[o … o+V) into out[0 … V) (float64 sums). */
function normalizeRow(x: Float32Array, o: number, V: number, out: Float32Array): Float32Array {
  let mx = -Infinity;
  for (let v = 0; v < V; v++) if (x[o + v]! > mx) mx = x[o + v]!;
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(x[o + v]! - mx);
  const lse = mx + Math.log(s);
  for (let v = 0; v < V; v++) out[v] = x[o + v]! - lse;
  return out;
}
